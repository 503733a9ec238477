"""Queue bookkeeping: the steps every waiting-list change is made of.

Every function here runs inside the caller's transaction and under the ticket type's lock
(``lock_ticket_type``): they read and write the queue's entries and totals without locking
again. Side effects are never run here: e-mails, jobs and live updates are queued to run
after the commit (``after_commit``, waitlist.live), so a rolled-back change sends nothing.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from audit.services import record_change
from events.locks import lock_ticket_types
from events.models import TicketType
from events.services import hold_places, release_held_places
from tickethub.errors import NotFound
from waitlist import live
from waitlist.models import QueueBlock, QueueState, WaitingListEntry
from waitlist.services import checkout_hold

Status = WaitingListEntry.Status
SERVE_BATCH = 200


def lock_ticket_type(ticket_type_id: int) -> TicketType:
    locked = lock_ticket_types([ticket_type_id])
    if ticket_type_id not in locked:
        raise NotFound("No such ticket type.")
    return locked[ticket_type_id]


def queue_state(ticket_type: TicketType) -> QueueState:
    state, _ = QueueState.objects.get_or_create(ticket_type=ticket_type)
    return state


def count_waiting(entry: WaitingListEntry, state: QueueState, sign: int) -> None:
    """Add (+1) or remove (-1) a waiting entry from its block and the type's totals."""
    block = entry.sequence // QueueBlock.BLOCK_SIZE
    entries, tickets = sign, sign * entry.quantity
    if sign > 0:
        # One upsert instead of get_or_create + update: this runs under the ticket type's
        # lock, where every round trip costs the whole queue throughput. (Only for adding:
        # both databases check the row to insert, here negative, before the conflict.)
        table = QueueBlock._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (ticket_type_id, block, waiting_entries, waiting_tickets)"  # noqa: S608
                " VALUES (%s, %s, %s, %s) ON CONFLICT (ticket_type_id, block) DO UPDATE SET"
                f" waiting_entries = {table}.waiting_entries + excluded.waiting_entries,"
                f" waiting_tickets = {table}.waiting_tickets + excluded.waiting_tickets",
                [entry.ticket_type_id, block, entries, tickets],
            )
    else:
        QueueBlock.objects.filter(ticket_type_id=entry.ticket_type_id, block=block).update(
            waiting_entries=F("waiting_entries") + entries,
            waiting_tickets=F("waiting_tickets") + tickets,
        )
    state.waiting_entries += entries
    state.waiting_tickets += tickets


def end_entry(entry: WaitingListEntry, status: str, now: datetime) -> None:
    entry.status = status
    entry.ended_at = now
    entry.save(update_fields=["status", "ended_at"])


def expire_overdue(ticket_type: TicketType, now: datetime) -> list[WaitingListEntry]:
    """Expire the type's offers past their time and release their places; an overdue offer
    whose buyer is at checkout keeps its places until payments closes the checkout
    (checkout_hold). Returns the entries expired."""
    overdue = list(
        WaitingListEntry.objects.filter(
            ticket_type=ticket_type, status=Status.OFFERED, expires_at__lte=now
        ).order_by("sequence")
    )
    expired = []
    for entry in overdue:
        if checkout_hold.is_held(entry):
            checkout_hold.ask_to_close(entry, now)
            continue
        end_entry(entry, Status.EXPIRED, now)
        release_held_places(ticket_type=ticket_type, quantity=entry.quantity)
        record_change(
            actor=None,
            action="offer.expired",
            target=entry,
            before={"status": Status.OFFERED, "held": entry.quantity},
            after={"status": Status.EXPIRED},
        )
        after_commit(entry, "offer_expired")
        checkout_hold.close_checkout(entry)
        expired.append(entry)
    return expired


def make_offer(entry: WaitingListEntry, ticket_type: TicketType, now: datetime) -> WaitingListEntry:
    """Turn a waiting entry into an offer: fix its price and expiry (the caller has held its
    places and taken it out of the waiting counts)."""
    entry.status = Status.OFFERED
    entry.offered_at = now
    entry.expires_at = now + timedelta(minutes=ticket_type.event.offer_window_minutes)
    entry.offered_price_minor = ticket_type.price_minor
    return entry


def serve(ticket_type: TicketType, state: QueueState, now: datetime) -> list[WaitingListEntry]:
    """Offer free places to waiting entries in join order; stop at the first that doesn't
    fit, so a larger group ahead is never overtaken by a smaller one behind it. A cancelled
    (or cancelling) event makes no offer: the places its refunds free are nobody's."""
    offered: list[WaitingListEntry] = []
    if ticket_type.event.is_cancelled:
        return offered
    while ticket_type.remaining > 0 and state.waiting_entries > 0:
        head = WaitingListEntry.objects.filter(
            ticket_type=ticket_type, status=Status.WAITING
        ).order_by("sequence")[:SERVE_BATCH]
        served_in_batch = 0
        for entry in head:
            if entry.quantity > ticket_type.remaining:
                return offered
            hold_places(ticket_type=ticket_type, quantity=entry.quantity)
            count_waiting(entry, state, -1)
            make_offer(entry, ticket_type, now)
            entry.save(update_fields=["status", "offered_at", "expires_at", "offered_price_minor"])
            record_change(
                actor=None,
                action="offer.made",
                target=entry,
                before={"status": Status.WAITING},
                after={"status": Status.OFFERED, "held": entry.quantity},
            )
            after_commit(entry, "offer_made")
            offered.append(entry)
            served_in_batch += 1
            if ticket_type.remaining == 0:
                break
        if served_in_batch == 0:
            break
    return offered


def settle(ticket_type: TicketType, now: datetime) -> QueueState:
    """Expire overdue offers, then serve the queue; returns the saved queue state."""
    state = queue_state(ticket_type)
    expired = expire_overdue(ticket_type, now)
    offered = serve(ticket_type, state, now)
    state.save()
    if expired or offered:
        queue_moved(ticket_type)
    return state


def entry_changed(entry: WaitingListEntry) -> None:
    """Tell the entry's owner's open pages to refresh (sent once the transaction commits)."""
    live.publish(topic=live.user_topic(entry.user_id), kind="entry")


def queue_moved(ticket_type: TicketType) -> None:
    """Tell everyone watching the event that availability or positions changed."""
    live.publish(topic=live.event_topic(ticket_type.event_id), kind="queue")


def after_commit(entry: WaitingListEntry, kind: str) -> None:
    """The entry's e-mail (``kind``: joined, offer_made, offer_expired) and, for a new
    offer, its expiry job, queued once the transaction commits; its owner's pages told."""
    # Imported here: the jobs module imports these services to run them.
    from waitlist import tasks

    entry_changed(entry)
    entry_id, expires_at = entry.pk, entry.expires_at

    def notify() -> None:
        tasks.send_waitlist_email(entry_id, kind)
        if kind == "offer_made" and expires_at is not None:
            tasks.expire_offer_task.schedule((entry_id,), eta=expires_at)

    transaction.on_commit(notify)
