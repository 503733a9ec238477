"""The waiting list engine: joining, offering, expiring, declining, leaving and buying.

Every change runs in one short transaction that first takes the ticket type's lock
(events.locks), expires whatever offers are overdue, makes its change, and ends by serving
the queue: the freed places go to the next entries in join order, in the same transaction.
Side effects (e-mails, expiry jobs, live updates) are queued with transaction.on_commit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from audit.services import audit_row, record_change, record_changes
from events.locks import lock_ticket_types
from events.models import Event, TicketType
from events.selectors import seller_can_take_payments
from events.services import hold_places, release_held_places
from tickethub.errors import DomainError
from waitlist import live, ratelimit
from waitlist.models import LIVE_STATUSES, QueueBlock, QueueState, WaitingListEntry

Status = WaitingListEntry.Status
SERVE_BATCH = 200


class WaitlistError(DomainError):
    status = 409


class OfferExpired(WaitlistError):
    status = 410


@dataclass(frozen=True)
class JoinResult:
    entry: WaitingListEntry
    created: bool


# --- reading helpers used inside the services ---------------------------------------------


def _live_entry(*, user: User, ticket_type_id: int) -> WaitingListEntry | None:
    return WaitingListEntry.objects.filter(
        user=user, ticket_type_id=ticket_type_id, status__in=LIVE_STATUSES
    ).first()


def _entry_of(*, user: User, entry_id: int) -> WaitingListEntry:
    """The user's own entry; anybody else's id is a 404."""
    entry = WaitingListEntry.objects.filter(pk=entry_id, user=user).first()
    if entry is None:
        raise Http404("No such waiting list entry.")
    return entry


def _check_joinable(ticket_type: TicketType, quantity: int, now: datetime) -> None:
    event = ticket_type.event
    if event.status == Event.Status.CANCELLED:
        raise WaitlistError("This event has been cancelled.")
    if event.status != Event.Status.PUBLISHED:
        raise Http404("No such event.")
    if (event.ends_at or event.starts_at) <= now:
        raise WaitlistError("This event is over.")
    if ticket_type.sale_starts_at and now < ticket_type.sale_starts_at:
        raise WaitlistError(f"“{ticket_type.name}” is not on sale yet.")
    if ticket_type.sale_ends_at and now >= ticket_type.sale_ends_at:
        raise WaitlistError(f"The sale of “{ticket_type.name}” has ended.")
    if ticket_type.price_minor and not seller_can_take_payments(organiser_id=event.organiser_id):
        raise WaitlistError(
            f"“{ticket_type.name}” is not on sale yet: the organiser is still setting up "
            "card payments."
        )
    if not 1 <= quantity <= ticket_type.max_per_entry:
        raise DomainError(f"Choose between 1 and {ticket_type.max_per_entry} tickets.")
    if quantity > ticket_type.capacity:
        # A group larger than the whole type could never be served and, by strict order,
        # would block everyone behind it.
        raise WaitlistError(
            f"Only {ticket_type.capacity} “{ticket_type.name}” tickets exist; "
            f"ask for {ticket_type.capacity} or fewer."
        )


def _check_buyer_limit(*, user: User, ticket_type: TicketType, quantity: int) -> None:
    """Tickets held plus the new entry's quantity within the type's limit per buyer (the
    caller has checked there is no live entry, so nothing else of the buyer's is queued)."""
    from tickets.selectors import tickets_held_count

    held = tickets_held_count(owner=user, ticket_type_id=ticket_type.pk)
    allowed = ticket_type.max_per_buyer - held
    if quantity > allowed:
        if allowed <= 0:
            raise WaitlistError(
                f"You already have the most “{ticket_type.name}” tickets one buyer may have "
                f"({ticket_type.max_per_buyer})."
            )
        raise WaitlistError(f"You can ask for at most {allowed} more “{ticket_type.name}” tickets.")


# --- queue bookkeeping (caller holds the ticket type's lock) ------------------------------


def _queue_state(ticket_type: TicketType) -> QueueState:
    state, _ = QueueState.objects.get_or_create(ticket_type=ticket_type)
    return state


def _count_waiting(entry: WaitingListEntry, state: QueueState, sign: int) -> None:
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


def _end_entry(entry: WaitingListEntry, status: str, now: datetime) -> None:
    entry.status = status
    entry.ended_at = now
    entry.save(update_fields=["status", "ended_at"])


CHECKOUT_CLOSE_RETRY = timedelta(minutes=1)


def _expire_overdue(ticket_type: TicketType, now: datetime) -> list[WaitingListEntry]:
    overdue = list(
        WaitingListEntry.objects.filter(
            ticket_type=ticket_type, status=Status.OFFERED, expires_at__lte=now
        ).order_by("sequence")
    )
    in_checkout = [entry for entry in overdue if entry.checkout_started_at is not None]
    for entry in in_checkout:
        _request_checkout_close(entry, now)
    overdue = [entry for entry in overdue if entry.checkout_started_at is None]
    for entry in overdue:
        _end_entry(entry, Status.EXPIRED, now)
        release_held_places(ticket_type=ticket_type, quantity=entry.quantity)
        record_change(
            actor=None,
            action="offer.expired",
            target=entry,
            before={"status": Status.OFFERED, "held": entry.quantity},
            after={"status": Status.EXPIRED},
        )
        _after_commit(entry, "offer_expired")
    return overdue


def _serve(ticket_type: TicketType, state: QueueState, now: datetime) -> list[WaitingListEntry]:
    """Offer free places to waiting entries in join order; stop at the first that doesn't
    fit, so a larger group ahead is never overtaken by a smaller one behind it."""
    offered: list[WaitingListEntry] = []
    window = timedelta(minutes=ticket_type.event.offer_window_minutes)
    while ticket_type.remaining > 0 and state.waiting_entries > 0:
        head = WaitingListEntry.objects.filter(
            ticket_type=ticket_type, status=Status.WAITING
        ).order_by("sequence")[:SERVE_BATCH]
        served_in_batch = 0
        for entry in head:
            if entry.quantity > ticket_type.remaining:
                return offered
            hold_places(ticket_type=ticket_type, quantity=entry.quantity)
            _count_waiting(entry, state, -1)
            entry.status = Status.OFFERED
            entry.offered_at = now
            entry.expires_at = now + window
            entry.offered_price_minor = ticket_type.price_minor
            entry.save(update_fields=["status", "offered_at", "expires_at", "offered_price_minor"])
            record_change(
                actor=None,
                action="offer.made",
                target=entry,
                before={"status": Status.WAITING},
                after={"status": Status.OFFERED, "held": entry.quantity},
            )
            _after_commit(entry, "offer_made")
            offered.append(entry)
            served_in_batch += 1
            if ticket_type.remaining == 0:
                break
        if served_in_batch == 0:
            break
    return offered


def _offer_at_once(
    ticket_type: TicketType, *, user: User, quantity: int, state: QueueState, now: datetime
) -> WaitingListEntry:
    """Nobody waits and the places are free: the entry is made an offer as it is created,
    without the queue bookkeeping it would enter and leave in the same transaction (this
    is the hot path of an on-sale rush, run under the ticket type's lock)."""
    hold_places(ticket_type=ticket_type, quantity=quantity)
    entry = WaitingListEntry.objects.create(
        ticket_type=ticket_type,
        user=user,
        quantity=quantity,
        sequence=state.last_sequence,
        status=Status.OFFERED,
        offered_at=now,
        expires_at=now + timedelta(minutes=ticket_type.event.offer_window_minutes),
        offered_price_minor=ticket_type.price_minor,
    )
    record_changes(
        [
            audit_row(actor=user, action="waitlist.joined", target=entry),
            audit_row(
                actor=None,
                action="offer.made",
                target=entry,
                before={"status": Status.WAITING},
                after={"status": Status.OFFERED, "held": quantity},
            ),
        ]
    )
    _after_commit(entry, "offer_made")
    return entry


def _settle(ticket_type: TicketType, now: datetime) -> QueueState:
    """Expire overdue offers, then serve the queue; returns the saved queue state."""
    state = _queue_state(ticket_type)
    expired = _expire_overdue(ticket_type, now)
    offered = _serve(ticket_type, state, now)
    state.save()
    if expired or offered:
        _queue_moved(ticket_type)
    return state


def _entry_changed(entry: WaitingListEntry) -> None:
    """Tell the entry's owner's open pages to refresh (a row in this transaction)."""
    live.publish(topic=live.user_topic(entry.user_id), kind="entry")


def _queue_moved(ticket_type: TicketType) -> None:
    """Tell everyone watching the event that availability or positions changed."""
    live.publish(topic=live.event_topic(ticket_type.event_id), kind="queue")


def _after_commit(entry: WaitingListEntry, kind: str) -> None:
    from waitlist import tasks

    _entry_changed(entry)
    entry_id, expires_at = entry.pk, entry.expires_at

    def notify() -> None:
        tasks.send_waitlist_email(entry_id, kind)
        if kind == "offer_made" and expires_at is not None:
            tasks.expire_offer_task.schedule((entry_id,), eta=expires_at)

    transaction.on_commit(notify)
    if kind == "offer_expired":
        _close_checkout_after_commit(entry)


def _request_checkout_close(entry: WaitingListEntry, now: datetime) -> None:
    """An overdue offer whose buyer started paying keeps its places until payments has
    asked Stripe: a payment made in time but reported late must find them still held.
    Asked again each minute while Stripe cannot be reached."""
    requested = entry.checkout_close_requested_at
    if requested is not None and now - requested < CHECKOUT_CLOSE_RETRY:
        return
    entry.checkout_close_requested_at = now
    entry.save(update_fields=["checkout_close_requested_at"])
    _close_checkout_after_commit(entry)


def _close_checkout_after_commit(entry: WaitingListEntry) -> None:
    """A paid offer that ends unpaid may have a Checkout Session open: it must close, so
    nobody pays for places that passed on."""
    from payments.tasks import expire_checkout_of_offer

    if entry.offered_price_minor:
        entry_id = entry.pk
        transaction.on_commit(lambda: expire_checkout_of_offer(entry_id))


def _lock(ticket_type_id: int) -> TicketType:
    locked = lock_ticket_types([ticket_type_id])
    if ticket_type_id not in locked:
        raise Http404("No such ticket type.")
    return locked[ticket_type_id]


# --- the services ---------------------------------------------------------------------------


def join_waiting_list(
    *, user: User, ticket_type_id: int, quantity: int, now: datetime | None = None
) -> JoinResult:
    """Join a ticket type's queue; offered at once when places are free and nobody waits.

    Joining again returns the live entry (and uses no rate limit); an overdue offer is
    expired first, so the buyer joins the back of the queue. Takes the ticket type's lock;
    raises WaitlistError, RateLimited, or Http404 for an unknown or unpublished type.
    """
    now = now or timezone.now()
    slot = None
    try:
        with transaction.atomic():
            locked = _lock(ticket_type_id)
            state = _queue_state(locked)
            expired = _expire_overdue(locked, now)
            existing = _live_entry(user=user, ticket_type_id=ticket_type_id)
            if existing is not None:
                if expired:  # the places of the offers that just expired pass on now
                    _serve(locked, state, now)
                    state.save()
                    _queue_moved(locked)
                return JoinResult(existing, created=False)
            _check_joinable(locked, quantity, now)
            _check_buyer_limit(user=user, ticket_type=locked, quantity=quantity)
            # Taken last, under the lock, so a refused or repeated join never uses a slot.
            slot = ratelimit.take_join_slot(user.pk)
            state.last_sequence += 1
            if state.waiting_entries == 0 and quantity <= locked.remaining:
                entry = _offer_at_once(locked, user=user, quantity=quantity, state=state, now=now)
            else:
                entry = WaitingListEntry.objects.create(
                    ticket_type=locked, user=user, quantity=quantity, sequence=state.last_sequence
                )
                _count_waiting(entry, state, +1)
                record_change(actor=user, action="waitlist.joined", target=entry)
                offered = _serve(locked, state, now)
                entry = next((offer for offer in offered if offer.pk == entry.pk), entry)
                if entry.status == Status.WAITING:
                    _after_commit(entry, "joined")
            state.save()
            _queue_moved(locked)
    except BaseException:
        if slot is not None:
            slot.release()
        raise
    return JoinResult(entry, created=True)


def hold_for_checkout(*, entry: WaitingListEntry, now: datetime) -> None:
    """Payments calls this, holding the ticket type's lock, when the buyer starts paying
    for their live offer; from then on only release_after_checkout ends it unpaid."""
    if entry.checkout_started_at is None:
        entry.checkout_started_at = now
        entry.save(update_fields=["checkout_started_at"])


def release_after_checkout(*, entry_id: int, now: datetime | None = None) -> WaitingListEntry:
    """Payments calls this once Stripe confirms the offer's checkout closed unpaid: the
    offer is then an ordinary one again, expired and passed on if it is overdue."""
    now = now or timezone.now()
    entry = WaitingListEntry.objects.get(pk=entry_id)
    with transaction.atomic():
        locked = _lock(entry.ticket_type_id)
        entry.refresh_from_db()
        if entry.status == Status.OFFERED and entry.checkout_started_at is not None:
            entry.checkout_started_at = None
            entry.save(update_fields=["checkout_started_at"])
            _settle(locked, now)
    entry.refresh_from_db()
    return entry


def expire_offer(*, entry_id: int, now: datetime | None = None) -> bool:
    """Expire one offer if it is due (and any other due offer of its ticket type), then
    serve the queue. Idempotent; returns True when this entry is expired afterwards."""
    now = now or timezone.now()
    entry = WaitingListEntry.objects.filter(pk=entry_id).only("ticket_type_id").first()
    if entry is None:
        return False
    with transaction.atomic():
        _settle(_lock(entry.ticket_type_id), now)
    entry.refresh_from_db()
    return entry.status == Status.EXPIRED


def expire_overdue_offers(*, ticket_type_id: int, now: datetime | None = None) -> None:
    """Expire due offers of one ticket type and hand their places on. Idempotent."""
    with transaction.atomic():
        _settle(_lock(ticket_type_id), now or timezone.now())


def expire_overdue_offers_of_event(*, event_id: int, now: datetime | None = None) -> int:
    """The lazy expiry of read paths: settle the event's ticket types that have an overdue
    offer (one indexed query when there is none). Returns how many types it settled."""
    now = now or timezone.now()
    overdue_types = list(
        WaitingListEntry.objects.filter(
            ticket_type__event_id=event_id, status=Status.OFFERED, expires_at__lte=now
        )
        .order_by()  # the model's default ordering would make DISTINCT keep duplicates
        .values_list("ticket_type_id", flat=True)
        .distinct()
    )
    for ticket_type_id in overdue_types:
        expire_overdue_offers(ticket_type_id=ticket_type_id, now=now)
    return len(overdue_types)


def serve_queue(*, ticket_type: TicketType, now: datetime | None = None) -> None:
    """Hand free places to the queue; for callers that already hold the type's lock
    (capacity raised, a ticket refunded)."""
    with transaction.atomic():
        _settle(_lock(ticket_type.pk), now or timezone.now())


def decline_offer(*, user: User, entry_id: int, now: datetime | None = None) -> WaitingListEntry:
    """Turn down one's own offer; its places go to the next in line at once."""
    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    with transaction.atomic():
        locked = _lock(entry.ticket_type_id)
        _settle(locked, now)  # an overdue offer expires (and stays expired) first
        entry.refresh_from_db()
        if entry.status == Status.OFFERED:
            _end_entry(entry, Status.DECLINED, now)
            release_held_places(ticket_type=locked, quantity=entry.quantity)
            record_change(actor=user, action="offer.declined", target=entry)
            _entry_changed(entry)
            _close_checkout_after_commit(entry)
            _settle(locked, now)
            _queue_moved(locked)
            return entry
    if entry.status == Status.EXPIRED:
        raise OfferExpired("This offer had already expired.")
    raise WaitlistError("There is no open offer to decline.")


def leave_waiting_list(
    *, user: User, entry_id: int, now: datetime | None = None
) -> WaitingListEntry:
    """Leave a queue (or decline its offer); the place passes on at once."""
    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    if entry.status == Status.OFFERED:
        return decline_offer(user=user, entry_id=entry_id, now=now)
    with transaction.atomic():
        locked = _lock(entry.ticket_type_id)
        entry.refresh_from_db()
        if entry.status != Status.WAITING:
            raise WaitlistError("You are not waiting in this queue any more.")
        state = _queue_state(locked)
        _count_waiting(entry, state, -1)
        _end_entry(entry, Status.LEFT, now)
        record_change(actor=user, action="waitlist.left", target=entry)
        _entry_changed(entry)
        state.save()
        _settle(locked, now)
        _queue_moved(locked)
    return entry


def accept_offer(
    *,
    user: User,
    entry_id: int,
    amount_minor_each: int | None = None,
    order=None,
    now: datetime | None = None,
) -> list:
    """Take one's own live offer and issue its tickets.

    Free offers are accepted directly; a paid offer is accepted only by payment fulfilment,
    which passes the amount paid per ticket (it must be the offered price) and its order.
    Raises OfferExpired (410) after expiry.
    """
    from tickets.services import issue_tickets_for_offer

    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    with transaction.atomic():
        locked = _lock(entry.ticket_type_id)
        _settle(locked, now)  # an overdue offer expires (and stays expired) first
        entry.refresh_from_db()
        if entry.status == Status.OFFERED:
            if amount_minor_each is None and entry.offered_price_minor:
                raise WaitlistError("This offer must be paid for at checkout.")
            if amount_minor_each is not None and amount_minor_each != entry.offered_price_minor:
                raise WaitlistError("The amount paid is not the offered price.")
            tickets = issue_tickets_for_offer(
                entry=entry,
                ticket_type=locked,
                amount_minor_each=amount_minor_each or 0,
                order=order,
            )
            _end_entry(entry, Status.PURCHASED, now)
            _entry_changed(entry)
            record_change(
                actor=user,
                action="offer.purchased",
                target=entry,
                after={"tickets": len(tickets), "amount_minor_each": amount_minor_each or 0},
            )
            return tickets
    if entry.status == Status.EXPIRED:
        raise OfferExpired("Sorry, this offer has expired and passed to the next in line.")
    raise WaitlistError("There is no open offer to accept.")


def sweep(*, now: datetime | None = None) -> int:
    """Repair what a lost job or a crash left: expire every overdue offer and serve every
    queue that has free places. Locks and re-checks each ticket type; idempotent.
    Returns how many ticket types it settled."""
    now = now or timezone.now()
    overdue = set(
        WaitingListEntry.objects.filter(status=Status.OFFERED, expires_at__lte=now)
        .order_by()
        .values_list("ticket_type_id", flat=True)
        .distinct()
    )
    stranded = set(
        QueueState.objects.filter(
            waiting_entries__gt=0,
            ticket_type__sold_count__lt=F("ticket_type__capacity") - F("ticket_type__held_count"),
        ).values_list("ticket_type_id", flat=True)
    )
    for ticket_type_id in sorted(overdue | stranded):
        expire_overdue_offers(ticket_type_id=ticket_type_id, now=now)
    live.delete_old_live_events()
    return len(overdue | stranded)
