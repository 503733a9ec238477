"""Paying a Checkout Session: the one code path behind the hosted page and the control API."""

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.checkout import customer_details_object
from stripe_sim.objects.payments import (
    application_fee_object,
    charge_object,
    payment_intent_object,
)
from stripe_sim.protocol import StripeError, new_id
from stripe_sim.services.cards import (
    CardInput,
    CardProfile,
    check_card_fields,
    fingerprint,
    look_up,
)
from stripe_sim.services.checkout import expire_session
from stripe_sim.services.events import AUTOMATIC, emit
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


class SessionNotPayable(Exception):
    """The session cannot take a payment (already paid, or expired); nothing was charged."""


@dataclasses.dataclass
class PaymentResult:
    session: dict[str, Any]
    redirect_url: str | None = None  # success_url with the session id, when paid
    error: StripeError | None = None  # the card_error, when declined or mistyped

    @property
    def paid(self) -> bool:
        return self.error is None


def pay_session(
    sim: "Simulator",
    record: Record,
    card: CardInput,
    *,
    email: str | None = None,
    name: str | None = None,
    ignore_expiry: bool = False,
) -> PaymentResult:
    """Charge ``card`` for the session, as Checkout does when the customer presses Pay.

    A late payment (``ignore_expiry`` or the ``late_payment`` fault) completes a session
    even after ``expires_at`` or after it expired, emitting ``checkout.session.completed``
    after ``checkout.session.expired``: the race a site must survive.
    """
    _check_payable(sim, record, late=ignore_expiry or sim.faults.late_payment)
    session = record.body
    today = datetime.datetime.fromtimestamp(sim.clock.now(), datetime.UTC).date()
    try:
        expiry = check_card_fields(card, today)
    except StripeError as error:
        return PaymentResult(session, error=error)
    profile = look_up(card)
    details = {
        "brand": profile.brand,
        "country": profile.country,
        "funding": profile.funding,
        "exp_month": expiry[0],
        "exp_year": expiry[1],
        "last4": card.digits[-4:],
        "fingerprint": fingerprint(card.digits),
    }
    intent = _payment_intent(sim, record)
    email = email or session["customer_email"]
    charge = charge_object(
        created=sim.clock.timestamp(),
        intent=intent.body,
        card=details,
        payment_method=new_id("pm_"),
        billing_email=email,
        billing_name=name,
        outcome=_outcome(profile),
        failure=(profile.decline[0], profile.decline[2]) if profile.decline else None,
    )
    if profile.decline:
        decline = _decline(sim, record, intent, charge, profile.decline)
        return PaymentResult(session, error=decline)
    _succeed(sim, record, intent, charge, profile, customer=(email, name))
    redirect = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    return PaymentResult(session, redirect_url=redirect)


def _check_payable(sim: "Simulator", record: Record, *, late: bool) -> None:
    session = record.body
    if session["status"] == "complete":
        raise SessionNotPayable("This Checkout Session has already been paid.")
    if late:
        return
    if session["status"] == "open" and session["expires_at"] <= sim.clock.timestamp():
        # The ticker may not have run yet; expire now so the event is not lost.
        expire_session(sim, record)
    if session["status"] == "expired":
        raise SessionNotPayable("This Checkout Session has expired.")


def _payment_intent(sim: "Simulator", record: Record) -> Record:
    """The session's PaymentIntent, made at the first attempt and reused after a decline."""
    session = record.body
    if session["payment_intent"]:
        found = sim.store.get("payment_intent", session["payment_intent"], record.account)
        if found is not None:
            return found
    intent_data = record.private["payment_intent_data"]
    intent = payment_intent_object(
        created=sim.clock.timestamp(),
        amount=session["amount_total"],
        currency=session["currency"],
        application=sim.application_id if record.account else None,
        application_fee_amount=intent_data["application_fee_amount"],
        description=intent_data["description"],
        metadata=dict(intent_data["metadata"]),
        receipt_email=intent_data["receipt_email"],
    )
    intent_record = sim.store.add("payment_intent", intent, account=record.account)
    session["payment_intent"] = intent["id"]
    sim.store.save(record)
    emit(sim, "payment_intent.created", intent, account=record.account)
    return intent_record


def _outcome(profile: CardProfile) -> dict[str, Any]:
    if profile.decline is None:
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "network_status": "declined_by_network",
        "reason": profile.decline[1],
        "risk_level": "normal",
        "risk_score": 30,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def _decline(
    sim: "Simulator",
    record: Record,
    intent: Record,
    charge: dict[str, Any],
    decline: tuple[str, str, str],
) -> StripeError:
    code, decline_code, message = decline
    account = record.account
    sim.store.add("charge", charge, account=account)
    error = StripeError(
        402,
        "card_error",
        message,
        code=code,
        decline_code=decline_code,
        extra={"charge": charge["id"]},
    )
    intent.body.update(
        status="requires_payment_method",
        last_payment_error=error.to_dict(),
        latest_charge=charge["id"],
        payment_method=None,
    )
    sim.store.save(intent)
    # The session stays open: the customer may try another card.
    emit(sim, "charge.failed", charge, account=account)
    emit(sim, "payment_intent.payment_failed", intent.body, account=account)
    return error


def _succeed(
    sim: "Simulator",
    record: Record,
    intent: Record,
    charge: dict[str, Any],
    profile: CardProfile,
    customer: tuple[str | None, str | None],
) -> None:
    account = record.account
    fee = None
    fee_amount = intent.body["application_fee_amount"]
    if account is not None and fee_amount:
        fee = application_fee_object(
            created=sim.clock.timestamp(),
            account=account,
            application=sim.application_id,
            charge=charge,
            amount=fee_amount,
        )
        charge["application_fee"] = fee["id"]
        # Application fees belong to the platform: it retrieves them without Stripe-Account.
        sim.store.add("application_fee", fee, account=None)
    sim.store.add("charge", charge, account=account, private={"refund_fails": profile.refund_fails})
    intent.body.update(
        status="succeeded",
        amount_received=intent.body["amount"],
        last_payment_error=None,
        latest_charge=charge["id"],
        payment_method=charge["payment_method"],
    )
    sim.store.save(intent)
    session = record.body
    session.update(
        status="complete",
        payment_status="paid",
        url=None,
        customer_details=customer_details_object(*customer),
    )
    sim.store.save(record)
    emit(sim, "charge.succeeded", charge, account=account)
    emit(sim, "payment_intent.succeeded", intent.body, account=account)
    if fee is not None:
        emit(sim, "application_fee.created", fee, account=None, origin=AUTOMATIC)
    emit(sim, "checkout.session.completed", session, account=account)
