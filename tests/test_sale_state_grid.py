"""One sale-state rule, four places that ask it: the event page, joining the waiting list,
paying for an offer, and search's "tickets available" filter.

Each row of GRID builds one situation the way the site reaches it (an offer made while the
type was on sale, then the event or sale changed under it), and states what each place
answers. Where they differ, they differ on purpose: a sold-out type still takes joins
(that is the queue) and still takes payment for the offer holding its last places, but
search does not call it "tickets available".
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Event, TicketType
from events.sale import SaleState
from events.services import set_seller_payments_ready
from payments.models import ConnectedAccount
from payments.stripe_api import PaymentsError
from payments.tests.conftest import checkout, onboard
from search.selectors import SearchFilters, search_events
from search.services import index_event
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.errors import NotFound
from waitlist.models import WaitingListEntry
from waitlist.selectors import event_offers
from waitlist.services import WaitlistError, join_waiting_list

pytestmark = pytest.mark.django_db

NAME = "Gridtest Gala"
JOINED, REFUSED, NOT_FOUND = "joined", "refused", "404"
PAID, NO_OFFER = "checkout", None  # NO_OFFER: no offer can exist in this situation


@dataclass(frozen=True)
class Situation:
    event: Event
    ticket_type: TicketType
    offer: WaitingListEntry | None  # an earlier buyer's live offer, made while on sale


@dataclass(frozen=True)
class Row:
    build: Callable[[User, list[User]], Situation]
    state: SaleState  # the selector, and the badge the page shows
    public_page: bool  # False: the public gets a 404 (only the organiser sees a draft)
    join: str  # what a fresh buyer's join does
    checkout: str | None  # what paying for the earlier buyer's offer does
    searched: bool  # listed by search with "tickets available"


def _on_sale(
    organiser: User,
    *,
    price_minor: int = 2500,
    capacity: int = 5,
    status: Event.Status = Event.Status.PUBLISHED,
) -> TicketType:
    event = EventFactory(
        organiser=organiser,
        name=NAME,
        status=status,
        ticket_types=[],
        payments_ready=False,  # the organiser is onboarded on the simulator instead
        currency="GBP",
    )
    index_event(event=event)
    return TicketTypeFactory(event=event, price_minor=price_minor, capacity=capacity)


def _with_offer(
    organiser: User,
    buyers: list[User],
    spoil: Callable[[TicketType], object] = lambda _: None,
    *,
    quantity: int = 1,
    capacity: int = 5,
) -> Situation:
    ticket_type = _on_sale(organiser, capacity=capacity)
    offer = join_waiting_list(user=buyers[0], ticket_type_id=ticket_type.pk, quantity=quantity)
    assert offer.entry.status == WaitingListEntry.Status.OFFERED
    spoil(ticket_type)
    ticket_type.refresh_from_db()
    return Situation(ticket_type.event, ticket_type, offer.entry)


def _update_event(**fields: object) -> Callable[[TicketType], object]:
    return lambda ticket_type: Event.objects.filter(pk=ticket_type.event_id).update(**fields)


def _update_type(**fields: object) -> Callable[[TicketType], object]:
    return lambda ticket_type: TicketType.objects.filter(pk=ticket_type.pk).update(**fields)


def _from_now(**delta: float) -> object:
    return timezone.now() + timedelta(**delta)


def draft(organiser: User, buyers: list[User]) -> Situation:
    ticket_type = _on_sale(organiser, status=Event.Status.DRAFT)
    return Situation(ticket_type.event, ticket_type, None)


def unpublished(organiser: User, buyers: list[User]) -> Situation:
    # Unpublishing is refused once an offer is out (cancel instead), so an unpublished event
    # with a live offer is data from before that rule: the row is set back to draft.
    return _with_offer(organiser, buyers, _update_event(status=Event.Status.DRAFT))


def cancelled(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(organiser, buyers, _update_event(status=Event.Status.CANCELLED))


def cancelling(organiser: User, buyers: list[User]) -> Situation:
    # Cancelled, its refunds still under way (the offer is left live here to show that
    # the state alone refuses paying for it).
    return _with_offer(organiser, buyers, _update_event(status=Event.Status.CANCELLING))


def before_sale_start(organiser: User, buyers: list[User]) -> Situation:
    # The organiser moved the sale start later after an offer was made.
    return _with_offer(organiser, buyers, _update_type(sale_starts_at=_from_now(days=2)))


def after_sale_end(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(organiser, buyers, _update_type(sale_ends_at=_from_now(minutes=-1)))


def started_without_end(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(
        organiser, buyers, _update_event(starts_at=_from_now(minutes=-5), ends_at=None)
    )


def ended(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(
        organiser,
        buyers,
        _update_event(starts_at=_from_now(hours=-3), ends_at=_from_now(minutes=-1)),
    )


def running(organiser: User, buyers: list[User]) -> Situation:
    # Started, but not over until its end: still on sale.
    return _with_offer(
        organiser, buyers, _update_event(starts_at=_from_now(hours=-1), ends_at=_from_now(hours=2))
    )


def sold_out(organiser: User, buyers: list[User]) -> Situation:
    # The last places are held by the offer.
    return _with_offer(organiser, buyers, quantity=2, capacity=2)


def queue(organiser: User, buyers: list[User]) -> Situation:
    # One place is free, but a group of two waits for it and strict order keeps it theirs.
    situation = _with_offer(organiser, buyers, quantity=1, capacity=2)
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=situation.ticket_type.pk, quantity=2)
    assert waiting.entry.status == WaitingListEntry.Status.WAITING
    return situation


def _charges_disabled(*_args: object) -> None:
    """Stripe disabled charges on the organiser's account, as payments stores it."""
    for account in ConnectedAccount.objects.all():
        account.charges_enabled = False
        account.save(update_fields=["charges_enabled"])
        set_seller_payments_ready(organiser_id=account.organiser_id, can_take_payments=False)


def cannot_charge(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(organiser, buyers, _charges_disabled)


def free_and_cannot_charge(organiser: User, buyers: list[User]) -> Situation:
    # A free type needs no payments; its offers are claimed, not paid for.
    ticket_type = _on_sale(organiser, price_minor=0)
    _charges_disabled()
    return Situation(ticket_type.event, ticket_type, None)


def on_sale(organiser: User, buyers: list[User]) -> Situation:
    return _with_offer(organiser, buyers)


S = SaleState
GRID = {
    # situation:           (build, state, public page, join, pay the offer, searched)
    "draft": Row(draft, S.NOT_PUBLISHED, False, NOT_FOUND, NO_OFFER, False),
    "unpublished": Row(unpublished, S.NOT_PUBLISHED, False, NOT_FOUND, REFUSED, False),
    "cancelled": Row(cancelled, S.CANCELLED, True, REFUSED, REFUSED, False),
    "cancelling": Row(cancelling, S.CANCELLING, True, REFUSED, REFUSED, False),
    "before sale start": Row(before_sale_start, S.NOT_YET_ON_SALE, True, REFUSED, PAID, False),
    "after sale end": Row(after_sale_end, S.SALE_ENDED, True, REFUSED, REFUSED, False),
    "started, no end": Row(started_without_end, S.EVENT_OVER, True, REFUSED, REFUSED, False),
    "ended": Row(ended, S.EVENT_OVER, True, REFUSED, REFUSED, False),
    "started, ends later": Row(running, S.AVAILABLE, True, JOINED, PAID, True),
    "sold out": Row(sold_out, S.SOLD_OUT, True, JOINED, PAID, False),
    "queue": Row(queue, S.QUEUE, True, JOINED, PAID, True),
    "cannot charge": Row(cannot_charge, S.PAYMENTS_PENDING, True, REFUSED, REFUSED, False),
    "free, cannot charge": Row(free_and_cannot_charge, S.AVAILABLE, True, JOINED, NO_OFFER, True),
    "on sale": Row(on_sale, S.AVAILABLE, True, JOINED, PAID, True),
}


def test_the_grid_covers_every_sale_state():
    assert {row.state for row in GRID.values()} == set(SaleState)


@pytest.mark.parametrize("situation", GRID)
def test_page_join_checkout_and_search_agree_on_the_sale_state(stripe_sim, situation):
    row = GRID[situation]
    organiser = UserFactory(email="grid-organiser@example.com")
    onboard(stripe_sim, organiser)
    buyers = [UserFactory(email=f"grid-buyer{n}@example.com") for n in range(3)]
    built = row.build(organiser, buyers)

    # The event page: the selector's state, and the badge the page renders with its label.
    (offer,) = event_offers(event=built.event, viewer=None)
    assert offer.state == row.state
    assert offer.can_join == (row.join == JOINED)
    badge = f'<span class="badge badge-{row.state.value}">{row.state.label}</span>'
    url = reverse("event_detail", args=[built.event.pk])
    public = Client().get(url)
    assert public.status_code == (200 if row.public_page else 404)
    viewer = Client()
    viewer.force_login(organiser)  # the organiser sees even a draft
    assert badge in viewer.get(url).content.decode()

    # Search: with include_past, so that the filter, not the upcoming-only default, decides.
    def searched(**filters: bool) -> bool:
        hits = search_events("gridtest", filters=SearchFilters(include_past=True, **filters)).hits
        return [hit.event.pk for hit in hits] == [built.event.pk]

    assert searched(with_tickets=True) == row.searched
    assert searched() == built.event.is_published  # the filter is what leaves it out

    # Paying for the offer an earlier buyer holds.
    assert (row.checkout is NO_OFFER) == (built.offer is None)
    if built.offer is not None:
        assert row.checkout == (PAID if row.state.allows_taking_an_offer else REFUSED)
        try:
            order = checkout(buyers[0], built.offer)
        except PaymentsError:
            assert row.checkout == REFUSED
        else:
            assert row.checkout == PAID and order.checkout_url

    # A fresh buyer joining the waiting list (last: a join changes the queue).
    try:
        entry = join_waiting_list(user=buyers[2], ticket_type_id=built.ticket_type.pk, quantity=1)
    except NotFound:
        assert row.join == NOT_FOUND
    except WaitlistError:
        assert row.join == REFUSED
    else:
        assert row.join == JOINED and entry.created
