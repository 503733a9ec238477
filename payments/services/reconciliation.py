"""The payments sweep: repair whatever a lost webhook, a crash or a Stripe outage left, by
asking Stripe and going through the same services as everything else."""

import logging
from collections import Counter
from datetime import datetime, timedelta

import stripe
from django.utils import timezone

from payments.models import Order, Refund, StripeEvent
from payments.services.fulfilment import (
    close_checkout_of_offer,
    refresh_order,
    refund_late_order,
)
from payments.services.refunds import ask_again
from payments.services.webhooks import process_stripe_event
from tickethub.errors import Busy
from waitlist.models import WaitingListEntry

logger = logging.getLogger(__name__)
# Give the webhook (and the buyer's return) this long before asking Stripe ourselves.
GRACE = timedelta(minutes=1)
# How long after its session's expiry an expired order is still asked about: a payment
# completing as the session expires must still end as tickets or a refund.
LATE_PAYMENT_WATCH = timedelta(hours=1)
BATCH = 200
MAX_EVENT_ATTEMPTS = 10


def reconcile_payments(*, now: datetime | None = None) -> Counter:
    """One pass; returns what it fixed, by kind, and logs it. Idempotent."""
    now = now or timezone.now()
    fixed: Counter = Counter()
    _reconcile_open_orders(now, fixed)
    for order in Order.objects.filter(status=Order.Status.REFUND_PENDING)[:BATCH]:
        if refund_late_order(order_id=order.pk, now=now).status == Order.Status.REFUNDED:
            fixed["late payment refunded"] += 1
    _reconcile_requested_refunds(now, fixed)
    stale_events = StripeEvent.objects.filter(
        processed_at__isnull=True,
        unprocessable=False,
        received_at__lte=now - GRACE,
        attempts__lt=MAX_EVENT_ATTEMPTS,
    ).order_by("received_at")[:BATCH]
    for event in stale_events:
        try:
            process_stripe_event(event_pk=event.pk)
            fixed["webhook event processed late"] += 1
        except Exception as error:  # one bad event must not stop the sweep; it is retried
            StripeEvent.objects.filter(pk=event.pk).update(last_error=repr(error)[:2000])
            logger.exception("Stripe event %s failed again", event.stripe_event_id)
    if fixed:
        logger.info("Payments sweep fixed: %s", dict(fixed))
    return fixed


def _reconcile_open_orders(now: datetime, fixed: Counter) -> None:
    open_orders = Order.objects.filter(
        status=Order.Status.PENDING,
        checkout_session_id__isnull=False,
        created_at__lte=now - GRACE,
    )
    recently_expired = Order.objects.filter(
        status=Order.Status.EXPIRED,
        checkout_session_id__isnull=False,
        checkout_expires_at__gte=now - LATE_PAYMENT_WATCH,
    )
    # The entry comes with each order: one query for the batch, not one per order.
    batch = [
        *open_orders.select_related("entry").order_by("created_at")[:BATCH],
        *recently_expired.select_related("entry")[:BATCH],
    ]
    for order in batch:
        before = order.status
        try:
            if before == Order.Status.PENDING and _offer_needs_closing(order.entry, now):
                after = close_checkout_of_offer(entry_id=order.entry_id, now=now)
            else:
                after = refresh_order(order=order, now=now)
                if after.status == Order.Status.EXPIRED:
                    # A crash may have left the offer's places held for this checkout.
                    close_checkout_of_offer(entry_id=order.entry_id, now=now)
        except stripe.StripeError as error:
            logger.warning("Sweep could not reach Stripe for order %s: %s", order.pk, error)
            continue
        if after is not None and after.status != before:
            fixed[f"order {after.status}"] += 1


def _reconcile_requested_refunds(now: datetime, fixed: Counter) -> None:
    """Refunds Stripe did not answer: asked again with the same key (a refund Stripe made
    is found, never made twice)."""
    stuck = Refund.objects.filter(
        status=Refund.Status.REQUESTED, created_at__lte=now - GRACE
    ).order_by("created_at")[:BATCH]
    for refund_id in list(stuck.values_list("pk", flat=True)):
        try:
            after = ask_again(refund_id=refund_id, now=now)
        except (stripe.StripeError, Busy) as error:
            # The next sweep (or the refund's own job) asks again; the rest still run.
            logger.warning("Sweep could not settle refund %s: %s", refund_id, error)
            continue
        if after.status != Refund.Status.REQUESTED:
            fixed[f"refund {after.status}"] += 1


def _offer_needs_closing(entry: WaitingListEntry, now: datetime) -> bool:
    """The offer ended, or is overdue with its places held for a checkout."""
    if entry.status == WaitingListEntry.Status.OFFERED:
        return entry.expires_at is not None and entry.expires_at <= now
    return entry.status != WaitingListEntry.Status.PURCHASED
