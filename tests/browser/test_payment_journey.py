"""Paying through Stripe in a real browser: an organiser connects their Stripe account on the
simulator's hosted onboarding page; a buyer who waited in a sold-out queue gets the offer live
and pays on the simulator's hosted Checkout page; a declined card, then a good one."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from payments.models import ConnectedAccount, Order
from payments.tests.conftest import onboard
from tests.browser.test_organiser_journey import assert_accessible
from tests.browser.test_waitlist_journey import signed_in_page
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickets.models import Ticket
from waitlist.models import WaitingListEntry
from waitlist.services import join_waiting_list

SIMULATOR_HEADING = "Stripe simulator — TEST MODE"
SITE_BANNER = "TEST MODE — payments are simulated; no real money moves."
# Within one page load: the live stream, the checkout redirect and Stripe's answer.
QUICK = 10_000


def site_console_errors(page: Page, site_url: str) -> list[str]:
    """Console errors and uncaught exceptions on the site's own pages (the simulator's hosted
    pages are Stripe's, not ours)."""
    errors: list[str] = []

    def on_console(message):
        source = message.location.get("url", "") or page.url
        if message.type == "error" and source.startswith(site_url):
            errors.append(f"{message.text} ({source})")

    def on_page_error(error):
        if page.url.startswith(site_url):
            errors.append(f"{error} ({page.url})")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


@pytest.fixture
def webhooks_to_site(asgi_server, stripe_sim):
    """The simulator delivers its signed webhooks to the running site."""
    stripe_sim.configure_webhook(
        asgi_server.url + "/stripe/webhook/",
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
    )
    return stripe_sim


@pytest.fixture
def paid_event(webhooks_to_site):
    """An event with a single £25.00 place, by an organiser whose simulated Stripe account
    has finished onboarding."""
    organiser = UserFactory(email="promoter@example.com")
    onboard(webhooks_to_site, organiser)
    event = EventFactory(
        organiser=organiser, name="Cellar Sessions", ticket_types=[], payments_ready=False
    )
    TicketTypeFactory(event=event, name="Standing", price_minor=2500, capacity=1)
    return event


def pay_on_the_simulator(page: Page, card: str) -> None:
    expect(page.get_by_role("heading", name=SIMULATOR_HEADING)).to_be_visible(timeout=QUICK)
    expect(page.locator("#total")).to_have_text("£25.00")
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Pay").click()


def expect_tickets_ready(page: Page, site_url: str) -> None:
    # The page may first say "Processing your payment…" and poll until Stripe confirms.
    expect(page).to_have_url(re.compile(rf"^{re.escape(site_url)}/checkout/success/\?session_id="))
    expect(page.get_by_role("status").filter(has_text="your tickets are ready")).to_be_visible(
        timeout=QUICK
    )
    expect(page.get_by_text(SITE_BANNER)).to_be_visible()


def assert_one_paid_ticket(owner) -> None:
    order = Order.objects.get()
    assert (order.status, order.buyer_id) == (Order.Status.FULFILLED, owner.pk)
    assert (order.amount_minor, order.application_fee_minor, order.currency) == (2500, 25, "GBP")
    ticket = Ticket.objects.get()
    assert (ticket.owner_id, ticket.status, ticket.amount_minor, ticket.order_id) == (
        owner.pk,
        Ticket.Status.VALID,
        2500,
        order.pk,
    )


def test_an_organiser_connects_stripe_on_the_hosted_onboarding_page(
    new_context, asgi_server, webhooks_to_site
):
    organiser = UserFactory(email="first-time-seller@example.com")
    page = signed_in_page(new_context, asgi_server.url, organiser)
    errors = site_console_errors(page, asgi_server.url)

    page.goto(f"{asgi_server.url}/organiser/get-paid/")
    expect(page.get_by_role("heading", name="Get paid", level=1)).to_be_visible()
    expect(page.get_by_text(SITE_BANNER)).to_be_visible()
    expect(page.get_by_text("You haven't connected a Stripe account yet.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Connect with Stripe").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(webhooks_to_site.url)}/hosted/onboarding/"))
    expect(page).to_have_title(re.compile("Stripe simulator"))
    expect(page.get_by_role("heading", name=SIMULATOR_HEADING)).to_be_visible()
    page.get_by_role("button", name="Submit").click()

    expect(page).to_have_url(f"{asgi_server.url}/organiser/get-paid/")
    expect(page.get_by_text("Active: you can sell paid tickets")).to_be_visible()
    expect(page.get_by_text("Your Stripe account can take payments.")).to_be_visible()
    expect(page.get_by_text(SITE_BANNER)).to_be_visible()
    expect(page.get_by_role("button", name="Connect with Stripe")).to_have_count(0)
    assert_accessible(page)

    account = ConnectedAccount.objects.get(organiser=organiser)
    assert (account.details_submitted, account.charges_enabled, account.payouts_enabled) == (
        True,
        True,
        True,
    )
    at_stripe = webhooks_to_site.client().v1.accounts.retrieve(account.stripe_account_id)
    assert at_stripe.charges_enabled and at_stripe.metadata["organiser_id"] == str(organiser.pk)
    assert errors == []


def test_a_waiting_buyer_gets_the_offer_live_and_pays_on_stripe_checkout(
    new_context, asgi_server, stripe_sim, paid_event
):
    first = UserFactory(email="holder@example.com")
    second = UserFactory(email="waiter@example.com")
    standing = paid_event.ticket_types.get()
    held = join_waiting_list(user=first, ticket_type_id=standing.pk, quantity=1).entry
    assert held.status == WaitingListEntry.Status.OFFERED  # the only place: sold out now
    event_url = f"{asgi_server.url}/events/{paid_event.pk}/"

    first_page = signed_in_page(new_context, asgi_server.url, first)
    first_errors = site_console_errors(first_page, asgi_server.url)
    first_page.goto(event_url)
    expect(first_page.get_by_text("1 ticket held for you")).to_be_visible()

    page = signed_in_page(new_context, asgi_server.url, second)
    errors = site_console_errors(page, asgi_server.url)
    page.goto(event_url)
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page.get_by_text("you're next")).to_be_visible()

    first_page.get_by_role("button", name="Decline").click()
    expect(first_page.get_by_text("1 ticket held for you")).to_have_count(0)

    # No reload: the live stream refreshes the waiting buyer's panel with the offer.
    expect(page.get_by_text("1 ticket held for you")).to_be_visible(timeout=QUICK)
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^(30:00|29:[0-5]\d) left$"))
    page.get_by_role("button", name="Buy 1 for £25.00").click()

    expect(page).to_have_url(re.compile(r"/hosted/checkout/cs_test_"), timeout=QUICK)
    pay_on_the_simulator(page, "4242 4242 4242 4242")
    expect_tickets_ready(page, asgi_server.url)

    assert_one_paid_ticket(second)
    assert WaitingListEntry.objects.get(user=second).status == WaitingListEntry.Status.PURCHASED
    order = Order.objects.get()
    at_stripe = stripe_sim.client().v1.checkout.sessions.retrieve(
        order.checkout_session_id,
        params={"expand": ["payment_intent"]},
        options={"stripe_account": order.stripe_account_id},
    )
    assert (at_stripe.payment_status, at_stripe.amount_total) == ("paid", 2500)
    assert at_stripe.payment_intent.application_fee_amount == 25
    assert order.payment_intent_id == at_stripe.payment_intent.id
    assert errors == []
    assert first_errors == []
    # Close the event pages' live streams now rather than making the server wait for them.
    first_page.context.close()
    page.context.close()


def test_a_declined_card_then_a_good_one(new_context, asgi_server, paid_event):
    buyer = UserFactory(email="unlucky@example.com")
    standing = paid_event.ticket_types.get()
    offer = join_waiting_list(user=buyer, ticket_type_id=standing.pk, quantity=1).entry
    page = signed_in_page(new_context, asgi_server.url, buyer)
    errors = site_console_errors(page, asgi_server.url)
    page.goto(f"{asgi_server.url}/events/{paid_event.pk}/")
    page.get_by_role("button", name="Buy 1 for £25.00").click()

    pay_on_the_simulator(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(page).to_have_url(re.compile(r"/hosted/checkout/cs_test_"))
    offer.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.OFFERED  # the offer stays live
    assert Order.objects.get().status == Order.Status.PENDING
    assert not Ticket.objects.exists()

    pay_on_the_simulator(page, "4242 4242 4242 4242")
    expect_tickets_ready(page, asgi_server.url)
    assert_one_paid_ticket(buyer)
    offer.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.PURCHASED
    assert errors == []
