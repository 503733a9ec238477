"""Reads of the waiting list: queue positions, what each ticket type offers a buyer right
now, a buyer's entries, and an organiser's queue figures."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from events.models import Event, TicketType
from events.sale import SaleState
from events.selectors import Availability, seller_can_take_payments, ticket_type_availability
from tickets.models import Ticket
from waitlist import live
from waitlist.models import LIVE_STATUSES, QueueBlock, QueueState, WaitingListEntry

Status = WaitingListEntry.Status


@dataclass(frozen=True)
class QueuePosition:
    entries_ahead: int
    tickets_ahead: int


def queue_position(entry: WaitingListEntry) -> QueuePosition:
    """Waiting entries (and their tickets) ahead of a waiting entry, exactly.

    One statement whatever the queue's length: whole blocks ahead are summed from
    QueueBlock (at most queue length / BLOCK_SIZE rows), the entry's own block is counted
    through the (ticket type, status, sequence) index. Written as SQL because on the
    request path the ORM's compiling of two aggregates cost more than running them.
    """
    return queue_positions([entry])[entry.pk]


# SQLite refuses a compound SELECT of more than 500 parts (SQLITE_MAX_COMPOUND_SELECT).
POSITIONS_PER_STATEMENT = 250


def queue_positions(entries: Sequence[WaitingListEntry]) -> dict[int, QueuePosition]:
    """queue_position of each waiting entry, by entry id, in one statement for a page's
    worth of entries (none for no entries), so a page never takes a query per entry: one
    queue_position statement per entry, joined by UNION ALL."""
    positions: dict[int, QueuePosition] = {}
    for start in range(0, len(entries), POSITIONS_PER_STATEMENT):
        chunk = entries[start : start + POSITIONS_PER_STATEMENT]
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join([_POSITION_SQL] * len(chunk)),
                [value for entry in chunk for value in _position_parameters(entry)],
            )
            for entry_id, entries_ahead, tickets_ahead in cursor.fetchall():
                positions[int(entry_id)] = QueuePosition(int(entries_ahead), int(tickets_ahead))
    return positions


_POSITION_SQL = (
    "SELECT %s, whole.entries + partial.entries, whole.tickets + partial.tickets FROM"  # noqa: S608
    " (SELECT COALESCE(SUM(waiting_entries), 0) AS entries,"
    "  COALESCE(SUM(waiting_tickets), 0) AS tickets"
    f"  FROM {QueueBlock._meta.db_table} WHERE ticket_type_id = %s AND block < %s) AS whole,"
    " (SELECT COUNT(*) AS entries, COALESCE(SUM(quantity), 0) AS tickets"
    f"  FROM {WaitingListEntry._meta.db_table} WHERE ticket_type_id = %s AND status = %s"
    "  AND sequence >= %s AND sequence < %s) AS partial"
)


def _position_parameters(entry: WaitingListEntry) -> list:
    block = entry.sequence // QueueBlock.BLOCK_SIZE
    return [
        entry.pk,
        entry.ticket_type_id,
        block,
        entry.ticket_type_id,
        Status.WAITING.value,
        block * QueueBlock.BLOCK_SIZE,
        entry.sequence,
    ]


def is_live_offer(entry: WaitingListEntry, now: datetime | None = None) -> bool:
    """An offer past its expiry is not live, whether or not a job has expired it yet."""
    now = now or timezone.now()
    return (
        entry.status == Status.OFFERED and entry.expires_at is not None and entry.expires_at > now
    )


@dataclass(frozen=True)
class BuyerState:
    """The viewer's own standing for one ticket type."""

    entry: WaitingListEntry | None
    position: QueuePosition | None
    tickets_held: int

    @property
    def is_waiting(self) -> bool:
        return self.entry is not None and self.entry.status == Status.WAITING

    @property
    def has_offer(self) -> bool:
        return self.entry is not None and is_live_offer(self.entry)


@dataclass(frozen=True)
class TicketTypeOffer:
    """Everything a page shows about one ticket type, from one place."""

    availability: Availability
    waiting_entries: int
    buyer: BuyerState | None

    @property
    def ticket_type(self) -> TicketType:
        return self.availability.ticket_type

    @property
    def state(self) -> SaleState:
        return self.availability.state

    @property
    def can_join(self) -> bool:
        return self.state.allows_joining


def event_offers(*, event: Event, viewer: User | AnonymousUser | None) -> list[TicketTypeOffer]:
    """Availability of every ticket type of an event, with the queue and the viewer's own
    entries and tickets. A fixed number of queries whatever the number of types."""
    now = timezone.now()
    ticket_types = list(event.ticket_types.all())
    ids = [ticket_type.pk for ticket_type in ticket_types]
    waiting = dict(
        QueueState.objects.filter(ticket_type_id__in=ids).values_list(
            "ticket_type_id", "waiting_entries"
        )
    )
    overdue = dict(
        WaitingListEntry.objects.filter(
            ticket_type_id__in=ids, status=Status.OFFERED, expires_at__lte=now
        )
        .values("ticket_type_id")
        .annotate(quantity=Sum("quantity"))
        .values_list("ticket_type_id", "quantity")
    )
    entries: dict[int, WaitingListEntry] = {}
    positions: dict[int, QueuePosition] = {}
    held: dict[int, int] = {}
    if viewer is not None and viewer.is_authenticated:
        entries = {
            entry.ticket_type_id: entry
            for entry in WaitingListEntry.objects.filter(
                user=viewer, ticket_type_id__in=ids, status__in=LIVE_STATUSES
            )
        }
        positions = queue_positions(
            [entry for entry in entries.values() if entry.status == Status.WAITING]
        )
        held = dict(
            Ticket.objects.filter(
                owner=viewer,
                ticket_type_id__in=ids,
                status__in=[Ticket.Status.VALID, Ticket.Status.USED],
            )
            .values("ticket_type_id")
            .annotate(count=Count("pk"))
            .values_list("ticket_type_id", "count")
        )
    payments_ready = seller_can_take_payments(organiser_id=event.organiser_id)
    offers = []
    for ticket_type in ticket_types:
        # Places held by offers already past their expiry are free in all but bookkeeping.
        ticket_type.held_count -= overdue.get(ticket_type.pk, 0)
        queue_length = waiting.get(ticket_type.pk, 0)
        availability = ticket_type_availability(
            ticket_type,
            event=event,
            payments_ready=payments_ready,
            now=now,
            queue_waiting=queue_length,
        )
        buyer = None
        if viewer is not None and viewer.is_authenticated:
            entry = entries.get(ticket_type.pk)
            buyer = BuyerState(
                entry=entry,
                position=positions.get(entry.pk) if entry else None,
                tickets_held=held.get(ticket_type.pk, 0),
            )
        offers.append(TicketTypeOffer(availability, queue_length, buyer))
    return offers


def entries_of(*, user: User) -> QuerySet[WaitingListEntry]:
    """A buyer's entries, live ones (waiting or offered) first, newest first within each."""
    is_live = Case(When(status__in=LIVE_STATUSES, then=Value(0)), default=Value(1))
    return (
        WaitingListEntry.objects.filter(user=user)
        .select_related("ticket_type__event")
        .order_by(is_live, "-created_at", "-pk")
    )


@dataclass(frozen=True)
class QueueFigures:
    ticket_type: TicketType
    waiting_entries: int
    waiting_tickets: int
    live_offers: int
    held_tickets: int
    purchased: int
    expired: int
    declined: int
    left: int


def organiser_queue_figures(*, event: Event) -> list[QueueFigures]:
    """Per ticket type: who waits, what is on offer, and how entries ended."""
    now = timezone.now()
    live_offer = Q(status=Status.OFFERED, expires_at__gt=now)
    rows = {
        row["ticket_type_id"]: row
        for row in WaitingListEntry.objects.filter(ticket_type__event=event)
        .values("ticket_type_id")
        .annotate(
            live_offers=Count("pk", filter=live_offer),
            held_tickets=Sum("quantity", filter=live_offer),
            purchased=Count("pk", filter=Q(status=Status.PURCHASED)),
            expired=Count(
                "pk",
                filter=Q(status=Status.EXPIRED) | Q(status=Status.OFFERED, expires_at__lte=now),
            ),
            declined=Count("pk", filter=Q(status=Status.DECLINED)),
            left=Count("pk", filter=Q(status=Status.LEFT)),
        )
    }
    states = {
        state.ticket_type_id: state for state in QueueState.objects.filter(ticket_type__event=event)
    }
    figures = []
    for ticket_type in event.ticket_types.all():
        row: Mapping[str, Any] = rows.get(ticket_type.pk, {})
        state = states.get(ticket_type.pk)
        figures.append(
            QueueFigures(
                ticket_type=ticket_type,
                waiting_entries=state.waiting_entries if state else 0,
                waiting_tickets=state.waiting_tickets if state else 0,
                live_offers=row.get("live_offers", 0),
                held_tickets=row.get("held_tickets") or 0,
                purchased=row.get("purchased", 0),
                expired=row.get("expired", 0),
                declined=row.get("declined", 0),
                left=row.get("left", 0),
            )
        )
    return figures


def live_token_for_event(*, event: Event) -> str:
    """The signed public topics an event page listens to (the viewer's own entries come to
    the stream from their session, not from the URL)."""
    return live.stream_token(topics=[live.event_topic(event.pk)])


def live_token_for_buyer(*, user: User) -> str:
    """The public topics "My queue" listens to: the events the buyer waits for (their own
    entries come to the stream from their session, not from the URL)."""
    event_ids = (
        WaitingListEntry.objects.filter(user=user, status__in=LIVE_STATUSES)
        .values_list("ticket_type__event_id", flat=True)
        .distinct()
    )
    return live.stream_token(topics=[live.event_topic(pk) for pk in event_ids])
