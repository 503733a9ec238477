"""From a paid Checkout Session to tickets, exactly once, or to a refund; and what becomes
of orders whose session expired unpaid."""

import logging
from datetime import datetime

import stripe
from django.db import transaction
from django.utils import timezone

from audit.services import record_change
from events.locks import lock_ticket_types
from events.services import NotEnoughPlaces
from payments.models import Order
from payments.services.checkout import expire_session, retrieve_session
from payments.stripe_api import client
from tickethub.locks import locked
from tickets.services import Issue, issue_tickets_for_late_order
from waitlist import services as waitlist_services
from waitlist.models import WaitingListEntry

logger = logging.getLogger(__name__)
Status = Order.Status
# Orders a payment may still complete (EXPIRED included: a payment can land after the
# session's expiry, and it must still end as tickets or a refund).
OPEN_STATUSES = (Status.PENDING, Status.EXPIRED)


def _order_for_session(session: dict) -> Order | None:
    order = Order.objects.filter(checkout_session_id=session.get("id")).first()
    if order is None:
        logger.warning("Checkout session %s belongs to no order", session.get("id"))
    return order


def _stripe_id(value: object) -> str:
    if isinstance(value, dict):
        return value.get("id") or ""
    return value if isinstance(value, str) else ""


def apply_session(*, session: dict, now: datetime | None = None) -> Order | None:
    """Bring an order in line with its Checkout Session as Stripe reports it: paid →
    fulfil_paid_session; expired unpaid → the order expires. Safe in any order and twice
    (checkout.session.expired after completed changes nothing)."""
    if session.get("payment_status") == "paid":
        return fulfil_paid_session(session=session, now=now)
    if session.get("status") == "expired":
        order = _order_for_session(session)
        if order is not None:
            Order.objects.filter(pk=order.pk, status=Status.PENDING).update(status=Status.EXPIRED)
            order.refresh_from_db()
        return order
    return _order_for_session(session)


def fulfil_paid_session(*, session: dict, now: datetime | None = None) -> Order | None:
    """Issue a paid order's tickets exactly once, or refund a late payment.

    Takes the ticket type's lock and the order's row. The offer's held places become sold;
    a payment that arrived after the offer expired takes free places if there are any,
    otherwise it is refunded (fee included) and the buyer told. A second call finds the
    order settled and changes nothing; the tickets' (order, position) constraint would
    refuse a second set anyway.
    """
    now = now or timezone.now()
    if session.get("payment_status") != "paid":
        return None
    order = _order_for_session(session)
    if order is None:
        return None
    needs_refund = False
    with locked() as lock:
        ticket_type = lock_ticket_types([order.ticket_type_id])[order.ticket_type_id]
        order = lock.rows(Order.objects.select_related("buyer"), [order.pk])[order.pk]
        if order.status not in OPEN_STATUSES:
            return order
        order.payment_intent_id = _stripe_id(session.get("payment_intent"))
        order.paid_at = now
        try:
            tickets = waitlist_services.accept_offer(
                user=order.buyer,
                entry_id=order.entry_id,
                amount_minor_each=order.unit_amount_minor,
                order_id=order.pk,
                now=now,
            )
            how = "offer"
        except waitlist_services.OfferNoLongerLive:
            try:
                if ticket_type.event.is_cancelled:
                    # The offer was withdrawn by the cancellation: its places are nobody's.
                    raise NotEnoughPlaces("This event has been cancelled.")
                tickets = issue_tickets_for_late_order(
                    Issue(
                        owner_id=order.buyer_id,
                        ticket_type=ticket_type,
                        quantity=order.quantity,
                        amount_minor_each=order.unit_amount_minor,
                        entry_id=order.entry_id,
                        order_id=order.pk,
                    )
                )
                how = "late payment, free places"
            except NotEnoughPlaces:
                tickets, how, needs_refund = [], "late payment, sold out", True
        if needs_refund:
            order.status = Status.REFUND_PENDING
        else:
            order.status, order.fulfilled_at = Status.FULFILLED, now
        order.save()
        record_change(
            actor=None,
            action="order.refund_needed" if needs_refund else "order.fulfilled",
            target=order,
            after={"tickets": len(tickets), "how": how, "payment_intent": order.payment_intent_id},
        )
        if not needs_refund:
            _notify_after_commit(order, "fulfilled")
    if needs_refund:
        return refund_late_order(order_id=order.pk, now=now)
    return order


def refund_late_order(*, order_id: int, now: datetime | None = None) -> Order:
    """Refund, in full with the platform fee, an order paid when no place was left.

    Stripe is called outside any transaction with a key fixed per order, so a retry by the
    sweep cannot refund twice. A failure leaves the order REFUND_PENDING for the sweep.
    """
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    if order.status != Status.REFUND_PENDING:
        return order
    try:
        refund = client().v1.refunds.create(
            params={
                "payment_intent": order.payment_intent_id,
                "refund_application_fee": True,
                "reason": "requested_by_customer",
                "metadata": {"order_id": str(order.pk), "why": "paid after the offer expired"},
            },
            options={
                "stripe_account": order.stripe_account_id,
                "idempotency_key": f"tickethub-late-refund-{order.pk}",
            },
        )
    except stripe.StripeError as error:
        logger.warning("Refund of order %s failed, the sweep will retry: %s", order.pk, error)
        return order
    with locked() as lock:
        order = lock.rows(Order.objects.all(), [order.pk])[order.pk]
        if order.status == Status.REFUND_PENDING:
            order.status, order.refund_id, order.refunded_at = Status.REFUNDED, refund.id, now
            order.save(update_fields=["status", "refund_id", "refunded_at"])
            record_change(
                actor=None,
                action="order.refunded",
                target=order,
                before={"status": Status.REFUND_PENDING},
                after={"status": Status.REFUNDED, "refund": refund.id},
            )
            _notify_after_commit(order, "refunded")
    return order


def close_checkout_of_offer(*, entry_id: int, now: datetime | None = None) -> Order | None:
    """Close the Checkout Session of an offer that ended (declined) or ran out of time, and
    act on what Stripe answers: paid (in time, reported late) → the offer's own held places
    become tickets; expired unpaid → the order expires and only then do the offer's places
    pass on (waitlist.services.release_after_checkout). Idempotent; Stripe unreachable →
    stripe.StripeError, retried by the job and the sweep while the places stay held."""
    now = now or timezone.now()
    order = Order.objects.filter(entry_id=entry_id).first()
    if order is not None and order.status == Status.PENDING:
        if order.checkout_session_id:
            order = apply_session(session=expire_session(order), now=now) or order
        else:  # the session was never created: nothing can be paid
            Order.objects.filter(pk=order.pk, status=Status.PENDING).update(status=Status.EXPIRED)
            order.refresh_from_db()
    if order is None or order.status == Status.EXPIRED:
        entry = WaitingListEntry.objects.get(pk=entry_id)
        if entry.status == WaitingListEntry.Status.OFFERED and entry.checkout_started_at:
            waitlist_services.release_after_checkout(entry_id=entry_id, now=now)
    return order


def refresh_order(*, order: Order, now: datetime | None = None) -> Order:
    """Ask Stripe about an order still open on our side (the buyer's return, the sweep)."""
    if not order.checkout_session_id or order.status not in OPEN_STATUSES:
        return order
    return apply_session(session=retrieve_session(order), now=now) or order


def _notify_after_commit(order: Order, kind: str) -> None:
    from payments import tasks

    order_id = order.pk
    transaction.on_commit(lambda: tasks.send_order_email(order_id, kind))
