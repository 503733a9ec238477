"""Refunds of direct charges, with the application fee refunded alongside on request.

A refund draws on the connected account's available balance. By default there is no limit
(Stripe debits the account's bank account); once ``/_sim/accounts/{id}/balance`` sets one,
a refund it does not cover is held ``pending``, as Stripe holds it until the balance is
topped up, and released (``succeeded``) when enough is made available. "Stripe
automatically fails a pending refund after 45 days"
(https://support.stripe.com/questions/fix-your-pending-refund): then it turns ``failed``
with ``failure_reason: insufficient_funds`` and the amount goes back on the charge.
"""

import copy
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.common import format_money
from stripe_sim.objects.payments import fee_refund_object, refund_object
from stripe_sim.protocol import invalid_request, new_id, resource_missing
from stripe_sim.services.balance import draw_available, give_back_available
from stripe_sim.services.events import AUTOMATIC, Origin, emit, previous_attributes
from stripe_sim.services.validation import check_metadata, merged_metadata
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Test card 4000 0000 0000 5126: "the refund's status begins as succeeded, some time later
# it transitions to failed" (https://docs.stripe.com/testing#refunds).
REFUND_FAILURE_DELAY_SECONDS = 1
PENDING_REFUND_LIFETIME_SECONDS = 45 * 24 * 60 * 60


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
    drawn = draw_available(sim, account, refund["currency"], amount)
    if drawn is None:
        refund["status"] = "pending"
        private["held_until"] = now + PENDING_REFUND_LIFETIME_SECONDS
    else:
        private["drawn"] = drawn
        _schedule_card_failure(charge, private, now)
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


def _schedule_card_failure(charge: Record, private: dict[str, Any], now: int) -> None:
    """A refund sent to the card of test card 5126 fails a moment later."""
    if charge.private.get("refund_fails"):
        private["fail_at"] = now + REFUND_FAILURE_DELAY_SECONDS
        private["failure_reason"] = "expired_or_canceled_card"


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


def release_held_refunds(sim: "Simulator", account: str) -> list[str]:
    """Send the pending refunds the account's available balance now covers, oldest first
    (a refund is released only once its whole amount is available)."""
    released = []
    now = sim.clock.timestamp()
    for record in reversed(sim.store.records("refund", account)):
        if record.private.get("held_until") is None:
            continue
        drawn = draw_available(sim, account, record.body["currency"], record.body["amount"])
        if drawn is None:
            continue
        record.private.update(held_until=None, drawn=drawn)
        before = copy.deepcopy(record.body)
        record.body["status"] = "succeeded"
        charge = sim.store.get("charge", record.body["charge"], account)
        if charge is not None:
            _schedule_card_failure(charge, record.private, now)
        sim.store.save(record)
        _announce_refund_update(sim, record, previous_attributes(before, record.body), AUTOMATIC)
        released.append(record.id)
    return released


def fail_due_refunds(sim: "Simulator") -> int:
    """Refunds of card 5126 turn from succeeded to failed, and refunds held pending for
    lack of funds fail after 45 days; the money goes back on the charge, as with a refund
    the card network rejects."""
    now = sim.clock.timestamp()
    due = [record for record in sim.store.all_records("refund") if _failure_due(record, now)]
    for record in due:
        held = record.private.get("held_until") is not None
        # (Card 5126 refunds saved in a state file before failure_reason was kept.)
        card_reason = record.private.get("failure_reason", "expired_or_canceled_card")
        reason = "insufficient_funds" if held else card_reason
        record.private.update(fail_at=None, held_until=None)
        currency, drawn = record.body["currency"], record.private.pop("drawn", 0)
        give_back_available(sim, record.account, currency, drawn)
        before = copy.deepcopy(record.body)
        record.body.update(status="failed", failure_reason=reason)
        record.body["failure_balance_transaction"] = new_id("txn_")
        sim.store.save(record)
        charge = sim.store.get("charge", record.body["charge"], record.account)
        if charge is not None:
            charge.body["amount_refunded"] -= record.body["amount"]
            charge.body["refunded"] = False
            sim.store.save(charge)
        _announce_refund_update(sim, record, previous_attributes(before, record.body), AUTOMATIC)
        # API versions since 2024-10-28 also send refund.failed for card refunds.
        emit(sim, "refund.failed", record.body, account=record.account, origin=AUTOMATIC)
    return len(due)


def _failure_due(record: Record, now: int) -> bool:
    return any(
        record.private.get(moment) is not None and record.private[moment] <= now
        for moment in ("fail_at", "held_until")
    )


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
