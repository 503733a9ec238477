"""Joining, offering, expiring, declining, leaving and buying: the waiting list's services.

Every change runs in one short transaction that first takes the ticket type's lock
(events.locks), expires whatever offers are overdue, makes its change, and ends by serving
the queue: the freed places go to the next entries in join order, in the same transaction.
Side effects (e-mails, expiry jobs, checkout closes, live updates) run once it commits.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.db.models import F
from django.utils import timezone

from audit.services import audit_row, record_change, record_changes
from events.models import TicketType
from events.sale import SaleState, sale_state
from events.selectors import seller_can_take_payments
from events.services import hold_places, release_held_places
from tickethub.errors import DomainError, NotFound
from tickethub.locks import locked
from tickets.models import Ticket
from tickets.selectors import tickets_held_count
from tickets.services import Issue, issue_tickets_for_offer
from waitlist import live, ratelimit
from waitlist.errors import OfferExpired, OfferNoLongerLive, WaitlistError
from waitlist.models import LIVE_STATUSES, QueueState, WaitingListEntry
from waitlist.services import checkout_hold
from waitlist.services.queue import (
    after_commit,
    count_waiting,
    end_entry,
    entry_changed,
    expire_overdue,
    lock_ticket_type,
    make_offer,
    queue_moved,
    queue_state,
    serve,
    settle,
)

Status = WaitingListEntry.Status


@dataclass(frozen=True)
class JoinResult:
    entry: WaitingListEntry
    created: bool


def _live_entry(*, user: User, ticket_type_id: int) -> WaitingListEntry | None:
    return WaitingListEntry.objects.filter(
        user=user, ticket_type_id=ticket_type_id, status__in=LIVE_STATUSES
    ).first()


def _entry_of(*, user: User, entry_id: int) -> WaitingListEntry:
    """The user's own entry; anybody else's id is a NotFound (404)."""
    entry = WaitingListEntry.objects.filter(pk=entry_id, user=user).first()
    if entry is None:
        raise NotFound("No such waiting list entry.")
    return entry


def _check_joinable(ticket_type: TicketType, quantity: int, now: datetime) -> None:
    event = ticket_type.event
    # A free type never needs the organiser's account, so it is not looked up.
    payments_ready = not ticket_type.price_minor or seller_can_take_payments(
        organiser_id=event.organiser_id
    )
    state = sale_state(ticket_type, event=event, now=now, payments_ready=payments_ready)
    if state == SaleState.NOT_PUBLISHED:
        raise NotFound("No such event.")
    if not state.allows_joining:
        raise WaitlistError(state.refusal(ticket_type))
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
    held = tickets_held_count(owner=user, ticket_type_id=ticket_type.pk)
    allowed = ticket_type.max_per_buyer - held
    if quantity > allowed:
        if allowed <= 0:
            raise WaitlistError(
                f"You already have the most “{ticket_type.name}” tickets one buyer may have "
                f"({ticket_type.max_per_buyer})."
            )
        raise WaitlistError(f"You can ask for at most {allowed} more “{ticket_type.name}” tickets.")


def _offer_at_once(
    ticket_type: TicketType, *, user: User, quantity: int, state: QueueState, now: datetime
) -> WaitingListEntry:
    """Nobody waits and the places are free: the entry is made an offer as it is created,
    without the queue bookkeeping it would enter and leave in the same transaction (this
    is the hot path of an on-sale rush, run under the ticket type's lock)."""
    hold_places(ticket_type=ticket_type, quantity=quantity)
    entry = make_offer(
        WaitingListEntry(
            ticket_type=ticket_type, user=user, quantity=quantity, sequence=state.last_sequence
        ),
        ticket_type,
        now,
    )
    entry.save(force_insert=True)
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
    after_commit(entry, "offer_made")
    return entry


def _has_standing_entry(*, user: User, ticket_type_id: int, now: datetime) -> bool:
    """A live entry that a join would simply return: waiting, or an offer still in time."""
    entry = _live_entry(user=user, ticket_type_id=ticket_type_id)
    if entry is None:
        return False
    return entry.status == Status.WAITING or (
        entry.expires_at is not None and entry.expires_at > now
    )


class _NeedsJoinSlot(Exception):
    """The buyer's live entry ended between the read and the lock: take a slot and retry."""


def join_waiting_list(
    *, user: User, ticket_type_id: int, quantity: int, now: datetime | None = None
) -> JoinResult:
    """Join a ticket type's queue; offered at once when places are free and nobody waits.

    Joining again returns the live entry (and uses no rate limit); an overdue offer is
    expired first, so the buyer joins the back of the queue. The rate limit's slot is taken
    from the cache before the ticket type's lock (no network call under a lock) and given
    back when the join creates nothing. Raises WaitlistError, RateLimited, or NotFound for
    an unknown or unpublished type.
    """
    now = now or timezone.now()
    needs_slot = not _has_standing_entry(user=user, ticket_type_id=ticket_type_id, now=now)
    for _attempt in range(2):
        slot = ratelimit.take_join_slot(user.pk, ticket_type_id) if needs_slot else None
        try:
            result = _join_under_lock(
                user=user, ticket_type_id=ticket_type_id, quantity=quantity, now=now, slot=slot
            )
        except _NeedsJoinSlot:
            needs_slot = True
            continue
        except BaseException:
            _give_back_unused(slot, user=user, ticket_type_id=ticket_type_id)
            raise
        if not result.created:
            _give_back_unused(slot, user=user, ticket_type_id=ticket_type_id)
        return result
    raise AssertionError("unreachable: the second attempt holds a join slot")


def _give_back_unused(slot: ratelimit.JoinSlot | None, *, user: User, ticket_type_id: int) -> None:
    """This join created nothing: its slot goes back, unless a duplicate join that shared
    it created the buyer's entry meanwhile (then the slot pays for that entry)."""
    if slot is None or not slot.owned:
        return
    created_since = WaitingListEntry.objects.filter(
        user=user,
        ticket_type_id=ticket_type_id,
        created_at__gte=datetime.fromtimestamp(slot.taken_at, tz=UTC),
    ).exists()
    if not created_since:
        slot.release()


def _join_under_lock(
    *,
    user: User,
    ticket_type_id: int,
    quantity: int,
    now: datetime,
    slot: ratelimit.JoinSlot | None,
) -> JoinResult:
    with locked():
        locked_type = lock_ticket_type(ticket_type_id)
        state = queue_state(locked_type)
        expired = expire_overdue(locked_type, now)
        existing = _live_entry(user=user, ticket_type_id=ticket_type_id)
        if existing is not None:
            if expired:  # the places of the offers that just expired pass on now
                serve(locked_type, state, now)
                state.save()
                queue_moved(locked_type)
            return JoinResult(existing, created=False)
        _check_joinable(locked_type, quantity, now)
        _check_buyer_limit(user=user, ticket_type=locked_type, quantity=quantity)
        if slot is None:
            raise _NeedsJoinSlot  # rolls back the expiries above; the retry redoes them
        state.last_sequence += 1
        if state.waiting_entries == 0 and quantity <= locked_type.remaining:
            entry = _offer_at_once(locked_type, user=user, quantity=quantity, state=state, now=now)
        else:
            entry = WaitingListEntry.objects.create(
                ticket_type=locked_type, user=user, quantity=quantity, sequence=state.last_sequence
            )
            count_waiting(entry, state, +1)
            record_change(actor=user, action="waitlist.joined", target=entry)
            offered = serve(locked_type, state, now)
            entry = next((offer for offer in offered if offer.pk == entry.pk), entry)
            if entry.status == Status.WAITING:
                after_commit(entry, "joined")
        state.save()
        queue_moved(locked_type)
    return JoinResult(entry, created=True)


def hold_for_checkout(*, entry: WaitingListEntry, now: datetime) -> None:
    """Payments calls this, holding the ticket type's lock, when the buyer starts paying
    for their live offer; from then on only release_after_checkout ends it unpaid
    (checkout_hold explains why)."""
    checkout_hold.start(entry, now)


def release_after_checkout(*, entry_id: int, now: datetime | None = None) -> WaitingListEntry:
    """Payments calls this once Stripe confirms the offer's checkout closed unpaid: the
    offer is then an ordinary one again, expired and passed on if it is overdue."""
    now = now or timezone.now()
    entry = WaitingListEntry.objects.get(pk=entry_id)
    with locked():
        locked_type = lock_ticket_type(entry.ticket_type_id)
        entry.refresh_from_db()
        if entry.status == Status.OFFERED and checkout_hold.is_held(entry):
            checkout_hold.end(entry)
            settle(locked_type, now)
    entry.refresh_from_db()
    return entry


def expire_offer(*, entry_id: int, now: datetime | None = None) -> bool:
    """Expire one offer if it is due (and any other due offer of its ticket type), then
    serve the queue. Idempotent; returns True when this entry is expired afterwards."""
    now = now or timezone.now()
    entry = WaitingListEntry.objects.filter(pk=entry_id).only("ticket_type_id").first()
    if entry is None:
        return False
    with locked():
        settle(lock_ticket_type(entry.ticket_type_id), now)
    entry.refresh_from_db()
    return entry.status == Status.EXPIRED


def expire_overdue_offers(*, ticket_type_id: int, now: datetime | None = None) -> None:
    """Expire due offers of one ticket type and hand their places on. Idempotent."""
    with locked():
        settle(lock_ticket_type(ticket_type_id), now or timezone.now())


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
    """Hand free places to the queue (capacity raised, a ticket refunded). Takes the type's
    lock, or reuses it when the caller's transaction already holds it."""
    with locked():
        settle(lock_ticket_type(ticket_type.pk), now or timezone.now())


def decline_offer(*, user: User, entry_id: int, now: datetime | None = None) -> WaitingListEntry:
    """Turn down one's own offer; its places go to the next in line at once."""
    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    with locked():
        locked_type = lock_ticket_type(entry.ticket_type_id)
        settle(locked_type, now)  # an overdue offer expires (and stays expired) first
        entry.refresh_from_db()
        if entry.status == Status.OFFERED:
            end_entry(entry, Status.DECLINED, now)
            release_held_places(ticket_type=locked_type, quantity=entry.quantity)
            record_change(actor=user, action="offer.declined", target=entry)
            entry_changed(entry)
            checkout_hold.close_checkout(entry)
            settle(locked_type, now)
            queue_moved(locked_type)
            return entry
    if entry.status == Status.EXPIRED:
        raise OfferExpired("This offer had already expired.")
    raise OfferNoLongerLive("There is no open offer to decline.")


def leave_waiting_list(
    *, user: User, entry_id: int, now: datetime | None = None
) -> WaitingListEntry:
    """Leave a queue (or decline its offer); the place passes on at once."""
    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    if entry.status == Status.OFFERED:
        return decline_offer(user=user, entry_id=entry_id, now=now)
    with locked():
        locked_type = lock_ticket_type(entry.ticket_type_id)
        entry.refresh_from_db()
        if entry.status != Status.WAITING:
            raise WaitlistError("You are not waiting in this queue any more.")
        state = queue_state(locked_type)
        count_waiting(entry, state, -1)
        end_entry(entry, Status.LEFT, now)
        record_change(actor=user, action="waitlist.left", target=entry)
        entry_changed(entry)
        state.save()
        settle(locked_type, now)
        queue_moved(locked_type)
    return entry


def accept_offer(
    *,
    user: User,
    entry_id: int,
    amount_minor_each: int | None = None,
    order_id: int | None = None,
    now: datetime | None = None,
) -> list[Ticket]:
    """Take one's own live offer and issue its tickets.

    Free offers are accepted directly; a paid offer is accepted only by payment fulfilment,
    which passes the amount paid per ticket (it must be the offered price) and its order's
    id. Raises
    OfferExpired (410) after expiry and OfferNoLongerLive (409) when the offer was taken or
    declined; WaitlistError for a free acceptance of a paid offer or a wrong amount.
    """
    now = now or timezone.now()
    entry = _entry_of(user=user, entry_id=entry_id)
    with locked():
        locked_type = lock_ticket_type(entry.ticket_type_id)
        settle(locked_type, now)  # an overdue offer expires (and stays expired) first
        entry.refresh_from_db()
        if entry.status == Status.OFFERED:
            if amount_minor_each is None and entry.offered_price_minor:
                raise WaitlistError("This offer must be paid for at checkout.")
            if amount_minor_each is not None and amount_minor_each != entry.offered_price_minor:
                raise WaitlistError("The amount paid is not the offered price.")
            if amount_minor_each is None:
                # Claiming a free offer is its checkout: the rule that stops paying for an
                # offer stops this too. (A paid offer reaches here only once paid, and then
                # the late-payment rule decides.) A free offer needs no payments.
                state = sale_state(
                    locked_type, event=locked_type.event, now=now, payments_ready=True
                )
                if not state.allows_taking_an_offer:
                    raise WaitlistError(state.refusal(locked_type))
            tickets = issue_tickets_for_offer(
                Issue(
                    owner_id=entry.user_id,
                    ticket_type=locked_type,
                    quantity=entry.quantity,
                    amount_minor_each=amount_minor_each or 0,
                    entry_id=entry.pk,
                    order_id=order_id,
                )
            )
            end_entry(entry, Status.PURCHASED, now)
            entry_changed(entry)
            record_change(
                actor=user,
                action="offer.purchased",
                target=entry,
                after={"tickets": len(tickets), "amount_minor_each": amount_minor_each or 0},
            )
            return tickets
    if entry.status == Status.EXPIRED:
        raise OfferExpired("Sorry, this offer has expired and passed to the next in line.")
    raise OfferNoLongerLive("There is no open offer to accept.")


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
