"""Every page and e-mail that shows an event's time or an offer's deadline names the event's
zone, so a buyer in Tokyo does not read New York's evening as their own."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from payments.models import Order
from payments.notifications import send_order_email
from search.services import index_event
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from waitlist.notifications import send_entry_email
from waitlist.services import join_waiting_list

pytestmark = pytest.mark.django_db

STARTS = datetime(2027, 6, 12, 23, 30, tzinfo=UTC)
STARTS_SHOWN = "Sat 12 Jun 2027, 19:30 EDT (America/New_York)"
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)  # 07:00 EST in New York
# The offer runs 30 minutes; with the clock held, it ends at 12:30 UTC.
DEADLINE_SHOWN = "Fri 15 Jan 2027, 07:30 EST (America/New_York)"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def event(organiser):
    event = EventFactory(
        organiser=organiser,
        name="Rock & Roll Night",
        timezone="America/New_York",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=3, minutes=30),
        offer_window_minutes=30,
        ticket_types=[],
    )
    TicketTypeFactory(event=event, name="Standard", capacity=1, price_minor=2500)
    index_event(event=event)
    return event


def offer_for(buyer, event):
    ticket_type = event.ticket_types.get()
    return join_waiting_list(user=buyer, ticket_type_id=ticket_type.pk, quantity=1).entry


def page(client, url, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_home_page_cards_name_the_event_s_zone(client, event):
    html = page(client, reverse("home"))
    assert f'data-zone="America/New_York">{STARTS_SHOWN}</time>' in html
    assert 'datetime="2027-06-12T19:30:00-04:00"' in html
    assert "js/viewer-time.js" in html


def test_search_results_name_the_zone_on_the_page_and_in_live_results(client, event):
    assert STARTS_SHOWN in page(client, reverse("search") + "?q=rock")
    live = page(client, reverse("search") + "?q=rock", HX_Request="true", HX_Target="main")
    assert "<h1>Search events</h1>" in live and "<html" not in live
    assert STARTS_SHOWN in live
    results = page(
        client, reverse("search") + "?q=rock", HX_Request="true", HX_Target="search-results"
    )
    assert STARTS_SHOWN in results


def test_the_event_page_names_the_zone_of_its_start_and_end(client, event):
    html = page(client, reverse("event_detail", args=[event.pk]))
    assert f"{STARTS_SHOWN}</time> – " in html
    assert ">23:00 EDT (America/New_York)</time>" in html


def test_the_offer_deadline_names_the_zone_in_the_ticket_panel_and_my_queue(client, buyer, event):
    offer_for(buyer, event)
    client.force_login(buyer)
    panel = page(client, reverse("ticket_panel", args=[event.pk]))
    assert "until <time " in panel and f">{DEADLINE_SHOWN}</time>" in panel
    assert DEADLINE_SHOWN in page(client, reverse("event_detail", args=[event.pk]))
    my_queue = page(client, reverse("my_queue"))
    assert f">{DEADLINE_SHOWN}</time>" in my_queue
    # When the buyer joined, also in the event's zone.
    assert ">Fri 15 Jan 2027, 07:00 EST (America/New_York)</time>" in my_queue


def test_a_sale_start_names_the_zone(client, event):
    event.ticket_types.update(sale_starts_at=datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    html = page(client, reverse("event_detail", args=[event.pk]))
    assert "from <time" in html and "Mon 1 Mar 2027, 10:00 EST (America/New_York)" in html


def test_the_organiser_s_pages_name_the_zone(client, organiser, event):
    client.force_login(organiser)
    assert STARTS_SHOWN in page(client, reverse("my_events"))
    assert STARTS_SHOWN in page(client, reverse("event_edit", args=[event.pk]))


def test_waitlist_e_mails_name_the_zone_and_keep_the_name_as_typed(buyer, event, mailoutbox):
    entry = offer_for(buyer, event)
    send_entry_email(entry_id=entry.pk, kind="offer_made")
    second = UserFactory(email="second@example.com")
    waiting = offer_for(second, event)
    send_entry_email(entry_id=waiting.pk, kind="joined")
    offer_mail, joined_mail = mailoutbox[-2:]
    assert f"open until {DEADLINE_SHOWN}." in offer_mail.body
    for mail in (offer_mail, joined_mail):
        assert f"The event: Rock & Roll Night, {STARTS_SHOWN}, The Hall." in mail.body
        assert "&amp;" not in mail.body


@pytest.mark.parametrize("kind", ["fulfilled", "refunded"])
def test_payment_e_mails_name_the_zone_and_keep_the_name_as_typed(kind, buyer, event, mailoutbox):
    entry = offer_for(buyer, event)
    order = Order.objects.create(
        buyer=buyer,
        entry=entry,
        ticket_type=entry.ticket_type,
        quantity=1,
        unit_amount_minor=2500,
        amount_minor=2500,
        application_fee_minor=100,
        currency="GBP",
        stripe_account_id="acct_times",
        checkout_expires_at=NOW + timedelta(hours=1),
    )
    send_order_email(order_id=order.pk, kind=kind)
    body = mailoutbox[-1].body
    assert "for Rock & Roll Night" in body
    assert "&amp;" not in body
    assert f"The event: Rock & Roll Night, {STARTS_SHOWN}, The Hall." in body
