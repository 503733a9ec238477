"""An organiser's first visit: sign up, verify the e-mail address, create and publish an
event with an image and two ticket types; a visitor then finds it on the home page."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from events.models import Event
from tests.factories import PASSWORD

EMAIL = "new-organiser@example.com"
EVENT_NAME = "Harbour Jazz Night"
DESCRIPTION = "Doors open at 19:00.\nBring a friend and dance all night."
# allauth's default code: letters (and digits) in dash-separated groups, alone on a line.
VERIFICATION_CODE = re.compile(r"^\s*([A-Z0-9]{2,}(?:-[A-Z0-9]{2,})+)\s*$", re.MULTILINE)


def exactly(label: str) -> re.Pattern[str]:
    """A label's whole text, with or without the colon Django's label_suffix adds."""
    return re.compile(rf"^{re.escape(label)}:?$")


def collect_console_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions, including failed loads (a 404 image)."""
    errors: list[str] = []

    def on_console(message):
        source = message.location.get("url", "")
        if message.type == "error":
            errors.append(f"{message.text} ({source})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"


def assert_accessible(page: Page) -> None:
    """Run axe-core (WCAG 2 A and AA rules) on the page; serious or critical findings fail."""
    # Evaluated through DevTools, not added as a <script>: the page's CSP allows no inline one.
    page.evaluate(AXE_SCRIPT.read_text())
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ["wcag2a", "wcag2aa"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(" ")).join(", ")})`)"""
    )
    assert violations == [], f"{page.url}: {violations}"


@pytest.fixture
def poster(tmp_path):
    path = tmp_path / "poster.png"
    Image.new("RGB", (640, 360), (30, 90, 160)).save(path)
    return path


def test_new_organiser_publishes_an_event_a_visitor_can_find(
    page, new_context, asgi_server, mailoutbox, poster, tmp_path
):
    organiser_errors = collect_console_errors(page)
    starts_on = timezone.localdate() + timedelta(days=30)

    page.goto(asgi_server.url)
    main_nav = page.get_by_role("navigation", name="Main")
    # base.html styles the link as a button with role="button", so that is its role.
    main_nav.get_by_role("button", name="Sign up").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label(exactly("Password")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()

    expect(page.get_by_role("heading", name="Enter Email Verification Code")).to_be_visible()
    assert [message.to for message in mailoutbox] == [[EMAIL]]
    code = VERIFICATION_CODE.search(mailoutbox[0].body)
    assert code, mailoutbox[0].body
    page.get_by_label("Code").fill(code.group(1))
    page.get_by_role("button", name="Confirm").click()

    expect(main_nav.get_by_role("link", name=EMAIL)).to_be_visible()
    main_nav.get_by_role("link", name="Create event").click()

    assert_accessible(page)
    event_fields = page.get_by_role("group", name="Event")
    event_fields.get_by_label(exactly("Name")).fill(EVENT_NAME)
    event_fields.get_by_label("Description").fill(DESCRIPTION)
    event_fields.get_by_label("Venue").fill("The Blue Room")
    event_fields.get_by_label("Address").fill("12 Harbour Street, Bristol")
    event_fields.get_by_label("Starts").fill(f"{starts_on:%Y-%m-%d}T19:30")
    event_fields.get_by_label("Time zone").select_option("Europe/Paris")
    event_fields.get_by_label("Currency").select_option("EUR")
    event_fields.get_by_label("Image").set_input_files(poster)

    ticket_types = page.get_by_role("group", name="Ticket types")
    ticket_types.get_by_label(exactly("Name")).fill("Early bird")
    ticket_types.get_by_label("Price").fill("12.50")
    ticket_types.get_by_label("Capacity").fill("50")
    page.get_by_role("button", name="Add a ticket type").click()
    expect(ticket_types.get_by_label(exactly("Name"))).to_have_count(2)
    second_name = ticket_types.get_by_label(exactly("Name")).nth(1)
    expect(second_name).to_be_focused()
    second_name.fill("Standard")
    ticket_types.get_by_label("Price").nth(1).fill("18")
    ticket_types.get_by_label("Capacity").nth(1).fill("150")
    page.get_by_role("button", name="Create event").click()

    expect(page.get_by_role("status").filter(has_text="Event created as a draft")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(EVENT_NAME)
    expect(page.get_by_role("link", name="set up payments")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").filter(has_text="is published")).to_be_visible()
    expect(page.get_by_role("button", name="Unpublish")).to_be_visible()

    event = Event.objects.get(name=EVENT_NAME)
    assert event.status == Event.Status.PUBLISHED
    assert event.organiser.email == EMAIL
    assert sorted(event.ticket_types.values_list("name", "price_minor", "capacity")) == [
        ("Early bird", 1250, 50),
        ("Standard", 1800, 150),
    ]

    visitor = new_context().new_page()
    visitor_errors = collect_console_errors(visitor)
    visitor.goto(asgi_server.url)
    expect(visitor.get_by_role("navigation", name="Main")).to_contain_text("Sign in")
    assert_accessible(visitor)
    card = visitor.get_by_role("article").filter(has=visitor.get_by_role("link", name=EVENT_NAME))
    expect(card).to_contain_text("The Blue Room")
    expect(card).to_contain_text("From €12.50")
    card_image = card.locator("img")
    expect(card_image).to_have_attribute("src", re.compile(r"/media/.+\.jpg$"))
    visitor.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=card_image.element_handle()
    )

    card.get_by_role("link", name=EVENT_NAME).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(EVENT_NAME)
    hero = visitor.get_by_role("img", name=f"Image for {EVENT_NAME}")
    expect(hero).to_be_visible()
    visitor.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=hero.element_handle()
    )
    starts = visitor.locator("hgroup time").first
    expect(starts).to_contain_text(f"{starts_on:%a} {starts_on.day} {starts_on:%b %Y}, 19:30 ")
    expect(starts).to_contain_text("(Europe/Paris)")
    # The organiser has not connected Stripe yet: paid tickets say so instead of failing
    # at checkout (the payment journey covers connecting).
    for name, price in [("Early bird", "€12.50"), ("Standard", "€18.00")]:
        row = visitor.get_by_role("row").filter(has=visitor.get_by_role("cell", name=name))
        expect(row.get_by_role("cell")).to_have_text(
            [
                name,
                price,
                re.compile(r"Not on sale yet\s+The organiser is still setting up card payments"),
                "",
            ]
        )
    # innerText follows the CSS, so the newline survives only if the page shows it.
    description = visitor.get_by_text("Doors open at 19:00.")
    assert description.evaluate("element => element.innerText") == DESCRIPTION

    assert_accessible(visitor)
    visitor.screenshot(path=tmp_path / "public-event.png", full_page=True)
    assert organiser_errors == []
    assert visitor_errors == []
