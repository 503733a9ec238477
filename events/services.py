"""Writes to the catalogue: creating, editing, publishing, unpublishing and cancelling
events."""

import functools
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import record_change
from events.hooks import EventChanged, event_changed
from events.locks import lock_ticket_types_of_event
from events.models import Event, Seller, TicketType
from events.money import CURRENCY_EXPONENTS, MAX_PRICE_MINOR, below_card_minimum
from tickethub.errors import DomainError
from tickethub.fields import event_date_window
from tickethub.locks import lock_rows, locked

logger = logging.getLogger(__name__)


@functools.cache
def known_time_zones() -> frozenset[str]:
    # available_timezones() scans the zone files on disk (~30 ms); they don't change.
    return frozenset(zoneinfo.available_timezones())


class CatalogueError(DomainError):
    """An event or ticket type edit broke a catalogue rule."""


@dataclass(frozen=True)
class EventDetails:
    name: str
    description: str
    venue_name: str
    address: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    currency: str
    offer_window_minutes: int = 30


@dataclass(frozen=True)
class TicketTypeSpec:
    """A ticket type as the organiser wants it; ``ticket_type_id`` is set when editing one."""

    name: str
    price_minor: int
    capacity: int
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    ticket_type_id: int | None = None
    max_per_entry: int = 4
    max_per_buyer: int = 4


def _check_details(details: EventDetails) -> None:
    if not details.name.strip():
        raise CatalogueError("An event needs a name.")
    if details.timezone not in known_time_zones():
        raise CatalogueError(f"Unknown time zone: {details.timezone}.")
    if details.currency not in CURRENCY_EXPONENTS:
        raise CatalogueError(f"Unsupported currency: {details.currency}.")
    if timezone.is_naive(details.starts_at) or (
        details.ends_at is not None and timezone.is_naive(details.ends_at)
    ):
        raise CatalogueError("Event times must carry a time zone.")
    if details.ends_at is not None and details.ends_at <= details.starts_at:
        raise CatalogueError("The event must end after it starts.")
    if not 5 <= details.offer_window_minutes <= 24 * 60:
        raise CatalogueError("An offer must stay open between 5 minutes and 24 hours.")


def _check_dates_in_window(details: EventDetails, stored: Event | None) -> None:
    # Dates kept as stored stay valid (last year's event can still be edited); a date set
    # now must fall in the window the editor offers.
    earliest, latest = event_date_window()
    for field in ("starts_at", "ends_at"):
        moment = getattr(details, field)
        if moment is None or (stored is not None and moment == getattr(stored, field)):
            continue
        if not earliest <= moment <= latest:
            raise CatalogueError(
                f"Event dates must fall between {earliest:%-d %b %Y} and {latest:%-d %b %Y}."
            )


def _check_ticket_types(specs: list[TicketTypeSpec], *, currency: str) -> None:
    if not specs:
        raise CatalogueError("An event needs at least one ticket type.")
    names = [spec.name.strip().lower() for spec in specs]
    if len(set(names)) != len(names):
        raise CatalogueError("Each ticket type needs a different name.")
    for spec in specs:
        if not spec.name.strip():
            raise CatalogueError("Each ticket type needs a name.")
        if not 0 <= spec.price_minor <= MAX_PRICE_MINOR:
            raise CatalogueError(f"The price of “{spec.name}” must be between 0 and the maximum.")
        if below_card_minimum(spec.price_minor, currency):
            raise CatalogueError(
                f"The price of “{spec.name}” is below the smallest card payment in {currency}."
            )
        if spec.capacity < 1:
            raise CatalogueError(f"“{spec.name}” needs a capacity of at least 1.")
        if not 1 <= spec.max_per_entry <= spec.max_per_buyer:
            raise CatalogueError(
                f"For “{spec.name}”, tickets per request must be at least 1 and at most the "
                "limit per buyer."
            )
        if (
            spec.sale_starts_at is not None
            and spec.sale_ends_at is not None
            and spec.sale_ends_at <= spec.sale_starts_at
        ):
            raise CatalogueError(f"The sale of “{spec.name}” must end after it starts.")


def _ticket_type_snapshot(ticket_type: TicketType) -> dict:
    return {
        "name": ticket_type.name,
        "price_minor": ticket_type.price_minor,
        "capacity": ticket_type.capacity,
    }


@transaction.atomic
def create_event(
    *,
    organiser: User,
    details: EventDetails,
    ticket_types: list[TicketTypeSpec],
    image: File | None = None,
) -> Event:
    """Create a draft event with its ticket types.

    Raises CatalogueError when the event starts in the past or any detail breaks a rule.
    """
    _check_details(details)
    _check_ticket_types(ticket_types, currency=details.currency)
    _check_dates_in_window(details, stored=None)
    if details.starts_at <= timezone.now():
        raise CatalogueError("A new event must start in the future.")
    event = Event(organiser=organiser, **vars(details))
    if image is not None:
        event.image.save(image.name or "event.jpg", image, save=False)
    event.save()
    for position, spec in enumerate(ticket_types):
        ticket_type = TicketType.objects.create(
            event=event,
            name=spec.name.strip(),
            price_minor=spec.price_minor,
            capacity=spec.capacity,
            sale_starts_at=spec.sale_starts_at,
            sale_ends_at=spec.sale_ends_at,
            max_per_entry=spec.max_per_entry,
            max_per_buyer=spec.max_per_buyer,
            position=position,
        )
        record_change(
            actor=organiser,
            action="ticket_type.created",
            target=ticket_type,
            after=_ticket_type_snapshot(ticket_type),
        )
    event_changed.fire(EventChanged(event))
    return event


def update_event(
    *,
    event: Event,
    actor: User,
    details: EventDetails,
    ticket_types: list[TicketTypeSpec],
    image: File | None = None,
    remove_image: bool = False,
) -> Event:
    """Change an event and its ticket types under the ticket types' locks.

    Ticket types missing from ``ticket_types`` are deleted if none of their tickets is
    sold or held. Capacity cannot drop below what is sold plus held. Raises CatalogueError.
    Places a capacity rise adds are not offered here: the organiser's edit goes through
    waitlist.services.update_event, which serves the queue in the same transaction.
    """
    _check_details(details)
    _check_ticket_types(ticket_types, currency=details.currency)
    with locked() as lock:
        locked_types = lock_ticket_types_of_event(event.pk)
        event = lock.rows(Event.objects.all(), [event.pk])[event.pk]
        if event.is_cancelled:
            raise CatalogueError("A cancelled event cannot be edited.")
        if details.starts_at != event.starts_at and details.starts_at <= timezone.now():
            raise CatalogueError("The new start time is in the past.")
        _check_dates_in_window(details, stored=event)
        any_sold = any(t.sold_count or t.held_count for t in locked_types.values())
        if details.currency != event.currency and any_sold:
            raise CatalogueError("The currency cannot change once tickets are sold or on offer.")
        for field, value in vars(details).items():
            setattr(event, field, value)
        if remove_image:
            event.image = None
        if image is not None:
            event.image.save(image.name or "event.jpg", image, save=False)
        event.save()
        _apply_ticket_types(event=event, actor=actor, locked=locked_types, specs=ticket_types)
        event_changed.fire(EventChanged(event))
    return event


def _apply_ticket_types(
    *, event: Event, actor: User, locked: dict[int, TicketType], specs: list
) -> None:
    kept_ids = {spec.ticket_type_id for spec in specs if spec.ticket_type_id is not None}
    unknown = kept_ids - locked.keys()
    if unknown:
        raise CatalogueError("A ticket type in the form does not belong to this event.")
    for ticket_type_id in locked.keys() - kept_ids:
        ticket_type = locked[ticket_type_id]
        if ticket_type.sold_count or ticket_type.held_count:
            raise CatalogueError(
                f"“{ticket_type.name}” cannot be removed: tickets are sold or on offer."
            )
        record_change(
            actor=actor,
            action="ticket_type.deleted",
            target=ticket_type,
            before=_ticket_type_snapshot(ticket_type),
        )
        ticket_type.delete()
    for position, spec in enumerate(specs):
        if spec.ticket_type_id is None:
            ticket_type = TicketType(event=event)
            before = None
        else:
            ticket_type = locked[spec.ticket_type_id]
            before = _ticket_type_snapshot(ticket_type)
            floor = ticket_type.sold_count + ticket_type.held_count
            if spec.capacity < floor:
                raise CatalogueError(
                    f"Cannot reduce capacity below {floor}: tickets sold or on offer."
                )
        ticket_type.name = spec.name.strip()
        ticket_type.price_minor = spec.price_minor
        ticket_type.capacity = spec.capacity
        ticket_type.sale_starts_at = spec.sale_starts_at
        ticket_type.sale_ends_at = spec.sale_ends_at
        ticket_type.max_per_entry = spec.max_per_entry
        ticket_type.max_per_buyer = spec.max_per_buyer
        ticket_type.position = position
        ticket_type.save()
        after = _ticket_type_snapshot(ticket_type)
        if after != before:
            action = "ticket_type.created" if before is None else "ticket_type.changed"
            record_change(
                actor=actor, action=action, target=ticket_type, before=before, after=after
            )


def publish_event(*, event: Event, actor: User) -> Event:
    """Put a draft event on the public catalogue. Idempotent for a published event.

    Raises CatalogueError for a cancelled or past event, or one without ticket types.
    """
    with locked() as lock:
        event = lock.rows(Event.objects.all(), [event.pk])[event.pk]
        if event.status == Event.Status.PUBLISHED:
            return event
        if event.is_cancelled:
            raise CatalogueError("A cancelled event cannot be published.")
        if event.is_over():
            raise CatalogueError("This event is over and cannot be published.")
        if not event.ticket_types.exists():
            raise CatalogueError("Add at least one ticket type before publishing.")
        if event.over_at > event_date_window()[1]:
            # Saved before the editor bounded dates; the catalogue can't list it.
            raise CatalogueError("This event's date is too far ahead: change it, then publish.")
        event.status = Event.Status.PUBLISHED
        event.published_at = timezone.now()
        event.save(update_fields=["status", "published_at", "updated_at"])
        record_change(actor=actor, action="event.published", target=event)
        event_changed.fire(EventChanged(event))
    return event


def unpublish_event(*, event: Event, actor: User) -> Event:
    """Take a published event off the public catalogue (back to draft). Idempotent.

    Refused while tickets are sold or on offer: their holders would find the event gone
    (its page is a 404 to them), so such an event must be cancelled instead. The ticket
    types are locked first, so no sale can slip in between the check and the change.
    """
    with locked() as lock:
        locked_types = lock_ticket_types_of_event(event.pk)
        event = lock.rows(Event.objects.all(), [event.pk])[event.pk]
        if event.status == Event.Status.DRAFT:
            return event
        if event.is_cancelled:
            raise CatalogueError("A cancelled event cannot be unpublished.")
        taken = sum(t.sold_count + t.held_count for t in locked_types.values())
        if taken:
            raise CatalogueError(
                f"Cancel the event instead: {taken} ticket{'s are' if taken != 1 else ' is'} "
                "sold or on offer, and their holders would find the event gone."
            )
        event.status = Event.Status.DRAFT
        event.save(update_fields=["status", "updated_at"])
        record_change(actor=actor, action="event.unpublished", target=event)
        event_changed.fire(EventChanged(event))
    return event


def mark_event_cancelling(*, event_id: int, actor: User | None) -> tuple[Event, bool]:
    """Take an event off sale for good, its refunds to follow (payments' cancel_event, which
    holds the event's ticket types' locks). Returns the event and whether it changed:
    a second call, or one for an event already cancelled, changes nothing."""
    event = lock_rows(Event.objects.all(), [event_id])[event_id]
    if event.is_cancelled:
        return event, False
    before = event.status
    event.status = Event.Status.CANCELLING
    event.save(update_fields=["status", "updated_at"])
    record_change(
        actor=actor,
        action="event.cancelling",
        target=event,
        before={"status": before},
        after={"status": event.status},
    )
    # Search drops it in this same transaction (it lists published events only).
    event_changed.fire(EventChanged(event))
    return event, True


def mark_event_cancelled(*, event_id: int) -> bool:
    """A cancelling event whose every ticket is refunded or cancelled is cancelled; the
    caller (payments) has checked that under the ticket types' locks. Idempotent; returns
    whether it changed."""
    event = lock_rows(Event.objects.all(), [event_id])[event_id]
    if event.status != Event.Status.CANCELLING:
        return False
    event.status = Event.Status.CANCELLED
    event.save(update_fields=["status", "updated_at"])
    record_change(
        actor=None,
        action="event.cancelled",
        target=event,
        before={"status": Event.Status.CANCELLING},
        after={"status": Event.Status.CANCELLED},
    )
    event_changed.fire(EventChanged(event))
    return True


# --- Capacity --------------------------------------------------------------------------
# The only writers of sold_count and held_count. Each runs under the ticket type's lock
# (events.locks), taken by the calling service; the UPDATE is also conditional, and the
# database's ticket_type_never_oversold constraint is the last line behind both.


class NotEnoughPlaces(DomainError):
    status = 409


def _change_counts(
    ticket_type: TicketType, *, sold: int = 0, held: int = 0, needs_room: int = 0
) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Capacity changes must run inside transaction.atomic().")
    rows = TicketType.objects.filter(pk=ticket_type.pk)
    if needs_room:
        rows = rows.filter(
            sold_count__lte=F("capacity") - F("held_count") - needs_room,
        )
    updated = rows.update(sold_count=F("sold_count") + sold, held_count=F("held_count") + held)
    if not updated:
        raise NotEnoughPlaces("Sorry, there are not enough tickets left.")
    ticket_type.sold_count += sold
    ticket_type.held_count += held


def hold_places(*, ticket_type: TicketType, quantity: int) -> None:
    """Reserve free places for an offer. Raises NotEnoughPlaces."""
    _change_counts(ticket_type, held=quantity, needs_room=quantity)


def release_held_places(*, ticket_type: TicketType, quantity: int) -> None:
    """Give an offer's places back (expired, declined)."""
    _change_counts(ticket_type, held=-quantity)


def sell_held_places(*, ticket_type: TicketType, quantity: int) -> None:
    """Turn an offer's held places into sold ones."""
    _change_counts(ticket_type, sold=quantity, held=-quantity)


def sell_free_places(*, ticket_type: TicketType, quantity: int) -> None:
    """Sell places straight from free capacity (no offer). Raises NotEnoughPlaces."""
    _change_counts(ticket_type, sold=quantity, needs_room=quantity)


def release_sold_places(*, ticket_type: TicketType, quantity: int) -> None:
    """Give sold places back (tickets refunded), never below zero: a count that would go
    negative means the tickets were never counted, and refusing the refund over it would
    keep money Stripe has already returned."""
    released = min(quantity, ticket_type.sold_count)
    if released != quantity:
        logger.error(
            "Releasing %s sold places of ticket type %s, which has only %s sold",
            quantity,
            ticket_type.pk,
            ticket_type.sold_count,
        )
    if released > 0:
        _change_counts(ticket_type, sold=-released)


# --- Payments readiness ----------------------------------------------------------------


def set_seller_payments_ready(*, organiser_id: int, can_take_payments: bool) -> None:
    """Record whether the organiser's paid tickets can be sold; called by payments, in the
    transaction that stores their Stripe account's status."""
    Seller.objects.update_or_create(
        organiser_id=organiser_id, defaults={"can_take_payments": can_take_payments}
    )
