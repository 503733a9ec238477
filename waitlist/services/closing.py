"""Closing an event's queues when the event is cancelled: nobody waits for, or holds an
offer of, places that will never be sold."""

from dataclasses import dataclass, field
from datetime import datetime

from audit.services import record_change
from events.locks import lock_ticket_types_of_event
from events.services import release_held_places
from tickethub.locks import locked
from waitlist.models import WaitingListEntry
from waitlist.services import checkout_hold
from waitlist.services.queue import (
    after_commit,
    count_waiting,
    end_entry,
    queue_moved,
    queue_state,
)

Status = WaitingListEntry.Status


@dataclass
class ClosedQueue:
    offers_withdrawn: list[int] = field(default_factory=list)
    entries_closed: list[int] = field(default_factory=list)


def close_queue_of_event(*, event_id: int, now: datetime) -> ClosedQueue:
    """End every live entry of the event's ticket types as CANCELLED: waiting entries leave
    the queue's counts, offers give their held places back, and an offer whose buyer may
    be at Stripe's checkout has it closed (checkout_must_close; a payment that still lands
    is refunded by payments, as the event is cancelled). Each owner gets the "cancelled"
    e-mail after the commit.

    Takes the ticket types' locks (or reuses the caller's). The caller must already have
    made the event cancelling, so the queue makes no new offers (queue.serve); a second
    call finds nothing live and changes nothing."""
    closed = ClosedQueue()
    with locked():
        ticket_types = lock_ticket_types_of_event(event_id)
        for ticket_type in ticket_types.values():
            live_entries = list(
                WaitingListEntry.objects.filter(
                    ticket_type=ticket_type, status__in=[Status.WAITING, Status.OFFERED]
                ).order_by("sequence")
            )
            if not live_entries:
                continue
            state = queue_state(ticket_type)
            for entry in live_entries:
                before = entry.status
                if before == Status.WAITING:
                    count_waiting(entry, state, -1)
                    closed.entries_closed.append(entry.pk)
                else:
                    release_held_places(ticket_type=ticket_type, quantity=entry.quantity)
                    closed.offers_withdrawn.append(entry.pk)
                end_entry(entry, Status.CANCELLED, now)
                record_change(
                    actor=None,
                    action="waitlist.cancelled",
                    target=entry,
                    before={
                        "status": before,
                        "held": entry.quantity if before == Status.OFFERED else 0,
                    },
                    after={"status": Status.CANCELLED},
                )
                after_commit(entry, "event_cancelled")
                if before == Status.OFFERED:
                    checkout_hold.close_checkout(entry)
            state.save()
            queue_moved(ticket_type)
    return closed
