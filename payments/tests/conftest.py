import pytest

from payments.services.accounts import ensure_connected_account, refresh_account_status
from payments.services.checkout import start_checkout
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from waitlist.services import join_waiting_list

SUCCESS_URL = "http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://testserver/offers/cancelled/"


def onboard(stripe_sim, organiser):
    """An organiser with a real (simulated) Express account that has finished onboarding."""
    account = ensure_connected_account(organiser=organiser)
    stripe_sim.complete_onboarding(account.stripe_account_id)
    return refresh_account_status(stripe_account_id=account.stripe_account_id)


def checkout(buyer, entry):
    return start_checkout(
        buyer=buyer, entry_id=entry.pk, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )


@pytest.fixture
def seller(stripe_sim, db):
    organiser = UserFactory(email="seller@example.com")
    onboard(stripe_sim, organiser)
    return organiser


@pytest.fixture
def paid_type(seller):
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency="GBP")
    return TicketTypeFactory(event=event, name="Standard", price_minor=2500, capacity=2)


@pytest.fixture
def buyers(db):
    return [UserFactory(email=f"payer{n}@example.com") for n in range(3)]


@pytest.fixture
def offer(buyers, paid_type):
    """buyers[0] holds an offer for both places."""
    return join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=2).entry
