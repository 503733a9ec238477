"""Refunds of direct charges, with the application fee refunded alongside on request."""

import copy
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.common import format_money
from stripe_sim.objects.payments import fee_refund_object, refund_object
from stripe_sim.protocol import invalid_request, resource_missing
from stripe_sim.services.events import AUTOMATIC, Origin, emit, previous_attributes
from stripe_sim.services.validation import check_metadata, merged_metadata
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Test card 4000 0000 0000 5126: "the refund's status begins as succeeded, some time later
# it transitions to failed" (https://docs.stripe.com/testing#refunds).
REFUND_FAILURE_DELAY_SECONDS = 1


def create_refund(
    sim: "Simulator", params: dict[str, Any], account: str | None, origin: Origin
) -> dict[str, Any]:
    charge = _charge_to_refund(sim, params, account)
    body = charge.body
    remaining = body["amount"] - body["amount_refunded"]
    if remaining <= 0:
        raise invalid_request(
            f"Charge {body['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = params.get("amount", remaining)
    if amount <= 0:
        raise invalid_request("Refund amount must be greater than 0.", param="amount")
    if amount > remaining:
        currency = body["currency"]
        raise invalid_request(
            f"Refund amount ({format_money(amount, currency)}) is greater than unrefunded "
            f"amount on charge ({format_money(remaining, currency)})",
            param="amount",
            code="amount_too_large",
        )
    metadata = params.get("metadata", {})
    check_metadata(metadata)
    now = sim.clock.timestamp()
    refund = refund_object(
        created=now,
        charge=body,
        amount=amount,
        reason=params.get("reason"),
        metadata=merged_metadata({}, metadata),
    )
    private: dict[str, Any] = {}
    if charge.private.get("refund_fails"):
        private["fail_at"] = now + REFUND_FAILURE_DELAY_SECONDS
    sim.store.add("refund", refund, account=account, private=private)
    if params.get("refund_application_fee"):
        _refund_fee(sim, charge, amount, fully=amount == remaining)
    before = copy.deepcopy(body)
    body["amount_refunded"] += amount
    body["refunded"] = body["amount_refunded"] == body["amount"]
    sim.store.save(charge)
    emit(sim, "refund.created", refund, account=account, origin=origin)
    emit(
        sim,
        "charge.refunded",
        body,
        account=account,
        origin=origin,
        previous_attributes=previous_attributes(before, body),
    )
    return refund


def _charge_to_refund(sim: "Simulator", params: dict[str, Any], account: str | None) -> Record:
    """The charge a refund is for, named directly or through its PaymentIntent."""
    charge_id: str | None = params.get("charge")
    intent_id: str | None = params.get("payment_intent")
    if intent_id:
        charge_id = _charge_of_intent(sim, intent_id, charge_id, account)
    if not charge_id:
        raise invalid_request(
            "One of the following params should be provided for this request: "
            "payment_intent or charge."
        )
    charge = sim.store.get("charge", charge_id, account)
    if charge is None:
        raise resource_missing("charge", charge_id, param="charge", status=400)
    if charge.body["status"] != "succeeded":
        raise invalid_request(f"Charge {charge_id} has not succeeded; it cannot be refunded.")
    return charge


def _charge_of_intent(
    sim: "Simulator", intent_id: str, charge_id: str | None, account: str | None
) -> str:
    intent = sim.store.get("payment_intent", intent_id, account)
    if intent is None:
        raise resource_missing("payment_intent", intent_id, param="payment_intent", status=400)
    if intent.body["status"] != "succeeded":
        raise invalid_request(
            f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
            param="payment_intent",
        )
    if charge_id and charge_id != intent.body["latest_charge"]:
        raise invalid_request(
            f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", param="charge"
        )
    return intent.body["latest_charge"]


def _refund_fee(sim: "Simulator", charge: Record, amount: int, *, fully: bool) -> None:
    """``refund_application_fee``: the whole fee on a full refund, a proportional share on
    a partial one (what is left of it once the charge is fully refunded)."""
    fee_id = charge.body["application_fee"]
    fee = sim.store.get("application_fee", fee_id, None) if fee_id else None
    if fee is None:
        return
    left = fee.body["amount"] - fee.body["amount_refunded"]
    share = left if fully else fee.body["amount"] * amount // charge.body["amount"]
    share = min(share, left)
    if share <= 0:
        return
    fee_refund = fee_refund_object(created=sim.clock.timestamp(), fee=fee.body, amount=share)
    fee.body["refunds"]["data"].insert(0, fee_refund)
    fee.body["amount_refunded"] += share
    fee.body["refunded"] = fee.body["amount_refunded"] == fee.body["amount"]
    sim.store.save(fee)


def refund_record(sim: "Simulator", refund_id: str, account: str | None) -> Record:
    record = sim.store.get("refund", refund_id, account)
    if record is None:
        raise resource_missing("refund", refund_id, param="refund")
    return record


def update_refund(
    sim: "Simulator", record: Record, params: dict[str, Any], origin: Origin
) -> dict[str, Any]:
    if "metadata" not in params:
        return record.body
    check_metadata(params["metadata"])
    before = copy.deepcopy(record.body)
    record.body["metadata"] = merged_metadata(record.body["metadata"], params["metadata"])
    changed = previous_attributes(before, record.body)
    sim.store.save(record)
    if changed:
        _announce_refund_update(sim, record, changed, origin)
    return record.body


def fail_due_refunds(sim: "Simulator") -> int:
    """Refunds of card 5126 turn from succeeded to failed; the money goes back on the
    charge, as with a refund the card network rejects."""
    now = sim.clock.timestamp()
    due = [
        record
        for record in sim.store.all_records("refund")
        if record.private.get("fail_at") is not None and record.private["fail_at"] <= now
    ]
    for record in due:
        record.private["fail_at"] = None
        before = copy.deepcopy(record.body)
        record.body.update(status="failed", failure_reason="expired_or_canceled_card")
        record.body["failure_balance_transaction"] = record.body["balance_transaction"]
        sim.store.save(record)
        charge = sim.store.get("charge", record.body["charge"], record.account)
        if charge is not None:
            charge.body["amount_refunded"] -= record.body["amount"]
            charge.body["refunded"] = False
            sim.store.save(charge)
        _announce_refund_update(sim, record, previous_attributes(before, record.body), AUTOMATIC)
    return len(due)


def _announce_refund_update(
    sim: "Simulator", record: Record, changed: dict[str, Any], origin: Origin
) -> None:
    # Stripe sends both names: refund.updated, and the older charge.refund.updated.
    for event_type in ("refund.updated", "charge.refund.updated"):
        emit(
            sim,
            event_type,
            record.body,
            account=record.account,
            origin=origin,
            previous_attributes=changed,
        )
