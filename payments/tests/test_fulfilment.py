"""From a paid session to tickets exactly once, late payments, expiry and the sweep."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from events.models import TicketType
from payments.models import Order
from payments.services.fulfilment import fulfil_paid_session, refresh_order
from payments.services.reconciliation import reconcile_payments
from payments.tests.conftest import checkout
from tickets.models import Ticket
from waitlist.models import WaitingListEntry
from waitlist.services import expire_offer, join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)
Status = Order.Status


def session_of(stripe_sim, order) -> dict:
    session = stripe_sim.client().v1.checkout.sessions.retrieve(
        order.checkout_session_id, options={"stripe_account": order.stripe_account_id}
    )
    return session.to_dict()


def test_the_buyer_s_return_fulfils_a_paid_order_at_once(stripe_sim, offer, buyers, paid_type):
    order = checkout(buyers[0], offer)
    stripe_sim.pay(order.checkout_session_id)

    order = refresh_order(order=order)  # what the success page does

    assert order.status == Status.FULFILLED
    assert order.payment_intent_id.startswith("pi_")
    tickets = list(order.tickets.order_by("position_in_order"))
    assert [t.position_in_order for t in tickets] == [1, 2]
    assert {(t.owner_id, t.amount_minor, t.currency, t.status) for t in tickets} == {
        (buyers[0].pk, 2500, "GBP", Ticket.Status.VALID)
    }
    offer.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.PURCHASED
    paid_type.refresh_from_db()
    assert (paid_type.sold_count, paid_type.held_count) == (2, 0)


def test_fulfilling_again_changes_nothing_and_the_database_refuses_a_second_set(
    stripe_sim, offer, buyers
):
    order = checkout(buyers[0], offer)
    stripe_sim.pay(order.checkout_session_id)
    paid = session_of(stripe_sim, order)

    fulfil_paid_session(session=paid)
    fulfil_paid_session(session=paid)
    refresh_order(order=order)

    assert Ticket.objects.filter(order=order).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            owner=buyers[0],
            ticket_type_id=order.ticket_type_id,
            order=order,
            position_in_order=1,
            amount_minor=2500,
            currency="GBP",
        )


def test_an_unpaid_session_issues_nothing(stripe_sim, offer, buyers):
    order = checkout(buyers[0], offer)
    assert refresh_order(order=order).status == Status.PENDING
    assert fulfil_paid_session(session=session_of(stripe_sim, order)) is None
    assert not Ticket.objects.exists()


def test_a_declined_card_leaves_the_offer_live_and_the_buyer_can_retry(stripe_sim, offer, buyers):
    order = checkout(buyers[0], offer)

    declined = stripe_sim.pay(order.checkout_session_id, card="4000000000000002")
    assert not declined["paid"]
    assert refresh_order(order=order).status == Status.PENDING
    offer.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.OFFERED

    assert stripe_sim.pay(order.checkout_session_id)["paid"]
    assert refresh_order(order=order).status == Status.FULFILLED


def test_a_late_payment_takes_free_places_when_there_are_some(stripe_sim, offer, buyers, paid_type):
    order = checkout(buyers[0], offer)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        expire_offer(entry_id=offer.pk)  # nobody waits: the places are free again
        stripe_sim.pay(order.checkout_session_id)
        order = refresh_order(order=order)

    assert order.status == Status.FULFILLED
    assert Ticket.objects.filter(order=order, status=Ticket.Status.VALID).count() == 2
    paid_type.refresh_from_db()
    assert (paid_type.sold_count, paid_type.held_count) == (2, 0)


def test_a_late_payment_when_the_places_are_gone_is_refunded_with_the_fee(
    stripe_sim, offer, buyers, paid_type, jobs, mailoutbox
):
    order = checkout(buyers[0], offer)
    successor = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=2)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        expire_offer(entry_id=offer.pk)
        jobs.run_due()  # Stripe confirms the session closed unpaid; the places pass on
        successor.entry.refresh_from_db()
        assert successor.entry.status == WaitingListEntry.Status.OFFERED  # got the places
        stripe_sim.pay(order.checkout_session_id, ignore_expiry=True)  # paid all the same
        order = refresh_order(order=order)
        jobs.run_due()

    assert order.status == Status.REFUNDED
    assert not Ticket.objects.filter(order=order).exists()
    refund = stripe_sim.client().v1.refunds.retrieve(
        order.refund_id, options={"stripe_account": order.stripe_account_id}
    )
    assert (refund.amount, refund.status) == (5000, "succeeded")
    charge = stripe_sim.client().v1.charges.retrieve(
        refund.charge, options={"stripe_account": order.stripe_account_id}
    )
    assert charge.refunded
    paid_type.refresh_from_db()
    assert paid_type.sold_count + paid_type.held_count <= paid_type.capacity
    assert any("refunded" in message.subject for message in mailoutbox)


def test_a_payment_in_time_reported_late_keeps_the_offer_s_places(
    stripe_sim, offer, buyers, paid_type, jobs
):
    order = checkout(buyers[0], offer)
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1).entry
    stripe_sim.pay(order.checkout_session_id)  # in time; no webhook, no return (yet)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        expire_offer(entry_id=offer.pk)  # the expiry job, on time
        offer.refresh_from_db()
        assert offer.status == WaitingListEntry.Status.OFFERED  # held while Stripe is asked
        jobs.run_due()

    assert Order.objects.get(pk=order.pk).status == Status.FULFILLED
    assert Ticket.objects.filter(order=order).count() == 2
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.WAITING  # nothing was passed on


def test_when_the_offer_expires_its_checkout_session_expires_too(stripe_sim, offer, buyers, jobs):
    order = checkout(buyers[0], offer)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        expire_offer(entry_id=offer.pk)
        jobs.run_due()

    order.refresh_from_db()
    assert order.status == Status.EXPIRED
    assert session_of(stripe_sim, order)["status"] == "expired"


def test_the_sweep_fulfils_a_payment_whose_webhook_never_came(stripe_sim, offer, buyers):
    order = checkout(buyers[0], offer)
    stripe_sim.pay(order.checkout_session_id)  # no webhook endpoint, no return to the site

    with time_machine.travel(order.created_at + timedelta(minutes=2)):
        fixed = reconcile_payments()

    assert fixed == {"order fulfilled": 1}
    assert Order.objects.get(pk=order.pk).status == Status.FULFILLED
    assert reconcile_payments() == {}  # nothing left to fix


def test_the_sweep_retries_a_refund_stripe_could_not_make(
    stripe_sim, offer, buyers, paid_type, jobs
):
    order = checkout(buyers[0], offer)
    join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=2)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        expire_offer(entry_id=offer.pk)
        jobs.run_due()
        stripe_sim.pay(order.checkout_session_id, ignore_expiry=True)
        paid = session_of(stripe_sim, order)
        stripe_sim.set_faults(error_rate=1.0)  # Stripe answers every call with a 500
        order = fulfil_paid_session(session=paid)
        assert order.status == Status.REFUND_PENDING  # paid, no tickets, refund owed
        stripe_sim.set_faults()
        fixed = reconcile_payments()

    assert fixed["late payment refunded"] == 1
    assert Order.objects.get(pk=order.pk).status == Status.REFUNDED
    assert TicketType.objects.get(pk=paid_type.pk).sold_count == 0


def test_while_stripe_is_down_an_expiring_checkout_keeps_its_places_until_it_answers(
    stripe_sim, offer, buyers, paid_type, jobs
):
    from waitlist.services import sweep

    order = checkout(buyers[0], offer)
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1).entry
    stripe_sim.set_faults(error_rate=1.0)
    with time_machine.travel(offer.expires_at + timedelta(seconds=1), tick=False) as clock:
        expire_offer(entry_id=offer.pk)
        jobs.run_due()  # Stripe answers 500: nothing is known, nothing moves
        offer.refresh_from_db()
        assert offer.status == WaitingListEntry.Status.OFFERED
        assert Order.objects.get(pk=order.pk).status == Status.PENDING

        stripe_sim.set_faults()
        clock.shift(timedelta(seconds=61))
        sweep()  # the waitlist's sweep asks payments again
        jobs.run_due()

    offer.refresh_from_db()
    waiting.refresh_from_db()
    assert offer.status == WaitingListEntry.Status.EXPIRED
    assert waiting.status == WaitingListEntry.Status.OFFERED
    assert Order.objects.get(pk=order.pk).status == Status.EXPIRED
