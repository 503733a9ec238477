"""Reads of the catalogue: public listings, one event's availability, an organiser's events."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, Min, Q, QuerySet, When
from django.utils import timezone

from events.models import Event, Seller, TicketType
from events.sale import SaleState, sale_state
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
    state: SaleState
    remaining: int

    @property
    def label(self) -> str:
        return self.state.label

    @property
    def is_available(self) -> bool:
        return self.state == SaleState.AVAILABLE


def ticket_type_availability(
    ticket_type: TicketType,
    *,
    event: Event,
    payments_ready: bool,
    now: datetime | None = None,
    queue_waiting: int = 0,
) -> Availability:
    """The ticket type's sale state (events.sale.sale_state) and its free places.

    ``payments_ready``: the organiser's account can take charges
    (seller_can_take_payments), so paid tickets may go on sale.
    ``queue_waiting``: entries already waiting, which turn free places into a queue.
    """
    remaining = max(ticket_type.remaining, 0)
    state = sale_state(
        ticket_type,
        event=event,
        now=now or timezone.now(),
        payments_ready=payments_ready,
        free_places=remaining,
        queue_waiting=queue_waiting,
    )
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
