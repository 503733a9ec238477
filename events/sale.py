"""The one rule for "is this ticket type on sale?", and what each answer lets a buyer do.

The event page (events.selectors.ticket_type_availability), joining the waiting list
(waitlist.services), paying for an offer (payments.services.checkout) all ask sale_state;
search's "tickets available" filter (search.backends._filters_sql) restates it in SQL and
must follow any change here. tests/test_sale_state_grid.py holds the four to one table.
"""

from datetime import datetime

from django.db import models

from events.models import Event, TicketType


class SaleState(models.TextChoices):
    """Values are what templates compare against and use in CSS classes
    ("badge-sold_out"); labels are what buyers read."""

    AVAILABLE = "available", "Available"
    QUEUE = "queue", "Queue"  # places are free, but people already wait for them
    SOLD_OUT = "sold_out", "Sold out"
    NOT_YET_ON_SALE = "not_yet_on_sale", "Not on sale yet"
    SALE_ENDED = "sale_ended", "Sale ended"
    EVENT_OVER = "event_over", "Event over"
    CANCELLED = "cancelled", "Cancelled"
    # Cancelled, refunds still under way: refused like CANCELLED.
    CANCELLING = "cancelling", "Cancelling"
    NOT_PUBLISHED = "not_published", "Not published"
    # A paid type whose organiser's Stripe account cannot take charges yet.
    PAYMENTS_PENDING = "payments_pending", "Not on sale yet"

    @property
    def allows_joining(self) -> bool:
        """A buyer may join the queue: places are free, or will be when offers lapse,
        tickets are refunded or capacity grows."""
        return self in _JOINABLE

    @property
    def allows_taking_an_offer(self) -> bool:
        """A live offer may be paid for (or, when free, claimed). The offer already holds
        its places, so how many are free or waiting does not matter; neither does a sale
        start moved later after the offer was made. A sale that has ended does, as do the
        event and the organiser's account."""
        return self in _OFFER_TAKEABLE

    def refusal(self, ticket_type: TicketType) -> str:
        """Why a buyer cannot go on, as the pages say it."""
        name = ticket_type.name
        return {
            SaleState.CANCELLED: "This event has been cancelled.",
            SaleState.CANCELLING: "This event has been cancelled.",
            SaleState.NOT_PUBLISHED: "This event is not on sale.",
            SaleState.EVENT_OVER: "This event is over.",
            SaleState.NOT_YET_ON_SALE: f"“{name}” is not on sale yet.",
            SaleState.SALE_ENDED: f"The sale of “{name}” has ended.",
            SaleState.PAYMENTS_PENDING: (
                f"“{name}” is not on sale yet: the organiser is still setting up card payments."
            ),
            SaleState.SOLD_OUT: f"“{name}” is sold out.",
        }.get(self, f"“{name}” is on sale.")


_JOINABLE = frozenset({SaleState.AVAILABLE, SaleState.QUEUE, SaleState.SOLD_OUT})
_OFFER_TAKEABLE = _JOINABLE | {SaleState.NOT_YET_ON_SALE}


def sale_state(
    ticket_type: TicketType,
    *,
    event: Event,
    now: datetime,
    payments_ready: bool,
    free_places: int | None = None,
    queue_waiting: int = 0,
) -> SaleState:
    """Where a ticket type stands in its sale at ``now``; the first reason that applies wins.

    ``event`` is the ticket type's event (passed so no query is made for it).
    ``payments_ready``: the organiser's account can take charges
    (payments.selectors.can_take_payments); the events app cannot ask payments itself.
    ``free_places`` defaults to ``ticket_type.remaining``; a caller that knows some held
    places belong to offers already past their expiry passes the truer figure.
    ``queue_waiting``: entries waiting in the ticket type's queue.
    """
    if event.status == Event.Status.CANCELLED:
        return SaleState.CANCELLED
    if event.status == Event.Status.CANCELLING:
        return SaleState.CANCELLING
    if event.status != Event.Status.PUBLISHED:
        return SaleState.NOT_PUBLISHED
    if event.is_over(now):
        return SaleState.EVENT_OVER
    if ticket_type.sale_starts_at is not None and now < ticket_type.sale_starts_at:
        return SaleState.NOT_YET_ON_SALE
    if ticket_type.sale_ends_at is not None and now >= ticket_type.sale_ends_at:
        return SaleState.SALE_ENDED
    if ticket_type.price_minor and not payments_ready:
        return SaleState.PAYMENTS_PENDING
    if free_places is None:
        free_places = ticket_type.remaining
    if free_places <= 0:
        return SaleState.SOLD_OUT
    if queue_waiting > 0:
        return SaleState.QUEUE
    return SaleState.AVAILABLE
