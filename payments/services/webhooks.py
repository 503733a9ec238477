"""Stripe's webhook events: verified, stored once by id, then processed by a job.

Processing is idempotent and order-free: every handler re-reads what it needs (the order
under its lock, the account from Stripe) instead of trusting that events arrive in order.
"""

import json
import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import Order, StripeEvent
from payments.services.accounts import refresh_account_status
from payments.services.fulfilment import apply_session
from tickethub.errors import DomainError

logger = logging.getLogger(__name__)
# Stripe's default tolerance for the signature's timestamp (stripe-python's webhook.py).
SIGNATURE_TOLERANCE_SECONDS = 300


class InvalidWebhook(DomainError):
    status = 400


def record_stripe_event(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify a delivery and store its event once; returns (event, newly stored).

    Platform and Connect events come signed with their endpoint's own secret; either may
    sign. Raises InvalidWebhook (nothing stored) for a bad or missing signature.
    """
    secrets = [
        s for s in (settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_CONNECT_WEBHOOK_SECRET) if s
    ]
    if not signature or not _signed_by_any(payload, signature, secrets):
        raise InvalidWebhook("Invalid Stripe signature.")
    try:
        data = json.loads(payload)
        event_id, event_type = str(data["id"]), str(data["type"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidWebhook("Malformed Stripe event.") from error
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_event_id=event_id,
                type=event_type,
                account=data.get("account") or "",
                payload=data,
            )
            transaction.on_commit(lambda: _enqueue(event.pk))
    except IntegrityError:
        # A redelivery (or a duplicate racing it): acknowledged, not processed again.
        return StripeEvent.objects.get(stripe_event_id=event_id), False
    return event, True


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
    if event.processed_at is not None:
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


def _refund_settled(refund_or_charge: dict) -> None:
    """Our own late-payment refunds are recorded when Stripe answers the create call; the
    event only confirms them. (Refunds made elsewhere are handled with the refunds work.)"""
    payment_intent = refund_or_charge.get("payment_intent")
    order = Order.objects.filter(payment_intent_id=payment_intent).first()
    if order is not None:
        logger.info("Stripe reports a refund on order %s (%s)", order.pk, order.status)


HANDLERS = {
    "checkout.session.completed": _checkout_session,
    "checkout.session.async_payment_succeeded": _checkout_session,
    "checkout.session.async_payment_failed": _checkout_session,
    "checkout.session.expired": _checkout_session,
    "account.updated": _account_updated,
    "charge.refunded": _refund_settled,
    "refund.updated": _refund_settled,
}
