"""An organiser cancels a paid event in a real browser: the confirmation says what will be
refunded; the progress page follows the refund job live to "every ticket holder has been
refunded" without a reload; a buyer who has the event page open sees it is cancelled. Both
pages fit a 390 px wide phone."""

import time

import pytest
from playwright.sync_api import Page, expect

from events.models import Event
from payments.models import Order, Refund
from payments.services.fulfilment import refresh_order
from payments.tests.conftest import checkout, onboard
from tests.browser.test_organiser_journey import assert_accessible
from tests.browser.test_payment_journey import site_console_errors
from tests.browser.test_waitlist_journey import signed_in_page
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickets.models import Ticket
from waitlist.live import hub
from waitlist.models import WaitingListEntry
from waitlist.services import join_waiting_list

PHONE = {"width": 390, "height": 844}
# Sub-pixel rounding of borders and scrollbars; real overflow is tens of pixels.
OVERFLOW_TOLERANCE = 2
QUICK = 10_000


def assert_fits_width(page: Page) -> None:
    """Nothing in the page's main content is wider than the viewport (no sideways scrolling
    on a phone). The site header still overflows at 390 px (issue 14, a separate fix), so
    elements inside it are left out; every other element must end within the viewport."""
    found = page.evaluate(
        """(tolerance) => ({
            main: document.querySelector("main").scrollWidth,
            viewport: window.innerWidth,
            beyond: [...document.body.querySelectorAll("*")]
                .filter((element) => !element.closest("body > header"))
                .filter((element) => element.getBoundingClientRect().right
                                     > window.innerWidth + tolerance)
                .map((element) => element.outerHTML.slice(0, 80)),
        })""",
        OVERFLOW_TOLERANCE,
    )
    assert found["main"] <= found["viewport"] + OVERFLOW_TOLERANCE, f"{page.url}: {found}"
    assert found["beyond"] == [], f"{page.url}: wider than the viewport: {found['beyond']}"


def wait_for_live_streams(count: int) -> None:
    """Until the site (running in this process) has ``count`` live streams open."""
    deadline = time.monotonic() + QUICK / 1000
    while hub.stream_count < count:
        assert time.monotonic() < deadline, f"{hub.stream_count} live streams, not {count}"
        time.sleep(0.05)


@pytest.fixture
def sold_out_paid_event(stripe_sim):
    """A published event with one £25.00 place, paid for by a buyer through the simulator's
    Checkout, and a second buyer waiting behind them."""
    organiser = UserFactory(email="promoter@example.com")
    onboard(stripe_sim, organiser)
    event = EventFactory(
        organiser=organiser, name="Cellar Sessions", ticket_types=[], payments_ready=False
    )
    standing = TicketTypeFactory(event=event, name="Standing", price_minor=2500, capacity=1)
    buyer = UserFactory(email="holder@example.com")
    offer = join_waiting_list(user=buyer, ticket_type_id=standing.pk, quantity=1).entry
    order = checkout(buyer, offer)
    stripe_sim.pay(order.checkout_session_id, card="4242424242424242")
    assert refresh_order(order=order).status == Order.Status.FULFILLED
    waiter = UserFactory(email="waiter@example.com")
    waiting = join_waiting_list(user=waiter, ticket_type_id=standing.pk, quantity=1).entry
    assert waiting.status == WaitingListEntry.Status.WAITING
    assert event.status == Event.Status.PUBLISHED
    return event, buyer


def test_an_organiser_cancels_a_paid_event_and_watches_the_refunds_land(
    new_context, asgi_server, jobs, sold_out_paid_event
):
    event, buyer = sold_out_paid_event
    buyer_page = signed_in_page(new_context, asgi_server.url, buyer)
    buyer_errors = site_console_errors(buyer_page, asgi_server.url)
    buyer_page.goto(f"{asgi_server.url}/events/{event.pk}/")
    expect(buyer_page.get_by_role("heading", name="Cellar Sessions")).to_be_visible()
    expect(buyer_page.get_by_text("This event has been cancelled")).to_have_count(0)

    streams_before = hub.stream_count
    page = signed_in_page(new_context, asgi_server.url, event.organiser)
    page.set_viewport_size(PHONE)
    errors = site_console_errors(page, asgi_server.url)
    page.goto(f"{asgi_server.url}/organiser/events/{event.pk}/edit/")
    page.get_by_role("button", name="Cancel event…").click()

    expect(page.get_by_role("heading", name="Cancel this event?")).to_be_visible()
    summary = page.get_by_role("listitem").filter(has_text="refund")
    expect(summary.first).to_contain_text("refund 1 paid ticket in 1 order: £25.00")
    expect(page.get_by_text("close 1 waiting-list place")).to_be_visible()
    assert_fits_width(page)
    assert_accessible(page)
    page.get_by_role("button", name="Cancel the event and refund everyone").click()

    expect(page.get_by_role("heading", name="Cancellation", level=1)).to_be_visible()
    panel = page.locator("#cancellation-panel")
    expect(panel).to_contain_text("Refunds are under way.")
    expect(panel).to_contain_text("0 of 1")
    assert_fits_width(page)
    assert_accessible(page)
    # Wait for the page's live stream to be open before the job runs (else its message
    # would reach nobody and only the 15 s poll would catch up).
    wait_for_live_streams(count=streams_before + 1)
    loaded_at = page.evaluate("() => performance.timeOrigin")

    assert jobs.run_due() >= 1  # what a Huey consumer would do: the refund pass

    # No reload: the live stream has the panel fetched again.
    expect(panel).to_contain_text("Every ticket holder has been refunded.", timeout=QUICK)
    expect(panel).to_contain_text("1 of 1")
    expect(panel).to_contain_text("£25.00")
    assert page.evaluate("() => performance.timeOrigin") == loaded_at
    assert_fits_width(page)

    buyer_page.reload()
    expect(buyer_page.get_by_role("alert")).to_contain_text(
        "This event has been cancelled. Ticket holders have been refunded."
    )

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    refund = Refund.objects.get()
    assert (refund.status, refund.amount_minor) == (Refund.Status.SUCCEEDED, 2500)
    assert Ticket.objects.get().status == Ticket.Status.REFUNDED
    assert WaitingListEntry.objects.filter(status=WaitingListEntry.Status.WAITING).count() == 0
    assert errors == []
    assert buyer_errors == []
    page.context.close()
    buyer_page.context.close()
