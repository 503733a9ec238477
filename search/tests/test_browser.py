"""Search as you type in Debian's chromium: results replace the page's content while
typing, the URL follows, filters stay applied, screen readers hear the count."""

import re

import pytest
from playwright.sync_api import Page, expect

from search.services import index_event
from tests.browser.conftest import (  # noqa: F401
    _chromium_present,
    browser_type_launch_args,
    new_context,
)
from tests.browser.test_organiser_journey import assert_accessible, collect_console_errors
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(asgi_server):
    roof = EventFactory(name="Jazz on the Roof", venue_name="Skyline Bar")
    free = EventFactory(name="Free Jazz Jam", ticket_types=[])
    TicketTypeFactory(event=free, price_minor=0)
    EventFactory(name="Comedy Cellar")
    for event in (roof, free):
        index_event(event=event)
    return asgi_server


def test_typing_in_the_search_box_shows_ranked_results_from_any_page(page: Page, catalogue):
    errors = collect_console_errors(page)
    page.goto(catalogue.url)
    search_box = page.get_by_role("searchbox", name="Search events")

    search_box.press_sequentially("jaz", delay=60)

    results = page.locator("#search-results")
    expect(results.locator("mark").first).to_have_text("Jazz")
    expect(results.get_by_role("link", name="Jazz on the Roof")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search\?q=jaz$"))
    expect(page).to_have_title(re.compile("^jaz · Search"))
    expect(page.get_by_role("status").filter(has_text="events found")).to_have_text(
        "2 events found"
    )

    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Free only").check()
    expect(results.get_by_role("link", name="Jazz on the Roof")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"free_only=on"))

    search_box.press("End")
    search_box.press_sequentially("z jam", delay=60)
    expect(page).to_have_url(re.compile(r"/search\?q=jazz\+jam&free_only=on$"))  # no empty filters
    expect(results.get_by_role("link", name="Free Jazz Jam")).to_be_visible()
    expect(page.get_by_label("Free only")).to_be_checked()

    search_box.fill("bagpipes")
    expect(results).to_contain_text("No events match “bagpipes”")
    assert_accessible(page)

    # One history entry per search and per filter change, not one per keystroke.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search\?q=jaz$"))
    page.go_back()
    expect(page).to_have_url(catalogue.url + "/")
    assert errors == []


def test_the_search_page_works_with_javascript_off(browser, catalogue):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(catalogue.url)

    page.get_by_role("searchbox", name="Search events").fill("comedy")
    page.get_by_role("searchbox", name="Search events").press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=comedy$"))
    expect(page.get_by_role("link", name="Comedy Cellar")).to_have_count(0)  # not indexed
    expect(page.locator("#search-results")).to_contain_text("No events match “comedy”")
    context.close()
