"""How many SQL queries the buyer's hot pages take, pinned exactly.

A count that changes is a regression to look at, not a number to update: these pages are
what a crowd reloads while it waits. A page with more rows (ticket types, entries) must take
as many queries as with one: a query per row is the defect these tests exist to catch.

Sessions and authentication count too, so buyers sign in with force_login.
"""

import pytest
from django.urls import reverse

from events.models import Event, TicketType
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from waitlist import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _join_without_limit(settings) -> None:
    # The scenes below join more queues than the per-buyer rate limit allows in half an hour.
    settings.WAITLIST_JOIN_LIMIT = 100


def join(user, ticket_type: TicketType, quantity: int = 1):
    return services.join_waiting_list(
        user=user, ticket_type_id=ticket_type.pk, quantity=quantity
    ).entry


def sold_out_type(event: Event, holder, name: str = "Standard") -> TicketType:
    """A one-place type whose place ``holder`` holds on offer, so the next to join waits."""
    ticket_type = TicketTypeFactory(event=event, name=name, capacity=1)
    join(holder, ticket_type)
    return ticket_type


def event_where_buyer_waits_holds_an_offer_and_tickets(organiser, buyer) -> Event:
    """Three ticket types: the buyer waits behind someone for one, holds an offer for
    another, and owns two tickets of a free third."""
    event = EventFactory(organiser=organiser, ticket_types=[])
    join(buyer, sold_out_type(event, UserFactory(email="ahead@example.com"), "Front row"))
    join(buyer, TicketTypeFactory(event=event, name="Standing", capacity=5))
    free = TicketTypeFactory(event=event, name="Free talk", price_minor=0, capacity=5)
    services.accept_offer(user=buyer, entry_id=join(buyer, free, quantity=2).pk)
    return event


def get_counted(client, url: str, django_assert_num_queries, queries: int) -> str:
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# 1 the event with its organiser; 2 ticket types with an overdue offer (lazy expiry: none);
# 3 the event's ticket types; 4 their queue lengths; 5 places held by overdue offers per
# type; 6 whether the organiser can take payments. No session: no cookie was sent.
ANONYMOUS_EVENT_PAGE_QUERIES = 6


def test_the_event_page_takes_6_queries_for_an_anonymous_visitor(
    client, organiser, buyer, django_assert_num_queries
):
    event = event_where_buyer_waits_holds_an_offer_and_tickets(organiser, buyer)
    page = get_counted(
        client,
        reverse("event_detail", args=[event.pk]),
        django_assert_num_queries,
        ANONYMOUS_EVENT_PAGE_QUERIES,
    )
    assert "1 person in the queue" in page
    assert "Sign in to get tickets" in page


def test_the_ticket_panel_takes_6_queries_for_an_anonymous_visitor(
    client, organiser, buyer, django_assert_num_queries
):
    """Every open event page polls it every 30 seconds: the busiest read of the site."""
    event = event_where_buyer_waits_holds_an_offer_and_tickets(organiser, buyer)
    panel = get_counted(
        client,
        reverse("ticket_panel", args=[event.pk]),
        django_assert_num_queries,
        ANONYMOUS_EVENT_PAGE_QUERIES,
    )
    assert "1 person in the queue" in panel


# The event page and its ticket panel read the same for a signed-in buyer: 1 the event with
# its organiser; 2 ticket types with an overdue offer (none); 3 the event's ticket types;
# 4 their queue lengths; 5 places held by overdue offers per type; 6 the session; 7 its
# user; 8 the buyer's live entries for these types; 9 the buyer's tickets per type;
# 10 whether the organiser can take payments; 11 the positions of the buyer's waiting
# entries (one statement for all of them).
BUYER_EVENT_PAGE_QUERIES = 11


def test_the_event_page_takes_11_queries_for_a_buyer_who_waits_holds_an_offer_and_tickets(
    client, organiser, buyer, django_assert_num_queries
):
    event = event_where_buyer_waits_holds_an_offer_and_tickets(organiser, buyer)
    client.force_login(buyer)
    page = get_counted(
        client,
        reverse("event_detail", args=[event.pk]),
        django_assert_num_queries,
        BUYER_EVENT_PAGE_QUERIES,
    )
    assert "you're next" in page
    assert "1 ticket held for you" in page
    assert "You hold 2 tickets of this type" in page


def test_the_ticket_panel_takes_11_queries_for_a_buyer_who_waits_holds_an_offer_and_tickets(
    client, organiser, buyer, django_assert_num_queries
):
    event = event_where_buyer_waits_holds_an_offer_and_tickets(organiser, buyer)
    client.force_login(buyer)
    panel = get_counted(
        client,
        reverse("ticket_panel", args=[event.pk]),
        django_assert_num_queries,
        BUYER_EVENT_PAGE_QUERIES,
    )
    assert "1 ticket held for you" in panel
    assert "You hold 2 tickets of this type" in panel


@pytest.mark.parametrize("ticket_types", [1, 5])
def test_the_event_page_takes_as_many_queries_with_5_ticket_types_as_with_1(
    client, organiser, buyer, ticket_types, django_assert_num_queries
):
    """The buyer waits for every type: the worst case, one queue position per type."""
    event = EventFactory(organiser=organiser, ticket_types=[])
    ahead = UserFactory(email="ahead@example.com")
    for number in range(ticket_types):
        join(buyer, sold_out_type(event, ahead, f"Type {number}"))
    client.force_login(buyer)
    page = get_counted(
        client,
        reverse("event_detail", args=[event.pk]),
        django_assert_num_queries,
        BUYER_EVENT_PAGE_QUERIES,
    )
    assert page.count("you're next") == ticket_types


def queue_of_twelve_entries(organiser, buyer) -> None:
    """Four events with three entries each: waiting (behind someone), offered, and one
    that ended (purchased, declined, left, purchased)."""
    ahead = UserFactory(email="ahead@example.com")
    for number in range(4):
        event = EventFactory(organiser=organiser, ticket_types=[])
        join(buyer, sold_out_type(event, ahead, "Front row"))
        join(buyer, TicketTypeFactory(event=event, name="Standing", capacity=5))
        if number == 1:
            declined = join(buyer, TicketTypeFactory(event=event, name="Balcony", capacity=5))
            services.decline_offer(user=buyer, entry_id=declined.pk)
        elif number == 2:
            left = join(buyer, sold_out_type(event, ahead, "Box"))
            services.leave_waiting_list(user=buyer, entry_id=left.pk)
        else:
            free = TicketTypeFactory(event=event, name="Free talk", price_minor=0, capacity=5)
            services.accept_offer(user=buyer, entry_id=join(buyer, free).pk)


def queue_of_one_entry(organiser, buyer) -> None:
    event = EventFactory(organiser=organiser, ticket_types=[])
    join(buyer, sold_out_type(event, UserFactory(email="ahead@example.com")))


@pytest.mark.parametrize(
    ("build_queue", "entries", "waiting"),
    [(queue_of_one_entry, 1, 1), (queue_of_twelve_entries, 12, 4)],
)
def test_my_queue_takes_5_queries_with_12_entries_as_with_1(
    client, organiser, buyer, build_queue, entries, waiting, django_assert_num_queries
):
    build_queue(organiser, buyer)
    client.force_login(buyer)
    # 1 the session; 2 its user; 3 the buyer's entries with their types and events; 4 the
    # positions of the waiting ones (one statement for all); 5 the events the buyer waits
    # for, whose changes the page listens to.
    page = get_counted(client, reverse("my_queue"), django_assert_num_queries, 5)
    assert page.count("<tr>") == 1 + entries  # the header row and one per entry
    assert page.count("You're next") == waiting
