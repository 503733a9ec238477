"""The event editor's time-zone picker in a browser set to Tokyo: a new event starts in the
browser's zone, and typing in the filter narrows the grouped list."""

from playwright.sync_api import expect

from tests.browser.test_waitlist_journey import signed_in_page
from tests.factories import UserFactory


def test_a_new_event_starts_in_the_browser_s_zone_and_the_list_can_be_filtered(
    new_context, asgi_server
):
    organiser = UserFactory(email="tokyo-organiser@example.com")

    def tokyo_context():
        return new_context(timezone_id="Asia/Tokyo")

    page = signed_in_page(tokyo_context, asgi_server.url, organiser)
    page.goto(f"{asgi_server.url}/organiser/events/new/")

    zone = page.get_by_label("Time zone", exact=False).and_(page.locator("select"))
    expect(zone).to_have_value("Asia/Tokyo")
    page.get_by_label("Search zones by city or region").fill("buenos")
    expect(zone).to_have_value("America/Argentina/Buenos_Aires")
    visible = zone.locator("option:not([hidden])")
    expect(visible).to_have_count(1)
