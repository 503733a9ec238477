"""Stripe's webhook events: verified, stored once by id, then processed by a job.

Processing is idempotent and order-free: every handler re-reads what it needs (the order
under its lock, the account from Stripe) instead of trusting that events arrive in order.
"""

import json
import logging
import re

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import Order, Refund, StripeEvent
from payments.services.accounts import refresh_account_status
from payments.services.fulfilment import apply_session
from payments.services.refunds import (
    apply_stripe_refund,
    ask_again,
    record_outside_refunds_of_order,
)
from tickethub.errors import DomainError

logger = logging.getLogger(__name__)
# Stripe's default tolerance for the signature's timestamp (stripe-python's webhook.py).
SIGNATURE_TOLERANCE_SECONDS = 300
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]+")


class InvalidWebhook(DomainError):
    status = 400


def record_stripe_event(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify a delivery and store its event once; returns (event, newly stored).

    Platform and Connect events come signed with their endpoint's own secret; either may
    sign. Raises InvalidWebhook (nothing stored) for a bad or missing signature, and for a
    body without a usable event id and type. A signed event whose data no handler can read
    is stored as unprocessable (logged, listed in the admin) and never processed: it is
    acknowledged like any other, since Stripe redelivers the same body for three days after
    any answer but a 2xx, and a redelivery cannot repair it.
    """
    secrets = [
        s for s in (settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_CONNECT_WEBHOOK_SECRET) if s
    ]
    if not signature or not _signed_by_any(payload, signature, secrets):
        raise InvalidWebhook("Invalid Stripe signature.")
    try:
        data = json.loads(payload)
    except ValueError as error:
        raise InvalidWebhook("Malformed Stripe event.") from error
    problem = _unstorable(data)
    if problem:
        raise InvalidWebhook(f"Malformed Stripe event: {problem}.")
    shape_problem = _shape_problem(data)
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_event_id=data["id"],
                type=data["type"],
                account=data.get("account") or "",
                payload=data,
                unprocessable=shape_problem is not None,
                last_error=f"Unprocessable: {shape_problem}" if shape_problem else "",
            )
            if shape_problem:
                logger.error(
                    "Stripe event %s (%s) is unprocessable: %s",
                    event.stripe_event_id,
                    event.type,
                    shape_problem,
                )
            else:
                transaction.on_commit(lambda: _enqueue(event.pk))
    except IntegrityError:
        # A redelivery (or a duplicate racing it): acknowledged, not processed again.
        return StripeEvent.objects.get(stripe_event_id=data["id"]), False
    return event, True


def _is_stripe_id(value: object, max_length: int = 255) -> bool:
    return isinstance(value, str) and bool(_STRIPE_ID.fullmatch(value)) and len(value) <= max_length


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _unstorable(data: object) -> str | None:
    """Why an event cannot be stored once by its id, or None. Such a body is answered 400:
    Stripe never sends one, so only a holder of the secret could have signed it."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not _is_stripe_id(data.get("id")):
        return "no event id"
    if not (isinstance(data.get("type"), str) and 0 < len(data["type"]) <= 100):
        return "no event type"
    account = data.get("account")
    if account is not None and not _is_stripe_id(account, max_length=64):
        return "malformed account"
    if _has_nul(data):  # PostgreSQL's jsonb cannot hold one
        return "NUL character"
    return None


def _shape_problem(data: dict) -> str | None:
    """What keeps the event's handler from reading it, or None (unhandled types: None)."""
    if data["type"] not in HANDLERS:
        return None
    wrapper = data.get("data")
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("object"), dict):
        return "data.object is not an object"
    obj = wrapper["object"]
    if data["type"].startswith("checkout.session."):
        if not _is_stripe_id(obj.get("id")):
            return "the session has no id"
        for key in ("status", "payment_status"):
            if not isinstance(obj.get(key), str | None):
                return f"the session's {key} is not a string"
        if not _is_reference(obj.get("payment_intent")):
            return "the session's payment_intent is not an id"
    elif data["type"] == "account.updated":
        if not _is_stripe_id(obj.get("id"), max_length=64):
            return "the account has no id"
    elif not _is_reference(obj.get("payment_intent")):
        return "payment_intent is not an id"
    return None


def _is_reference(value: object) -> bool:
    """An expandable Stripe field: None, an id, or the expanded object with its id."""
    if isinstance(value, dict):
        return _is_stripe_id(value.get("id"))
    return value is None or _is_stripe_id(value)


def _signed_by_any(payload: bytes, signature: str, secrets: list[str]) -> bool:
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8", errors="replace"),
                signature,
                secret,
                tolerance=SIGNATURE_TOLERANCE_SECONDS,
            )
            return True
        except stripe.SignatureVerificationError:
            continue
    return False


def _enqueue(event_pk: int) -> None:
    from payments import tasks

    tasks.process_stripe_event_task(event_pk)


def process_stripe_event(*, event_pk: int) -> None:
    """Act on one stored event, once; a failure leaves it for the job's retry and the sweep."""
    event = StripeEvent.objects.get(pk=event_pk)
    if event.processed_at is not None or event.unprocessable:
        return
    # Events stored before their shape was checked on arrival.
    problem = _unstorable(event.payload) or _shape_problem(event.payload)
    if problem:
        StripeEvent.objects.filter(pk=event.pk).update(
            unprocessable=True, last_error=f"Unprocessable: {problem}"
        )
        logger.error("Stripe event %s is unprocessable: %s", event.stripe_event_id, problem)
        return
    StripeEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    handler = HANDLERS.get(event.type)
    if handler is not None:
        handler(event.payload["data"]["object"])
    StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), last_error=""
    )


def _checkout_session(session: dict) -> None:
    apply_session(session=session)


def _account_updated(account: dict) -> None:
    refresh_account_status(stripe_account_id=account["id"])


def _refund_updated(stripe_refund: dict) -> None:
    """A refund's status changed at Stripe (pending → succeeded, succeeded → failed): the
    site's Refund follows it. A refund made outside the site (Stripe's dashboard) is
    recorded; the late-payment refunds are recorded when Stripe answers their call."""
    apply_stripe_refund(stripe_refund=stripe_refund)


def _charge_refunded(charge: dict) -> None:
    """The charge's refunded amount changed. The event names no refund, so any of the
    order's refunds still requested asks Stripe again (finding it by its id in the
    metadata, creating nothing twice), then any refund the site never made (Stripe's
    dashboard) is recorded, in case refund.created is not delivered."""
    payment_intent = charge.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent["id"]
    if not payment_intent:
        return
    order = Order.objects.filter(payment_intent_id=payment_intent).first()
    if order is None:
        return
    waiting = order.refunds.filter(status=Refund.Status.REQUESTED).values_list("pk", flat=True)
    for refund_id in list(waiting):
        ask_again(refund_id=refund_id)
    amount_refunded = charge.get("amount_refunded")
    if order.status == Order.Status.FULFILLED and isinstance(amount_refunded, int):
        record_outside_refunds_of_order(order_id=order.pk, amount_refunded=amount_refunded)


HANDLERS = {
    "checkout.session.completed": _checkout_session,
    "checkout.session.async_payment_succeeded": _checkout_session,
    "checkout.session.async_payment_failed": _checkout_session,
    "checkout.session.expired": _checkout_session,
    "account.updated": _account_updated,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_updated,
    "refund.updated": _refund_updated,
    "refund.failed": _refund_updated,
    "charge.refund.updated": _refund_updated,
}
