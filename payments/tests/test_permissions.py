"""The permissions matrix over every organiser URL of the payments app: the event's orders,
refunding an order, retrying a refused refund, cancelling the event and following the
cancellation. Only the event's organiser reaches them; anyone else signed in (another
organiser, the order's own buyer, staff) is told 404 and changes nothing; a signed-out
visitor is sent to sign in."""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from events.models import Event
from payments.models import Order, Refund
from payments.services.refunds import refund_tickets
from payments.tests.test_refunds import pay, refund_outside_the_site
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class World:
    event: Event
    order: Order
    failed_refund: Refund


@dataclass(frozen=True)
class Call:
    method: str
    url_name: str
    target: str  # which of the world's objects the URL names: event, order or failed_refund
    data: dict | None = None

    def url(self, world: World) -> str:
        return reverse(self.url_name, args=[getattr(world, self.target).pk])

    def send(self, client, world: World):
        if self.method == "POST":
            return client.post(self.url(world), self.data or {})
        return client.get(self.url(world), self.data or {})

    def __str__(self) -> str:
        return f"{self.method} {self.url_name}"


ORGANISER_CALLS = [
    Call("GET", "payments_event_orders", "event"),
    Call("GET", "payments_refund", "order", {"scope": "whole"}),
    Call("POST", "payments_refund", "order", {"scope": "whole", "confirmed": "on"}),
    Call("POST", "payments_retry_refund", "failed_refund"),
    Call("GET", "event_cancel", "event"),
    Call("POST", "event_cancel", "event"),
    Call("GET", "event_cancellation", "event"),
    Call("GET", "event_cancellation_panel", "event"),
]


@pytest.fixture
def world(stripe_sim, offer, buyers, seller) -> World:
    """A published event of the seller's with a paid order of 2 × £25.00 and a refund
    Stripe refused (£40.00 was refunded outside the site, so £10.00 is left)."""
    order = pay(stripe_sim, buyers[0], offer)
    refund_outside_the_site(stripe_sim, order, 4000)
    failed = refund_tickets(organiser=seller, order_id=order.pk)
    assert failed.status == Refund.Status.FAILED
    event = order.ticket_type.event
    assert event.status == Event.Status.PUBLISHED
    return World(event=event, order=order, failed_refund=failed)


def state(world: World) -> tuple:
    """Everything an organiser's POST could change."""
    return (
        Event.objects.get(pk=world.event.pk).status,
        sorted(Refund.objects.values_list("pk", "status")),
        sorted(Ticket.objects.values_list("pk", "status")),
        Order.objects.get(pk=world.order.pk).status,
    )


@pytest.mark.parametrize("call", ORGANISER_CALLS, ids=str)
def test_signed_out_visitors_are_sent_to_sign_in(client, world, call):
    before = state(world)

    response = call.send(client, world)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert state(world) == before


@pytest.mark.parametrize("role", ["other_organiser", "buyer_of_the_order", "staff"])
@pytest.mark.parametrize("call", ORGANISER_CALLS, ids=str)
def test_nobody_but_the_organiser_reaches_the_payments_organiser_urls(
    client, world, request, role, call
):
    user = world.order.buyer if role == "buyer_of_the_order" else request.getfixturevalue(role)
    client.force_login(user)
    before = state(world)

    response = call.send(client, world)

    assert response.status_code == 404
    assert state(world) == before


# What the organiser gets, and whether it changes anything.
OWNER_ANSWERS = {
    "GET payments_event_orders": (200, False),
    "GET payments_refund": (200, False),
    "POST payments_refund": (302, True),
    "POST payments_retry_refund": (302, True),
    "GET event_cancel": (200, False),
    "POST event_cancel": (302, True),
    "GET event_cancellation": (302, False),  # to the edit page: the event is not cancelled
    "GET event_cancellation_panel": (200, False),
}


def test_every_organiser_call_has_the_owner_s_answer():
    assert sorted(OWNER_ANSWERS) == sorted(str(call) for call in ORGANISER_CALLS)


@pytest.mark.parametrize("call", ORGANISER_CALLS, ids=str)
def test_the_organiser_reaches_every_payments_organiser_url(client, world, seller, call):
    client.force_login(seller)
    before = state(world)
    status_code, changes = OWNER_ANSWERS[str(call)]

    response = call.send(client, world)

    assert response.status_code == status_code
    assert (state(world) != before) == changes
