"""A buyer in Tokyo looking at a New York event reads New York's time, named as such, and
their own time beside it; a buyer in New York sees no second time."""

from datetime import UTC, datetime

from playwright.sync_api import expect

from search.services import index_event
from tests.browser.test_organiser_journey import collect_console_errors
from tests.factories import EventFactory

STARTS = datetime(2027, 6, 12, 23, 30, tzinfo=UTC)
EVENT_TIME = "Sat 12 Jun 2027, 19:30 EDT (America/New_York)"
TOKYO_TIME = "(your time: Sun 13 Jun, 08:30"


def new_york_event():
    event = EventFactory(name="Brooklyn Strings", timezone="America/New_York", starts_at=STARTS)
    index_event(event=event)
    return event


def test_a_viewer_in_tokyo_sees_the_event_s_zone_and_their_own_time(new_context, asgi_server):
    event = new_york_event()
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    errors = collect_console_errors(page)

    page.goto(asgi_server.url)
    card = page.locator("article.event-card", has_text="Brooklyn Strings")
    expect(card.locator("time")).to_have_text(EVENT_TIME)
    expect(card.locator(".viewer-time")).to_contain_text(TOKYO_TIME)

    page.goto(f"{asgi_server.url}/events/{event.pk}/")
    expect(page.locator("hgroup time").first).to_have_text(EVENT_TIME)
    expect(page.locator("hgroup .viewer-time").first).to_contain_text(TOKYO_TIME)

    # Results htmx swaps in as the buyer types get their own time too, once.
    page.get_by_role("searchbox", name="Search events").press_sequentially("brook", delay=60)
    hit = page.locator("#search-results article", has_text="Brooklyn Strings")
    expect(hit.locator("time")).to_have_text(EVENT_TIME)
    expect(hit.locator(".viewer-time")).to_have_count(1)
    expect(hit.locator(".viewer-time")).to_contain_text(TOKYO_TIME)
    assert errors == []


def test_a_viewer_in_the_event_s_zone_sees_one_time(new_context, asgi_server):
    event = new_york_event()
    page = new_context(timezone_id="America/New_York").new_page()
    page.goto(f"{asgi_server.url}/events/{event.pk}/")
    expect(page.locator("hgroup time").first).to_have_text(EVENT_TIME)
    page.wait_for_load_state("load")
    expect(page.locator(".viewer-time")).to_have_count(0)
