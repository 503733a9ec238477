"""The golden rule and the queue's bookkeeping, recomputed from the rows themselves.

Each check returns a list of broken promises (empty when all hold), so a failing test
says which invariant broke and by how much.
"""

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count

from events.models import TicketType
from tickets.models import Ticket
from tickets.selectors import COUNTED_STATUSES
from waitlist.models import QueueBlock, QueueState, WaitingListEntry

Status = WaitingListEntry.Status


def broken_invariants(ticket_type_id: int) -> list[str]:
    """What must hold after every commit, whatever was killed in between; read from one
    snapshot, so a commit landing meanwhile (a killed client's last) cannot split it."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _broken_in_snapshot(ticket_type_id)


def _broken_in_snapshot(ticket_type_id: int) -> list[str]:
    ticket_type = TicketType.objects.get(pk=ticket_type_id)
    entries = list(WaitingListEntry.objects.filter(ticket_type_id=ticket_type_id))
    entries.sort(key=lambda entry: entry.sequence)
    offered = [entry for entry in entries if entry.status == Status.OFFERED]
    waiting = [entry for entry in entries if entry.status == Status.WAITING]
    issued = Ticket.objects.filter(
        ticket_type_id=ticket_type_id, status__in=COUNTED_STATUSES
    ).count()
    held = sum(entry.quantity for entry in offered)
    name = f"ticket type {ticket_type_id}"
    broken = []
    if issued + held > ticket_type.capacity:
        broken.append(f"{name}: {issued} issued + {held} held > capacity {ticket_type.capacity}")
    if ticket_type.sold_count != issued:
        broken.append(f"{name}: sold_count {ticket_type.sold_count} but {issued} tickets")
    if ticket_type.held_count != held:
        broken.append(f"{name}: held_count {ticket_type.held_count} but offers hold {held}")
    broken += _tickets_match_purchases(name, entries)
    broken += _queue_totals_match(name, ticket_type_id, entries, waiting)
    served = [entry.sequence for entry in entries if entry.offered_at is not None]
    if waiting and served and max(served) > waiting[0].sequence:
        broken.append(
            f"{name}: #{waiting[0].sequence} still waits but #{max(served)} behind it was served"
        )
    remaining = ticket_type.capacity - issued - held
    if waiting and waiting[0].quantity <= remaining:
        broken.append(
            f"{name}: {remaining} places free but #{waiting[0].sequence} "
            f"(×{waiting[0].quantity}) at the head of the queue has no offer"
        )
    return broken


def _tickets_match_purchases(name: str, entries: list[WaitingListEntry]) -> list[str]:
    tickets_per_entry = dict(
        Ticket.objects.filter(entry__in=[entry.pk for entry in entries])
        .values_list("entry")
        .annotate(count=Count("pk"))
    )
    broken = []
    for entry in entries:
        expected = entry.quantity if entry.status == Status.PURCHASED else 0
        if tickets_per_entry.get(entry.pk, 0) != expected:
            broken.append(
                f"{name}: entry #{entry.sequence} ({entry.status}, ×{entry.quantity}) has "
                f"{tickets_per_entry.get(entry.pk, 0)} tickets"
            )
    return broken


def _queue_totals_match(
    name: str, ticket_type_id: int, entries: list, waiting: list[WaitingListEntry]
) -> list[str]:
    state = QueueState.objects.filter(ticket_type_id=ticket_type_id).first()
    if state is None:
        return [f"{name}: entries but no queue state"] if entries else []
    broken = []
    actual = (len(waiting), sum(entry.quantity for entry in waiting))
    if (state.waiting_entries, state.waiting_tickets) != actual:
        broken.append(
            f"{name}: queue state counts {(state.waiting_entries, state.waiting_tickets)} "
            f"waiting (entries, tickets) but {actual} wait"
        )
    last = max((entry.sequence for entry in entries), default=0)
    if state.last_sequence != last:
        broken.append(f"{name}: last_sequence {state.last_sequence} but the last entry is #{last}")
    actual_blocks: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for entry in waiting:
        actual_blocks[entry.sequence // QueueBlock.BLOCK_SIZE][0] += 1
        actual_blocks[entry.sequence // QueueBlock.BLOCK_SIZE][1] += entry.quantity
    counted_blocks = {
        block.block: [block.waiting_entries, block.waiting_tickets]
        for block in QueueBlock.objects.filter(ticket_type_id=ticket_type_id)
    }
    for block in sorted(actual_blocks.keys() | counted_blocks.keys()):
        counted = counted_blocks.get(block, [0, 0])
        if counted != actual_blocks[block]:
            broken.append(
                f"{name}: block {block} counts {counted} waiting (entries, tickets) "
                f"but {actual_blocks[block]} wait"
            )
    return broken


def overdue_offers(ticket_type_id: int, now: datetime) -> list[WaitingListEntry]:
    return list(
        WaitingListEntry.objects.filter(
            ticket_type_id=ticket_type_id, status=Status.OFFERED, expires_at__lte=now
        )
    )
