"""Cancelling two events with ~60 paid orders while Stripe fails often (5xx, lost answers,
a rate limit): every charge ends with exactly one refund at the simulator, for the whole
charge and its application fee, and the progress figures add up at every pass."""

from collections import defaultdict
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events.models import Event
from payments.models import Order, Refund
from payments.services.cancellation import cancel_event, cancellation_progress
from payments.services.fulfilment import refresh_order
from payments.services.reconciliation import reconcile_payments
from payments.tests.conftest import checkout
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickets.models import Ticket
from waitlist.services import join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS_PER_EVENT = 30  # 20 of two tickets, 10 of one: 50 tickets per event


def sell(
    stripe_sim, seller, *, currency: str, price_minor: int, count: int = ORDERS_PER_EVENT
) -> tuple[Event, list[Order]]:
    """Paid orders through the real checkout, paid at the simulator and fulfilled."""
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency=currency)
    paid = TicketTypeFactory(event=event, price_minor=price_minor, capacity=200, max_per_entry=2)
    orders = []
    for n in range(count):
        buyer = UserFactory(email=f"{currency.lower()}{n}@example.com")
        entry = join_waiting_list(
            user=buyer,
            ticket_type_id=paid.pk,
            quantity=2 if n % 3 and count == ORDERS_PER_EVENT else 1,
        ).entry
        order = checkout(buyer, entry)
        stripe_sim.pay(order.checkout_session_id)
        order = refresh_order(order=order)
        assert order.status == Order.Status.FULFILLED
        orders.append(order)
    return event, orders


def ledger(stripe_sim, order: Order) -> tuple[list, object]:
    """The simulator's refunds of the order's charge, and the charge's application fee."""
    client = stripe_sim.client()
    options = {"stripe_account": order.stripe_account_id}
    refunds = client.v1.refunds.list(
        params={"payment_intent": order.payment_intent_id, "limit": 100}, options=options
    ).data
    intent = client.v1.payment_intents.retrieve(order.payment_intent_id, options=options)
    charge = client.v1.charges.retrieve(intent.latest_charge, options=options)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    return refunds, (charge, fee)


def assert_progress_adds_up(seller, event: Event, paid_tickets: int) -> None:
    progress = cancellation_progress(organiser=seller, event_id=event.pk)
    assert progress.tickets_refunded + progress.tickets_remaining == paid_tickets
    succeeded: dict[str, int] = defaultdict(int)
    for refund in Refund.objects.filter(
        order__ticket_type__event=event, status=Refund.Status.SUCCEEDED
    ):
        succeeded[refund.currency] += refund.amount_minor
    assert progress.refunded_totals == dict(succeeded)


def test_a_mass_cancellation_under_faults_refunds_every_charge_exactly_once(
    stripe_sim, seller, jobs
):
    sold = [
        sell(stripe_sim, seller, currency="GBP", price_minor=2500),
        sell(stripe_sim, seller, currency="JPY", price_minor=3000),
    ]
    jobs.run_due()  # the order e-mails
    paid_tickets = {
        event.pk: Ticket.objects.filter(ticket_type__event=event).count() for event, _ in sold
    }
    assert sum(paid_tickets.values()) == 100
    stripe_sim.set_rate_limit(25)
    # The SDK retries a 5xx twice with the same key; lost answers at 15 % make some refunds
    # exhaust those retries after Stripe made them, so only the Refund's own key and the
    # search by metadata keep the later retry from refunding again (checked: a random key
    # per call and no search leave charges refunded twice and this test failing).
    stripe_sim.set_faults(
        error_rate=0.2, timeout_rate=0.15, timeout_seconds=0.2, timeout_mode="after"
    )

    for event, _ in sold:
        cancel_event(organiser=seller, event_id=event.pk)
    start = timezone.now()
    for step in range(240):  # 30 s apart: two hours at most
        with time_machine.travel(start + timedelta(seconds=30 * step), tick=False):
            jobs.run_due()
            if step % 2 == 1:
                reconcile_payments()
        for event, _ in sold:
            assert_progress_adds_up(seller, event, paid_tickets[event.pk])
        if not Event.objects.exclude(status=Event.Status.CANCELLED).filter(
            pk__in=[event.pk for event, _ in sold]
        ):
            break
    stats = stripe_sim.stats()
    stripe_sim.set_faults()
    stripe_sim.set_rate_limit(0)

    assert stats["injected_error"] > 0  # the faults did happen
    for event, orders in sold:
        for order in orders:
            refunds, (charge, fee) = ledger(stripe_sim, order)
            assert [(r.amount, r.status, r.currency) for r in refunds] == [
                (order.amount_minor, "succeeded", event.currency.lower())
            ], order.pk
            assert charge.amount == order.amount_minor and charge.amount_refunded == charge.amount
            assert fee.amount == order.application_fee_minor > 0
            assert fee.amount_refunded == fee.amount
        assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
        assert not Ticket.objects.filter(ticket_type__event=event).exclude(
            status=Ticket.Status.REFUNDED
        )
        progress = cancellation_progress(organiser=seller, event_id=event.pk)
        assert (progress.tickets_refunded, progress.tickets_remaining) == (
            paid_tickets[event.pk],
            0,
        )
        assert progress.refunded_totals == {event.currency: sum(o.amount_minor for o in orders)}
        assert progress.refunds_in_flight == 0 and progress.failed == []
