"""Reads of the catalogue: public listings, one event's availability, an organiser's events."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, Min, Q, QuerySet, When
from django.utils import timezone

from events.models import Event, Seller, TicketType
from tickethub.errors import NotFound


def upcoming_public_events(*, now: datetime | None = None) -> QuerySet[Event]:
    """Published events that have not ended yet, soonest first."""
    now = now or timezone.now()
    not_over = Q(ends_at__gt=now) | Q(ends_at__isnull=True, starts_at__gt=now)
    return (
        Event.objects.filter(not_over, status=Event.Status.PUBLISHED)
        .annotate(lowest_price_minor=Min("ticket_types__price_minor"))
        .order_by("starts_at", "pk")
    )


def public_event(*, event_id: int, viewer: User | AnonymousUser | None = None) -> Event:
    """An event as the public sees it: published (or cancelled, to explain why), or the
    viewer's own draft as a preview. Anything else is a 404, so drafts do not leak."""
    try:
        event = Event.objects.select_related("organiser").get(pk=event_id)
    except Event.DoesNotExist:
        raise NotFound("No such event.") from None
    if event.status == Event.Status.DRAFT and (viewer is None or event.organiser_id != viewer.pk):
        raise NotFound("No such event.")
    return event


def organiser_events(*, organiser: User) -> QuerySet[Event]:
    """The organiser's events: upcoming ones soonest first, then those already started."""
    started = Case(When(starts_at__lte=timezone.now(), then=1), default=0)
    return (
        Event.objects.filter(organiser=organiser)
        .prefetch_related("ticket_types")
        .order_by(started, "starts_at", "pk")
    )


def organiser_event(*, organiser: User, event_id: int) -> Event:
    """One of the organiser's own events; another organiser's id is a 404, not a 403."""
    try:
        return Event.objects.get(pk=event_id, organiser=organiser)
    except Event.DoesNotExist:
        raise NotFound("No such event.") from None


@dataclass(frozen=True)
class Availability:
    """What a ticket type offers a buyer right now; the one answer every page shows."""

    ticket_type: TicketType
    # "available", "queue" (places free but people wait), "sold_out", "not_yet_on_sale",
    # "sale_ended", "event_over", "cancelled", "payments_pending" (a paid type whose
    # organiser's Stripe account cannot take charges yet)
    state: str
    remaining: int

    @property
    def label(self) -> str:
        return {
            "available": "Available",
            "sold_out": "Sold out",
            "queue": "Queue",
            "not_yet_on_sale": "Not on sale yet",
            "sale_ended": "Sale ended",
            "event_over": "Event over",
            "cancelled": "Cancelled",
            "payments_pending": "Not on sale yet",
        }[self.state]

    @property
    def is_available(self) -> bool:
        return self.state == "available"


def ticket_type_availability(
    ticket_type: TicketType,
    *,
    event: Event,
    payments_ready: bool,
    now: datetime | None = None,
) -> Availability:
    """``payments_ready``: the organiser's account can take charges
    (seller_can_take_payments), so paid tickets may go on sale."""
    now = now or timezone.now()
    remaining = max(ticket_type.remaining, 0)
    if event.status == Event.Status.CANCELLED:
        state = "cancelled"
    elif event.is_past:
        state = "event_over"
    elif ticket_type.sale_starts_at and now < ticket_type.sale_starts_at:
        state = "not_yet_on_sale"
    elif ticket_type.sale_ends_at and now >= ticket_type.sale_ends_at:
        state = "sale_ended"
    elif ticket_type.price_minor and not payments_ready:
        state = "payments_pending"
    elif remaining == 0:
        state = "sold_out"
    else:
        state = "available"
    return Availability(ticket_type=ticket_type, state=state, remaining=remaining)


def event_availability(*, event: Event) -> list[Availability]:
    now = timezone.now()
    payments_ready = seller_can_take_payments(organiser_id=event.organiser_id)
    return [
        ticket_type_availability(ticket_type, event=event, payments_ready=payments_ready, now=now)
        for ticket_type in event.ticket_types.all()
    ]


def seller_can_take_payments(*, organiser_id: int) -> bool:
    """The organiser's paid tickets can be sold (their Stripe account takes charges)."""
    return Seller.objects.filter(organiser_id=organiser_id, can_take_payments=True).exists()
