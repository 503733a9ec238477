"""A sold-out free event: one buyer holds the last ticket, another waits; when the first
declines, the second's open page shows the offer without a reload, and they claim it."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickets.models import Ticket


def signed_in_page(new_context, server_url, user):
    client = Client()
    client.force_login(user)
    context = new_context()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": urlsplit(server_url).hostname,
                "path": "/",
            }
        ]
    )
    return context.new_page()


def test_an_offer_reaches_a_waiting_buyer_s_open_page(new_context, asgi_server):
    event = EventFactory(name="Tiny Talk", ticket_types=[])
    TicketTypeFactory(event=event, name="Free seat", price_minor=0, capacity=1)
    first, second = UserFactory(email="first@example.com"), UserFactory(email="second@example.com")
    event_url = f"{asgi_server.url}/events/{event.pk}/"

    first_page = signed_in_page(new_context, asgi_server.url, first)
    first_page.goto(event_url)
    first_page.get_by_role("button", name="Get tickets").click()
    expect(first_page.get_by_text("1 ticket held for you")).to_be_visible()
    # Counting down from the 30-minute window (a slow machine may be a few seconds in).
    expect(first_page.locator(".countdown")).to_have_text(re.compile(r"^(30:00|29:[0-5]\d) left$"))

    second_page = signed_in_page(new_context, asgi_server.url, second)
    second_page.goto(event_url)
    second_page.get_by_role("button", name="Join the waiting list").click()
    expect(second_page.get_by_text("you're next")).to_be_visible()

    first_page.get_by_role("button", name="Decline").click()

    # No reload: the live stream tells the panel to refresh itself.
    expect(second_page.get_by_text("1 ticket held for you")).to_be_visible(timeout=6000)
    second_page.get_by_role("button", name="Claim 1 free ticket").click()
    expect(second_page.get_by_text("1 ticket issued")).to_be_visible()
    assert list(Ticket.objects.values_list("owner__email", flat=True)) == ["second@example.com"]
