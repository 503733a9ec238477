"""Cancelling an event: one click takes it off sale, closes its queues and refunds everyone.

Starts here, in payments, the highest app involved. Three steps:
1. ``cancel_event`` (one transaction, ticket types' then the event's locks): the event
   becomes CANCELLING (off sale, the queue makes no offers), live offers are withdrawn and
   waiting entries closed (waitlist), tickets nobody paid for are cancelled (tickets);
   after the commit the refund job is queued and the e-mails go out.
2. ``refund_cancelled_event`` (the job): each paid order's remaining valid tickets are
   refunded through the single-refund path (refunds.py), one order at a time with no lock
   held over Stripe; a Stripe that does not answer (rate limit, 5xx) leaves that refund
   requested for its own retries and pauses the pass, which the job resumes later. A
   rerun skips tickets a refund already claims, and each Refund keeps its own key, so no
   order is refunded twice.
3. ``finish_cancellation``: once no valid ticket is left, the event is CANCELLED. Called
   at the end of each pass and after every refund of the event lands (even one that
   needed the sweep).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from events.locks import lock_ticket_types_of_event
from events.models import Event
from events.selectors import organiser_event
from events.services import mark_event_cancelled, mark_event_cancelling
from payments.models import Order, Refund, RefundedTicket
from payments.services.refunds import RefundRefused, refund_order_of_cancelled_event
from tickethub.errors import DomainError
from tickethub.locks import locked
from tickets.models import Ticket
from tickets.services import cancel_unpaid_tickets
from waitlist import live
from waitlist.models import WaitingListEntry
from waitlist.services import close_queue_of_event

ENTRY = WaitingListEntry.Status


class CancellationRefused(DomainError):
    status = 409


@dataclass(frozen=True)
class CancellationPreview:
    """What cancelling the event will do, for the organiser to confirm."""

    event: Event
    orders_to_refund: int
    tickets_to_refund: int
    refund_totals: dict[str, int]  # currency → minor units
    free_tickets_to_cancel: int
    free_ticket_holders: int
    offers_to_withdraw: int
    entries_to_close: int

    @property
    def emails_to_send(self) -> int:
        # One refund e-mail per paid order, one "cancelled" e-mail per holder of free
        # tickets and per live entry.
        return (
            self.orders_to_refund
            + self.free_ticket_holders
            + self.offers_to_withdraw
            + self.entries_to_close
        )


@dataclass(frozen=True)
class FailedRefund:
    refund: Refund
    buyer_email: str


@dataclass(frozen=True)
class CancellationProgress:
    event: Event
    tickets_refunded: int
    tickets_remaining: int
    refunds_in_flight: int
    refunded_totals: dict[str, int]  # currency → minor units
    failed: list[FailedRefund] = field(default_factory=list)

    @property
    def tickets_total(self) -> int:
        return self.tickets_refunded + self.tickets_remaining


@dataclass
class CancellationPass:
    """One pass of the refund job: the refunds it settled, and whether Stripe made it stop
    early (then the job runs again later)."""

    refunded_orders: list[int] = field(default_factory=list)
    failed_orders: list[int] = field(default_factory=list)
    paused: bool = False
    finished: bool = False


def _unclaimed_paid_tickets(event_id: int) -> QuerySet[Ticket]:
    claimed = RefundedTicket.objects.filter(
        claims_ticket=True, ticket__ticket_type__event_id=event_id
    ).values("ticket_id")
    return Ticket.objects.filter(
        ticket_type__event_id=event_id,
        status=Ticket.Status.VALID,
        order__status=Order.Status.FULFILLED,
    ).exclude(pk__in=claimed)


def cancellation_preview(*, organiser: User, event_id: int) -> CancellationPreview:
    """What cancel_event would do now (a read; the organiser's own event, else NotFound)."""
    event = organiser_event(organiser=organiser, event_id=event_id)
    to_refund = _unclaimed_paid_tickets(event.pk)
    totals = {
        row["currency"]: row["total"]
        for row in to_refund.order_by()
        .values("currency")
        .annotate(total=Sum("amount_minor"))
        .order_by("currency")
    }
    entries = WaitingListEntry.objects.filter(ticket_type__event=event)
    free = Ticket.objects.filter(
        ticket_type__event=event, status=Ticket.Status.VALID, order__isnull=True
    )
    return CancellationPreview(
        event=event,
        orders_to_refund=to_refund.order_by().values("order_id").distinct().count(),
        tickets_to_refund=to_refund.count(),
        refund_totals=totals,
        free_tickets_to_cancel=free.count(),
        free_ticket_holders=free.order_by().values("owner_id").distinct().count(),
        offers_to_withdraw=entries.filter(status=ENTRY.OFFERED).count(),
        entries_to_close=entries.filter(status=ENTRY.WAITING).count(),
    )


def cancel_event(*, organiser: User, event_id: int, now: datetime | None = None) -> Event:
    """Cancel the organiser's event (another's: NotFound) and start refunding everyone.

    Under the event's ticket types' locks, then the event's: live offers withdrawn and
    their places released (an offer's open checkout is closed at Stripe after the commit),
    waiting entries closed, free tickets cancelled, the event CANCELLING (audited as
    ``event.cancelling``). After the commit: the refund job, the e-mails, live updates.
    Idempotent: a second call changes nothing more and queues the job again (harmless:
    it skips what is claimed). A draft is refused (unpublish or delete it instead)."""
    now = now or timezone.now()
    event = organiser_event(organiser=organiser, event_id=event_id)
    if event.status == Event.Status.DRAFT:
        raise CancellationRefused("A draft is not on sale: there is nothing to cancel.")
    with locked():
        ticket_types = lock_ticket_types_of_event(event.pk)
        close_queue_of_event(event_id=event.pk, now=now)
        cancelled_ids: list[int] = []
        for ticket_type in ticket_types.values():
            cancelled_ids += cancel_unpaid_tickets(ticket_type=ticket_type)
        _tell_free_ticket_holders_after_commit(event.pk, cancelled_ids)
        event, _changed = mark_event_cancelling(event_id=event.pk, actor=organiser)
        live.publish(topic=live.event_topic(event.pk), kind="cancellation")
        _refund_after_commit(event.pk)
    return event


def refund_cancelled_event(*, event_id: int, now: datetime | None = None) -> CancellationPass:
    """Refund every paid order of a cancelled event that still has valid tickets no refund
    claims, one order at a time, then try to finish the cancellation.

    Stops early (``paused``) when Stripe does not answer a refund (rate limited, 5xx,
    unreachable): that refund stays requested for its own back-off retries and the sweep,
    and the caller runs the pass again later. Safe to run twice or after a crash: claimed
    tickets are skipped, and a claim the database refuses (two passes at once) is skipped."""
    run = CancellationPass()
    if not Event.objects.filter(pk=event_id, status=Event.Status.CANCELLING).exists():
        return run
    order_ids = list(
        _unclaimed_paid_tickets(event_id)
        .order_by("order_id")
        .values_list("order_id", flat=True)
        .distinct()
    )
    for order_id in order_ids:
        try:
            refund = refund_order_of_cancelled_event(order_id=order_id, now=now)
        except RefundRefused:
            continue  # claimed by another pass meanwhile
        if refund.status == Refund.Status.SUCCEEDED:
            run.refunded_orders.append(order_id)
        elif refund.status == Refund.Status.FAILED:
            run.failed_orders.append(order_id)
        else:
            run.paused = True
            break
    run.finished = finish_cancellation(event_id=event_id)
    return run


def finish_cancellation(*, event_id: int) -> bool:
    """Under the event's ticket types' and event's locks: a cancelling event with no valid
    ticket left becomes CANCELLED (audited). Idempotent; True when it is cancelled."""
    status = Event.objects.filter(pk=event_id).values_list("status", flat=True).first()
    if status != Event.Status.CANCELLING:
        return status == Event.Status.CANCELLED
    with locked():
        lock_ticket_types_of_event(event_id)
        if Ticket.objects.filter(
            ticket_type__event_id=event_id, status=Ticket.Status.VALID
        ).exists():
            return False
        if mark_event_cancelled(event_id=event_id):
            live.publish(topic=live.event_topic(event_id), kind="cancellation")
    return True


def cancelling_event_ids() -> list[int]:
    """Events whose refunds are still under way (the periodic resume)."""
    return list(Event.objects.filter(status=Event.Status.CANCELLING).values_list("pk", flat=True))


def cancellation_progress(*, organiser: User, event_id: int) -> CancellationProgress:
    """How far the refunds of the organiser's cancelled event have come (another's:
    NotFound): paid tickets refunded and still valid, refunds Stripe has not answered yet,
    money refunded per currency, and refunds Stripe refused that have not been retried."""
    event = organiser_event(organiser=organiser, event_id=event_id)
    counts = dict(
        Ticket.objects.filter(ticket_type__event=event, order__isnull=False)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    refunds = Refund.objects.filter(order__ticket_type__event=event)
    totals: dict[str, int] = defaultdict(int)
    for currency, amount in refunds.filter(status=Refund.Status.SUCCEEDED).values_list(
        "currency", "amount_minor"
    ):
        totals[currency] += amount
    failed = [
        FailedRefund(refund=refund, buyer_email=refund.order.buyer.email)
        for refund in refunds.filter(
            status=Refund.Status.FAILED, failed_after_success=False, retried_by__isnull=True
        )
        .select_related("order__buyer")
        .order_by("pk")
    ]
    return CancellationProgress(
        event=event,
        tickets_refunded=counts.get(Ticket.Status.REFUNDED, 0),
        tickets_remaining=counts.get(Ticket.Status.VALID, 0),
        refunds_in_flight=refunds.filter(status=Refund.Status.REQUESTED).count(),
        refunded_totals=dict(sorted(totals.items())),
        failed=failed,
    )


def _tell_free_ticket_holders_after_commit(event_id: int, ticket_ids: list[int]) -> None:
    from payments import tasks

    owner_ids = sorted(
        set(Ticket.objects.filter(pk__in=ticket_ids).values_list("owner_id", flat=True))
    )

    def tell() -> None:
        for owner_id in owner_ids:
            tasks.send_tickets_cancelled_email(event_id, owner_id)

    transaction.on_commit(tell)


def _refund_after_commit(event_id: int) -> None:
    from payments import tasks

    transaction.on_commit(lambda: tasks.refund_cancelled_event_task(event_id))
