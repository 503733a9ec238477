"""Refunds of single tickets or whole orders by their organiser.

Three steps, as with checkout: claim the tickets and record the Refund under the ticket
type's and the order's locks (commit), ask Stripe with no lock and no transaction open,
then lock again and apply Stripe's answer. The Refund's idempotency key is fixed when it
is created, so every later ask (the job's retries, the sweep, a duplicate request) names
the same Stripe refund and none can refund twice. Tickets become refunded, and their
places free for the queue, only once Stripe has said the money went back.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from audit.services import record_change
from events.locks import lock_ticket_types
from events.models import TicketType
from payments.models import Order, Refund, RefundedTicket
from payments.selectors import refundable_tickets
from payments.stripe_api import as_dict, client
from tickethub.errors import DomainError, NotFound
from tickethub.locks import Lock, locked
from tickets.models import Ticket
from tickets.selectors import order_tickets
from tickets.services import mark_refunded
from waitlist import live
from waitlist.services import serve_queue

logger = logging.getLogger(__name__)
Status = Refund.Status
# Stripe's refund statuses that mean the money is on its way back ("pending" settles
# later, and a later failure arrives as refund.updated).
STRIPE_REFUNDED = frozenset({"succeeded", "pending"})
STRIPE_NOT_REFUNDED = frozenset({"failed", "canceled"})
# The metadata key that ties a Stripe refund to its Refund row.
METADATA_REFUND_ID = "tickethub_refund_id"


TRANSIENT_STRIPE_ERRORS = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
    stripe.IdempotencyError,
)


class RefundRefused(DomainError):
    status = 409


def is_transient_stripe_error(error: stripe.StripeError) -> bool:
    """Stripe unreachable, rate limited, a 5xx, or the same key still in flight: asking
    again with the same idempotency key may succeed (and cannot refund twice). Anything
    else (an invalid request, insufficient funds, a revoked account) would only repeat."""
    if isinstance(
        error,
        stripe.APIConnectionError
        | stripe.RateLimitError
        | stripe.APIError
        | stripe.IdempotencyError,
    ):
        return True
    status = error.http_status or 0
    return status == 429 or status >= 500


# --- what the organiser calls ------------------------------------------------------------


def refund_tickets(
    *,
    organiser: User,
    order_id: int,
    ticket_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Refund:
    """Refund some of an order's tickets (``ticket_ids``) or all it still has (None), with
    the platform fee refunded pro rata.

    The order is fetched through its event's organiser (anyone else's: NotFound). Takes
    the ticket type's then the order's lock to claim the tickets (only valid ones that no
    requested or succeeded refund claims: RefundRefused otherwise), commits, calls Stripe
    outside any transaction, then locks again to apply the answer. Returns the Refund:
    succeeded; failed with Stripe's reason (tickets stay valid); or still requested when
    Stripe could not be reached (a job and the sweep ask again with the same key).
    """
    now = now or timezone.now()
    order = _order_of_organiser(organiser=organiser, order_id=order_id)
    refund = _claim_tickets(order=order, ticket_ids=ticket_ids, requested_by=organiser)
    return _ask_stripe_and_apply(refund=refund, order=order, now=now, first_ask=True)


def refund_order_of_cancelled_event(*, order_id: int, now: datetime | None = None) -> Refund:
    """Refund every ticket an order still has because its event is cancelled: the site asks
    (the Refund has no ``requested_by``), otherwise as refund_tickets, with the same
    claims, key and answers. RefundRefused when nothing is left to claim (a rerun)."""
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    refund = _claim_tickets(order=order, ticket_ids=None, requested_by=None)
    return _ask_stripe_and_apply(refund=refund, order=order, now=now, first_ask=True)


def retry_refund(*, refund_id: int, organiser: User, now: datetime | None = None) -> Refund:
    """Ask again for a refund Stripe refused, as a new Refund for the same tickets.

    A new row, not the old one with a new key: a key names one Stripe refund for good, and
    each row keeps its own key and answer, so a late answer to an earlier ask can only
    ever land on the row that asked. The old row stays failed, with its reason, and points
    to its retry (one retry per failed refund, held by a unique constraint). Refused for a
    refund that failed after it had succeeded: its tickets were refunded and may have been
    sold again, so the buyer has to be paid by other means.
    """
    now = now or timezone.now()
    failed = (
        Refund.objects.select_related("order")
        .filter(pk=refund_id, order__ticket_type__event__organiser=organiser)
        .first()
    )
    if failed is None:
        raise NotFound("No such refund.")
    if failed.status != Status.FAILED or failed.failed_after_success:
        raise RefundRefused("Only a refund Stripe refused can be tried again.")
    ticket_ids = list(failed.refunded_tickets.values_list("ticket_id", flat=True))
    refund = _claim_tickets(
        order=failed.order, ticket_ids=ticket_ids, requested_by=organiser, retry_of=failed
    )
    return _ask_stripe_and_apply(refund=refund, order=failed.order, now=now, first_ask=True)


def settle_outside_refund(
    *,
    organiser: User,
    refund_id: int,
    ticket_ids: list[int],
    now: datetime | None = None,
) -> Refund:
    """The organiser's answer to a partial refund made in Stripe's dashboard: the tickets
    it covers (refunded, their places to the queue, the buyer told; no money moves, Stripe
    has returned it already), or none (``ticket_ids`` empty: the money stays a goodwill
    refund and the tickets valid). Either way the flag is cleared. The refund is found
    through its event's organiser (anyone else's: NotFound); RefundRefused once settled,
    or for tickets that are not valid, unclaimed tickets of its order."""
    now = now or timezone.now()
    found = (
        Refund.objects.select_related("order")
        .filter(pk=refund_id, order__ticket_type__event__organiser=organiser)
        .first()
    )
    if found is None:
        raise NotFound("No such refund.")
    with locked() as lock:
        rows = _lock(lock, found.pk, found.order)
        refund = rows.refund
        if not refund.needs_attention or refund.status != Status.SUCCEEDED:
            raise RefundRefused("This refund has been dealt with already.")
        tickets = _chosen_tickets(rows.order, ticket_ids) if ticket_ids else []
        RefundedTicket.objects.bulk_create(
            RefundedTicket(refund=refund, ticket=ticket) for ticket in tickets
        )
        refund.needs_attention = False
        refund.save(update_fields=["needs_attention", "updated_at"])
        refunded = _refund_its_tickets(rows, now=now) if tickets else []
        record_change(
            actor=organiser,
            action="refund.outside_settled",
            target=refund,
            before={"needs_attention": True},
            after={
                "needs_attention": False,
                "tickets": [ticket.pk for ticket in tickets],
                "tickets_refunded": refunded,
            },
        )
        if tickets:
            _email_buyer_after_commit(refund.pk)
    return refund


# --- what the job, the sweep and the webhook call -----------------------------------------


def ask_again(*, refund_id: int, now: datetime | None = None) -> Refund:
    """Ask Stripe again about a refund still requested (the job's retries, the sweep).

    First looks for a Stripe refund carrying this Refund's id (Stripe keeps idempotency
    keys for 24 hours only, so after that only the search keeps a late retry from
    refunding twice), and creates it with the same key only when there is none. A Stripe
    error that may pass is raised (stripe.StripeError) for the caller to retry.
    """
    now = now or timezone.now()
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    if refund.status != Status.REQUESTED:
        return refund
    return _ask_stripe_and_apply(refund=refund, order=refund.order, now=now, first_ask=False)


def apply_stripe_refund(*, stripe_refund: dict, now: datetime | None = None) -> Refund | None:
    """Bring the site's Refund in line with a Stripe refund (refund.updated, charge.refunded).

    Found by its Stripe id or the Refund id in its metadata; a refund made outside the site
    (in Stripe's dashboard) is recorded by record_outside_refund. Requested → succeeded or
    failed as Stripe says; succeeded but Stripe now says failed → failed and flagged for the
    organiser, the tickets staying refunded (their places may have been sold again).
    Idempotent.
    """
    now = now or timezone.now()
    refund = _refund_for(stripe_refund)
    if refund is None:
        return record_outside_refund(stripe_refund=stripe_refund, now=now)
    return _apply_answer(
        refund_pk=refund.pk, order=refund.order, stripe_refund=stripe_refund, now=now
    )


def record_outside_refund(*, stripe_refund: dict, now: datetime | None = None) -> Refund | None:
    """Record a refund made in Stripe's dashboard on the charge of one of our paid orders.

    The event's copy may be stale (events arrive out of order), so the refund is read
    again from Stripe first, with no lock held. Only a succeeded or pending one counts.
    Under the ticket type's and the order's locks: if with what the site has recorded
    (succeeded or requested refunds) it covers the rest of the order, it is recorded with
    the order's remaining tickets and applied as the site's own refunds are (tickets
    refunded, places to the queue, the buyer told); a smaller one is recorded as money only
    and flagged for the organiser, the tickets staying valid. Recorded once per Stripe
    refund id (looked up again under the lock, and held by a unique constraint). Returns
    the Refund, or None when the refund is not one to record.
    """
    now = now or timezone.now()
    stripe_id = stripe_refund.get("id")
    order = _order_paid_by(stripe_refund)
    if not isinstance(stripe_id, str) or order is None:
        logger.info("Stripe refund %s is not for an order of ours", stripe_id)
        return None
    if order.refund_id == stripe_id:
        return None  # the late-payment refund of this order, already recorded on it
    current = as_dict(
        client().v1.refunds.retrieve(stripe_id, options={"stripe_account": order.stripe_account_id})
    )
    if current.get("status") not in STRIPE_REFUNDED:
        logger.info("Outside refund %s is %s: not recorded", stripe_id, current.get("status"))
        return None
    amount = int(current.get("amount") or 0)
    with locked() as lock:
        rows = _lock_order(lock, order)
        existing = _refund_for(current)
        if existing is not None:
            return existing
        order = rows.order
        if order.status != Order.Status.FULFILLED or amount < 1:
            logger.warning("Outside refund %s on order %s not recorded", stripe_id, order.pk)
            return None
        recorded = (
            order.refunds.filter(status__in=[Status.REQUESTED, Status.SUCCEEDED]).aggregate(
                amount=Sum("amount_minor")
            )["amount"]
            or 0
        )
        whole = recorded + amount >= order.amount_minor
        tickets = refundable_tickets(order) if whole else []
        refund = Refund.objects.create(
            order=order,
            amount_minor=amount,
            # A dashboard refund may or may not return the platform fee; Stripe's refund
            # does not say, so none is counted here.
            application_fee_refunded_minor=0,
            currency=str(current.get("currency") or order.currency).upper(),
            origin=Refund.Origin.OUTSIDE,
            needs_attention=not tickets,
            stripe_refund_id=stripe_id,
        )
        RefundedTicket.objects.bulk_create(
            RefundedTicket(refund=refund, ticket=ticket) for ticket in tickets
        )
        record_change(
            actor=None,
            action="refund.outside",
            target=refund,
            after={
                "order": order.pk,
                "stripe_refund_id": stripe_id,
                "amount_minor": amount,
                "currency": refund.currency,
                "already_recorded_minor": recorded,
                "tickets": [ticket.pk for ticket in tickets],
            },
        )
        if tickets:
            # The same path as the site's own refunds: tickets, order, queue, e-mail.
            _succeed(_Locked(rows.ticket_type, order, refund), stripe_refund_id=stripe_id, now=now)
        else:
            refund.status, refund.settled_at = Status.SUCCEEDED, now
            refund.save(update_fields=["status", "settled_at", "updated_at"])
    return refund


def record_outside_refunds_of_order(*, order_id: int, amount_refunded: int) -> None:
    """charge.refunded names no refund: when Stripe has refunded more of the order's charge
    than the site has recorded, its refunds are listed (no lock held) and each the site
    does not know is recorded as made outside (once: record_outside_refund is idempotent)."""
    order = Order.objects.get(pk=order_id)
    recorded = (
        order.refunds.filter(status__in=[Status.REQUESTED, Status.SUCCEEDED]).aggregate(
            amount=Sum("amount_minor")
        )["amount"]
        or 0
    )
    if amount_refunded <= recorded:
        return
    listed = client().v1.refunds.list(
        params={"payment_intent": order.payment_intent_id, "limit": 100},
        options={"stripe_account": order.stripe_account_id},
    )
    for stripe_refund in listed.data:
        found = as_dict(stripe_refund)
        if _refund_for(found) is None:
            record_outside_refund(stripe_refund=found)


def _order_paid_by(stripe_refund: dict) -> Order | None:
    payment_intent = stripe_refund.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if not (isinstance(payment_intent, str) and payment_intent):
        return None
    return Order.objects.filter(payment_intent_id=payment_intent).first()


# --- step 1: claim ------------------------------------------------------------------------


def _order_of_organiser(*, organiser: User, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id, ticket_type__event__organiser=organiser).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def _claim_tickets(
    *,
    order: Order,
    ticket_ids: list[int] | None,
    requested_by: User | None,
    retry_of: Refund | None = None,
) -> Refund:
    with locked() as lock:
        lock_ticket_types([order.ticket_type_id])
        order = lock.rows(Order.objects.all(), [order.pk])[order.pk]
        if order.status != Order.Status.FULFILLED or not order.payment_intent_id:
            raise RefundRefused("Only the tickets of a paid order can be refunded.")
        if retry_of is not None and Refund.objects.filter(retry_of=retry_of).exists():
            raise RefundRefused("This refund has been tried again already.")
        tickets = _chosen_tickets(order, ticket_ids)
        amount = sum(ticket.amount_minor for ticket in tickets)
        if amount < 1:
            raise RefundRefused("There is nothing to refund for these tickets.")
        refund = Refund.objects.create(
            order=order,
            amount_minor=amount,
            application_fee_refunded_minor=_fee_share(order, amount),
            currency=order.currency,
            requested_by=requested_by,
            retry_of=retry_of,
        )
        refund.idempotency_key = f"tickethub-refund-{refund.pk}"
        refund.save(update_fields=["idempotency_key"])
        RefundedTicket.objects.bulk_create(
            RefundedTicket(refund=refund, ticket=ticket) for ticket in tickets
        )
        record_change(
            actor=requested_by,
            action="refund.requested",
            target=refund,
            after={
                "order": order.pk,
                "tickets": [ticket.pk for ticket in tickets],
                "amount_minor": amount,
                "application_fee_refunded_minor": refund.application_fee_refunded_minor,
                "currency": refund.currency,
                "retry_of": retry_of.pk if retry_of else None,
            },
        )
    return refund


def _chosen_tickets(order: Order, ticket_ids: list[int] | None) -> list[Ticket]:
    refundable = refundable_tickets(order)
    if ticket_ids is None:
        if not refundable:
            raise RefundRefused("This order has no ticket left to refund.")
        return refundable
    wanted = set(ticket_ids)
    chosen = [ticket for ticket in refundable if ticket.pk in wanted]
    if not wanted or len(chosen) != len(wanted):
        raise RefundRefused(
            "These tickets cannot be refunded: each must be a valid ticket of this order "
            "that is not refunded, used, or being refunded already."
        )
    return chosen


def _fee_share(order: Order, amount: int) -> int:
    """The platform fee refunded with ``amount``: fee × amount / order amount, rounded down,
    and what is left of the fee when this refund completes the order, so the refunds of an
    order never return more than its fee (and match Stripe's own share for
    refund_application_fee: proportional, the remainder on the refund that empties the
    charge)."""
    earlier = order.refunds.filter(
        Q(status__in=[Status.REQUESTED, Status.SUCCEEDED]) | Q(failed_after_success=True)
    ).aggregate(amount=Sum("amount_minor"), fee=Sum("application_fee_refunded_minor"))
    fee_left = order.application_fee_minor - (earlier["fee"] or 0)
    if (earlier["amount"] or 0) + amount >= order.amount_minor:
        return max(fee_left, 0)
    return max(min(order.application_fee_minor * amount // order.amount_minor, fee_left), 0)


# --- step 2: ask Stripe (no lock, no transaction) -----------------------------------------


def _ask_stripe_and_apply(
    *, refund: Refund, order: Order, now: datetime, first_ask: bool
) -> Refund:
    try:
        found = None if first_ask else _find_at_stripe(refund, order)
        stripe_refund = found or _create_at_stripe(refund, order)
    except stripe.StripeError as error:
        if not is_transient_stripe_error(error):
            return _fail(refund_pk=refund.pk, order=order, reason=_reason(error), now=now)
        logger.warning("Refund %s: Stripe did not answer, asking again later: %s", refund.pk, error)
        if first_ask:
            _ask_again_later(refund.pk)
            refund.refresh_from_db()
            return refund
        raise
    return _apply_answer(refund_pk=refund.pk, order=order, stripe_refund=stripe_refund, now=now)


def _create_at_stripe(refund: Refund, order: Order) -> dict:
    created = client().v1.refunds.create(
        params={
            "payment_intent": order.payment_intent_id,
            "amount": refund.amount_minor,
            # Stripe returns the same share of the fee; _fee_share records what it returns.
            "refund_application_fee": True,
            "reason": "requested_by_customer",
            "metadata": {METADATA_REFUND_ID: str(refund.pk), "order_id": str(order.pk)},
        },
        options={
            "stripe_account": order.stripe_account_id,
            "idempotency_key": refund.idempotency_key or f"tickethub-refund-{refund.pk}",
        },
    )
    return as_dict(created)


def _find_at_stripe(refund: Refund, order: Order) -> dict | None:
    listed = client().v1.refunds.list(
        params={"payment_intent": order.payment_intent_id, "limit": 100},
        options={"stripe_account": order.stripe_account_id},
    )
    for stripe_refund in listed.data:
        found = as_dict(stripe_refund)
        if (found.get("metadata") or {}).get(METADATA_REFUND_ID) == str(refund.pk):
            return found
    return None


def _reason(error: stripe.StripeError) -> str:
    return (error.user_message or str(error) or type(error).__name__)[:2000]


def _ask_again_later(refund_id: int) -> None:
    from payments import tasks

    tasks.ask_stripe_about_refund_again.schedule((refund_id,), delay=tasks.REFUND_RETRY_DELAY)


# --- step 3: apply the answer -------------------------------------------------------------


@dataclass
class _Locked:
    ticket_type: TicketType
    order: Order
    refund: Refund


@dataclass
class _LockedOrder:
    ticket_type: TicketType
    order: Order


def _lock_order(lock: Lock, order: Order) -> _LockedOrder:
    ticket_type = lock_ticket_types([order.ticket_type_id])[order.ticket_type_id]
    locked_order = lock.rows(Order.objects.select_related("buyer"), [order.pk])[order.pk]
    return _LockedOrder(ticket_type, locked_order)


def _lock(lock: Lock, refund_pk: int, order: Order) -> _Locked:
    rows = _lock_order(lock, order)
    # Every writer of an order's refunds holds the order's lock: the row is current.
    refund = Refund.objects.get(pk=refund_pk)
    return _Locked(rows.ticket_type, rows.order, refund)


def _apply_answer(*, refund_pk: int, order: Order, stripe_refund: dict, now: datetime) -> Refund:
    status = stripe_refund.get("status")
    with locked() as lock:
        rows = _lock(lock, refund_pk, order)
        refund = rows.refund
        if refund.status == Status.REQUESTED and status in STRIPE_REFUNDED:
            _succeed(rows, stripe_refund_id=stripe_refund["id"], now=now)
        elif refund.status == Status.REQUESTED and status in STRIPE_NOT_REFUNDED:
            refund.stripe_refund_id = stripe_refund["id"]
            _mark_failed(refund, reason=_stripe_failure(stripe_refund), now=now)
        elif refund.status == Status.SUCCEEDED and status in STRIPE_NOT_REFUNDED:
            _mark_failed_after_success(refund, reason=_stripe_failure(stripe_refund), now=now)
        elif refund.status == Status.REQUESTED and not refund.stripe_refund_id:
            # requires_action: Stripe holds it; its refund.updated (or the sweep) settles it.
            refund.stripe_refund_id = stripe_refund["id"]
            refund.save(update_fields=["stripe_refund_id", "updated_at"])
    return refund


def _succeed(rows: _Locked, *, stripe_refund_id: str, now: datetime) -> None:
    refund, order = rows.refund, rows.order
    refund.status, refund.stripe_refund_id, refund.settled_at = (
        Status.SUCCEEDED,
        stripe_refund_id,
        now,
    )
    refund.save(update_fields=["status", "stripe_refund_id", "settled_at", "updated_at"])
    sold_before = rows.ticket_type.sold_count
    refunded = _refund_its_tickets(rows, now=now)
    record_change(
        actor=refund.requested_by,
        action="refund.succeeded",
        target=refund,
        before={"status": Status.REQUESTED, "sold_count": sold_before},
        after={
            "status": Status.SUCCEEDED,
            "stripe_refund_id": stripe_refund_id,
            "tickets_refunded": refunded,
            "order_status": order.status,
        },
    )
    _email_buyer_after_commit(refund.pk)
    if rows.ticket_type.event.is_cancelled:
        _cancellation_moved_after_commit(rows.ticket_type.event_id)


def _refund_its_tickets(rows: _Locked, *, now: datetime) -> list[int]:
    """The refund's tickets become refunded and their places free; the order is refunded
    once it has no valid or used ticket left. Returns the tickets refunded."""
    order = rows.order
    ticket_ids = list(rows.refund.refunded_tickets.values_list("ticket_id", flat=True))
    refunded = mark_refunded(ticket_ids=ticket_ids, ticket_type=rows.ticket_type)
    if not order_tickets(order_id=order.pk).filter(
        status__in=[Ticket.Status.VALID, Ticket.Status.USED]
    ):
        order.status, order.refunded_at = Order.Status.REFUNDED, now
        order.save(update_fields=["status", "refunded_at"])
    # The freed places go to the next in line in this same transaction (the type's lock
    # is reused), so nobody outside the queue can take them first.
    serve_queue(ticket_type=rows.ticket_type, now=now)
    return refunded


def _mark_failed(refund: Refund, *, reason: str, now: datetime) -> None:
    refund.status, refund.failure_reason, refund.settled_at = Status.FAILED, reason, now
    refund.save()
    # Nothing was refunded: the tickets stay valid, and may be refunded again.
    refund.refunded_tickets.update(claims_ticket=False)
    record_change(
        actor=refund.requested_by,
        action="refund.failed",
        target=refund,
        before={"status": Status.REQUESTED},
        after={"status": Status.FAILED, "failure_reason": reason},
    )


def _mark_failed_after_success(refund: Refund, *, reason: str, now: datetime) -> None:
    refund.status, refund.failed_after_success = Status.FAILED, True
    refund.failure_reason, refund.settled_at = reason, now
    refund.save()
    # The tickets stay refunded: their places may already be someone else's. The buyer is
    # owed the money by other means; the flag shows it to the organiser.
    record_change(
        actor=None,
        action="refund.failed",
        target=refund,
        before={"status": Status.SUCCEEDED},
        after={"status": Status.FAILED, "failure_reason": reason, "after_success": True},
    )


def _fail(*, refund_pk: int, order: Order, reason: str, now: datetime) -> Refund:
    with locked() as lock:
        rows = _lock(lock, refund_pk, order)
        if rows.refund.status == Status.REQUESTED:
            _mark_failed(rows.refund, reason=reason, now=now)
    return rows.refund


def _stripe_failure(stripe_refund: dict) -> str:
    reason = stripe_refund.get("failure_reason") or stripe_refund.get("status") or "failed"
    return f"Stripe could not return the money ({reason})."


def _refund_for(stripe_refund: dict) -> Refund | None:
    refunds = Refund.objects.select_related("order")
    stripe_id = stripe_refund.get("id")
    if isinstance(stripe_id, str) and stripe_id:
        refund = refunds.filter(stripe_refund_id=stripe_id).first()
        if refund is not None:
            return refund
    metadata: Any = stripe_refund.get("metadata") or {}
    refund_id = metadata.get(METADATA_REFUND_ID) if isinstance(metadata, dict) else None
    if not (isinstance(refund_id, str) and refund_id.isdigit()):
        return None
    # Metadata can be typed into Stripe's dashboard: only a refund of the same payment
    # counts, so no one can settle another order's refund by naming it.
    payment_intent = stripe_refund.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    return refunds.filter(pk=int(refund_id), order__payment_intent_id=payment_intent or "-").first()


def _cancellation_moved_after_commit(event_id: int) -> None:
    """A refund of a cancelled event landed: its progress page refreshes, and the event
    becomes cancelled once no valid ticket is left (a job: it locks every ticket type of
    the event, which cannot be done under this order's lock)."""
    from payments import tasks

    live.publish(topic=live.event_topic(event_id), kind="cancellation")
    transaction.on_commit(lambda: tasks.finish_cancellation_task(event_id))


def _email_buyer_after_commit(refund_id: int) -> None:
    from payments import tasks

    transaction.on_commit(lambda: tasks.send_refund_email(refund_id))
