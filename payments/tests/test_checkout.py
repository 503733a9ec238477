"""Checkout for a live offer, against the simulator through the real stripe SDK."""

from datetime import timedelta

import pytest
import stripe
import time_machine
from django.utils import timezone

from events.models import Event
from payments.models import ConnectedAccount, Order
from payments.stripe_api import PaymentsError
from payments.tests.conftest import checkout
from tests.factories import EventFactory, TicketTypeFactory
from tickethub.errors import NotFound
from waitlist.services import OfferExpired, join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_checkout_session_is_made_on_the_organiser_s_account_with_the_platform_fee(
    stripe_sim, seller, offer, buyers
):
    order = checkout(buyers[0], offer)

    assert (order.quantity, order.unit_amount_minor, order.amount_minor) == (2, 2500, 5000)
    assert order.application_fee_minor == 50  # 1 % of £50.00
    assert order.status == Order.Status.PENDING
    account = ConnectedAccount.objects.get(organiser=seller).stripe_account_id
    session = stripe_sim.client().v1.checkout.sessions.retrieve(
        order.checkout_session_id, options={"stripe_account": account}
    )
    assert (session.amount_total, session.currency, session.mode) == (5000, "gbp", "payment")
    assert session.metadata["offer_id"] == str(offer.pk)
    assert session.metadata["buyer_id"] == str(buyers[0].pk)
    assert session.url == order.checkout_url
    # Stripe's shortest session is 30 minutes; the offer's own 30 minutes are shorter.
    assert session.expires_at >= int(offer.expires_at.timestamp())
    with pytest.raises(stripe.InvalidRequestError):  # not on the platform's own account
        stripe_sim.client().v1.checkout.sessions.retrieve(order.checkout_session_id)


def test_buying_twice_gives_the_same_session(stripe_sim, offer, buyers):
    first = checkout(buyers[0], offer)
    second = checkout(buyers[0], offer)

    assert second.pk == first.pk
    assert second.checkout_session_id == first.checkout_session_id
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("currency", "price_minor", "fee_minor"),
    [("GBP", 1999, 40), ("EUR", 1050, 21), ("JPY", 3000, 60)],
)
def test_amounts_and_fees_reach_stripe_in_the_event_s_currency(
    stripe_sim, seller, buyers, currency, price_minor, fee_minor
):
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency=currency)
    ticket_type = TicketTypeFactory(event=event, price_minor=price_minor, capacity=5)
    entry = join_waiting_list(user=buyers[0], ticket_type_id=ticket_type.pk, quantity=2).entry

    order = checkout(buyers[0], entry)
    stripe_sim.pay(order.checkout_session_id)

    client = stripe_sim.client()
    options = {"stripe_account": order.stripe_account_id}
    session = client.v1.checkout.sessions.retrieve(order.checkout_session_id, options=options)
    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=options)
    assert (intent.amount, intent.currency) == (2 * price_minor, currency.lower())
    assert intent.application_fee_amount == order.application_fee_minor == fee_minor


def test_someone_else_s_offer_is_not_found(stripe_sim, offer, buyers):
    with pytest.raises(NotFound):
        checkout(buyers[1], offer)
    assert not Order.objects.exists()


def test_an_expired_offer_cannot_be_paid(stripe_sim, offer, buyers):
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)), pytest.raises(OfferExpired):
        checkout(buyers[0], offer)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t: Event.objects.filter(pk=t.event_id).update(status="cancelled"), "cancelled"),
        (
            lambda t: (
                type(t)
                .objects.filter(pk=t.pk)
                .update(sale_ends_at=t.event.starts_at - timedelta(days=40))
            ),
            "has ended",
        ),
        (
            lambda t: ConnectedAccount.objects.update(charges_enabled=False),
            "cannot take card payments",
        ),
        (
            lambda t: Event.objects.filter(pk=t.event_id).update(
                starts_at=timezone.now() - timedelta(minutes=5)
            ),
            "is over",
        ),
    ],
    ids=["cancelled event", "sale ended", "account cannot charge", "event started"],
)
def test_checkout_is_refused_with_a_clear_message(
    stripe_sim, offer, buyers, paid_type, spoil, message
):
    spoil(paid_type)
    with pytest.raises(PaymentsError, match=message) as refused:
        checkout(buyers[0], offer)
    assert refused.value.status == 409
    assert not Order.objects.exists()
    assert stripe_sim.events() == [] or all(
        not event["type"].startswith("checkout.") for event in stripe_sim.events()
    )


def test_a_free_offer_has_no_checkout(stripe_sim, seller, buyers):
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False)
    free = TicketTypeFactory(event=event, price_minor=0, capacity=2)
    entry = join_waiting_list(user=buyers[0], ticket_type_id=free.pk, quantity=1).entry
    with pytest.raises(PaymentsError, match="free"):
        checkout(buyers[0], entry)


def test_a_paid_type_is_not_on_sale_until_the_organiser_can_take_charges(buyers, organiser):
    from waitlist.selectors import event_offers
    from waitlist.services import WaitlistError

    event = EventFactory(organiser=organiser, ticket_types=[], payments_ready=False)
    paid = TicketTypeFactory(event=event, price_minor=1000, capacity=5)
    free = TicketTypeFactory(event=event, price_minor=0, capacity=5)

    states = {offer.ticket_type.pk: offer.state for offer in event_offers(event=event, viewer=None)}
    assert states == {paid.pk: "payments_pending", free.pk: "available"}
    with pytest.raises(WaitlistError, match="setting up card payments"):
        join_waiting_list(user=buyers[0], ticket_type_id=paid.pk, quantity=1)
    assert join_waiting_list(user=buyers[0], ticket_type_id=free.pk, quantity=1).created


def test_a_price_below_stripe_s_card_minimum_is_refused_for_good_and_the_offer_released(
    stripe_sim, seller, buyers
):
    # Saved before the editor refused such prices: Stripe answers amount_too_small.
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency="GBP")
    penny = TicketTypeFactory(event=event, price_minor=1, capacity=1)
    entry = join_waiting_list(user=buyers[0], ticket_type_id=penny.pk, quantity=1).entry
    join_waiting_list(user=buyers[1], ticket_type_id=penny.pk, quantity=1)

    with pytest.raises(PaymentsError, match="smallest card payment in GBP is £0.30") as caught:
        checkout(buyers[0], entry)

    assert caught.value.status == 409  # permanent, not "try again in a minute" (502)
    entry.refresh_from_db()
    assert entry.status == entry.Status.DECLINED
    assert Order.objects.get(entry=entry).status == Order.Status.EXPIRED
    penny.refresh_from_db()
    assert penny.held_count == 1  # the place went on to the next in line
    assert penny.waiting_list_entries.get(user=buyers[1]).status == entry.Status.OFFERED
