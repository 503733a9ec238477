"""An organiser cancels an event: every paid order refunded exactly once (checked against
the simulator's refunds), free tickets cancelled, offers withdrawn, the queue closed, the
event CANCELLED once the last refund lands, whatever Stripe's faults or a rerun."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditLogEntry
from events.models import Event
from events.services import CatalogueError, publish_event, unpublish_event
from payments.models import Order, Refund
from payments.services.cancellation import (
    cancel_event,
    cancellation_preview,
    cancellation_progress,
    refund_cancelled_event,
)
from payments.services.fulfilment import refresh_order
from payments.services.reconciliation import reconcile_payments
from payments.services.refunds import refund_order_of_cancelled_event
from payments.tests.conftest import checkout
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.errors import NotFound
from tickets.models import Ticket
from tickets.services import issue_tickets
from waitlist.errors import WaitlistError
from waitlist.models import WaitingListEntry
from waitlist.services import join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)
ENTRY = WaitingListEntry.Status


def pay(stripe_sim, buyer, entry) -> Order:
    order = checkout(buyer, entry)
    stripe_sim.pay(order.checkout_session_id, card="4242424242424242")
    order = refresh_order(order=order)
    assert order.status == Order.Status.FULFILLED
    return order


def stripe_refunds(stripe_sim, order: Order) -> list:
    return (
        stripe_sim.client()
        .v1.refunds.list(
            params={"payment_intent": order.payment_intent_id},
            options={"stripe_account": order.stripe_account_id},
        )
        .data
    )


@pytest.fixture
def sold_event(stripe_sim, seller, jobs):
    """Two paid orders (1 and 2 × £25), a free ticket, a live offer and a waiting entry."""
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency="GBP")
    paid = TicketTypeFactory(event=event, price_minor=2500, capacity=4, max_per_entry=2)
    free = TicketTypeFactory(event=event, price_minor=0, capacity=5)
    people = [UserFactory(email=f"fan{n}@example.com") for n in range(5)]
    orders = [
        pay(
            stripe_sim,
            people[0],
            join_waiting_list(user=people[0], ticket_type_id=paid.pk, quantity=1).entry,
        ),
        pay(
            stripe_sim,
            people[1],
            join_waiting_list(user=people[1], ticket_type_id=paid.pk, quantity=2).entry,
        ),
    ]
    offer = join_waiting_list(user=people[2], ticket_type_id=paid.pk, quantity=1).entry
    waiting = join_waiting_list(user=people[3], ticket_type_id=paid.pk, quantity=1).entry
    assert (offer.status, waiting.status) == (ENTRY.OFFERED, ENTRY.WAITING)
    [free_ticket] = issue_tickets(
        owner=people[4], ticket_type=free, quantity=1, amount_minor_each=0
    )
    jobs.run_due()  # the join e-mails and order jobs so far
    return {
        "event": event,
        "paid": paid,
        "orders": orders,
        "offer": offer,
        "waiting": waiting,
        "free_ticket": free_ticket,
        "people": people,
    }


def statuses(model, pk) -> str:
    return model.objects.values_list("status", flat=True).get(pk=pk)


def test_the_preview_counts_what_cancelling_will_do(sold_event, seller):
    preview = cancellation_preview(organiser=seller, event_id=sold_event["event"].pk)

    assert (preview.orders_to_refund, preview.tickets_to_refund) == (2, 3)
    assert preview.refund_totals == {"GBP": 7500}
    assert (preview.free_tickets_to_cancel, preview.offers_to_withdraw) == (1, 1)
    assert (preview.free_ticket_holders, preview.entries_to_close) == (1, 1)
    assert preview.emails_to_send == 5  # 2 orders, 1 free ticket holder, offer, waiting


def test_cancelling_refunds_every_paid_order_once_and_closes_everything(
    stripe_sim, sold_event, seller, jobs, mailoutbox
):
    event = sold_event["event"]
    mailoutbox.clear()

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        cancel_event(organiser=seller, event_id=event.pk)
        raise Rollback
    assert jobs.pending_names() == [] and statuses(Event, event.pk) == Event.Status.PUBLISHED

    cancel_event(organiser=seller, event_id=event.pk)
    assert mailoutbox == []  # jobs send them
    assert "refund_cancelled_event_task" in jobs.pending_names()
    assert statuses(Event, event.pk) == Event.Status.CANCELLING
    assert statuses(WaitingListEntry, sold_event["offer"].pk) == ENTRY.CANCELLED
    assert statuses(WaitingListEntry, sold_event["waiting"].pk) == ENTRY.CANCELLED
    assert statuses(Ticket, sold_event["free_ticket"].pk) == Ticket.Status.CANCELLED
    paid = sold_event["paid"]
    paid.refresh_from_db()
    assert (paid.held_count, paid.sold_count) == (0, 3)  # the offer's place released

    jobs.run_due()

    assert statuses(Event, event.pk) == Event.Status.CANCELLED
    for order in sold_event["orders"]:
        [at_stripe] = stripe_refunds(stripe_sim, order)
        assert (at_stripe.amount, at_stripe.status) == (order.amount_minor, "succeeded")
        assert set(order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}
        assert statuses(Order, order.pk) == Order.Status.REFUNDED
    paid.refresh_from_db()
    assert (paid.held_count, paid.sold_count) == (0, 0)
    assert not WaitingListEntry.objects.filter(status=ENTRY.OFFERED).exists()  # no new offer
    subjects = sorted(message.subject for message in mailoutbox)
    assert len([s for s in subjects if "has been cancelled" in s]) == 2  # offer + waiting
    assert len([s for s in subjects if "refund" in s.lower()]) == 2  # one per order
    [free_holder] = [m for m in mailoutbox if m.subject.endswith("is cancelled")]
    assert free_holder.to == [sold_event["people"][4].email]
    assert "free ticket" in free_holder.body
    actions = AuditLogEntry.objects.filter(object_type="events.event", object_id=str(event.pk))
    assert {"event.cancelling", "event.cancelled"} <= set(actions.values_list("action", flat=True))
    progress = cancellation_progress(organiser=seller, event_id=event.pk)
    assert (progress.tickets_refunded, progress.tickets_remaining) == (3, 0)
    assert progress.refunded_totals == {"GBP": 7500}


def test_running_the_refund_job_again_refunds_nothing_twice(stripe_sim, sold_event, seller, jobs):
    event = sold_event["event"]
    cancel_event(organiser=seller, event_id=event.pk)
    jobs.run_due()
    cancel_event(organiser=seller, event_id=event.pk)  # a second click
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.CANCELLING
    )  # a rerun as if mid-way
    run = refund_cancelled_event(event_id=event.pk)
    jobs.run_due()

    assert run.refunded_orders == [] and run.finished
    for order in sold_event["orders"]:
        assert len(stripe_refunds(stripe_sim, order)) == 1
    assert Refund.objects.count() == 2


def test_with_stripe_failing_often_every_order_still_ends_refunded_once(
    stripe_sim, sold_event, seller, jobs
):
    event = sold_event["event"]
    stripe_sim.set_faults(error_rate=1.0)  # Stripe down for the first pass
    cancel_event(organiser=seller, event_id=event.pk)
    jobs.run_due()
    assert statuses(Event, event.pk) == Event.Status.CANCELLING
    # The pass stopped at the first refund Stripe did not answer; it waits, requested.
    assert list(Refund.objects.values_list("status", flat=True)) == [Refund.Status.REQUESTED]
    assert "refund_cancelled_event_task" in jobs.scheduled_names()

    stripe_sim.set_faults(error_rate=0.3, rate_limit_rate=0.3)
    start = timezone.now()
    for minute in range(40):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            jobs.run_due()
            if minute % 10 == 9:
                reconcile_payments()
        if statuses(Event, event.pk) == Event.Status.CANCELLED:
            break
    stripe_sim.set_faults()
    assert statuses(Event, event.pk) == Event.Status.CANCELLED
    for order in sold_event["orders"]:
        refunded = [r for r in stripe_refunds(stripe_sim, order) if r.status == "succeeded"]
        assert sum(r.amount for r in refunded) == order.amount_minor
        assert len(refunded) == 1


def test_joins_are_refused_while_the_event_is_cancelling(stripe_sim, sold_event, seller):
    event = sold_event["event"]
    cancel_event(organiser=seller, event_id=event.pk)  # the job is not run: still cancelling
    assert statuses(Event, event.pk) == Event.Status.CANCELLING

    with pytest.raises(WaitlistError, match="cancelled"):
        join_waiting_list(user=UserFactory(), ticket_type_id=sold_event["paid"].pk, quantity=1)


def test_the_public_page_of_a_cancelling_event_says_so(client, stripe_sim, sold_event, seller):
    event = sold_event["event"]
    cancel_event(organiser=seller, event_id=event.pk)

    page = client.get(reverse("event_detail", args=[event.pk]))

    assert page.status_code == 200
    assert "This event has been cancelled" in page.text
    assert "0 of 3 refunded" in page.text


def test_another_organiser_cannot_preview_cancel_or_follow_the_event(
    client, stripe_sim, sold_event
):
    event = sold_event["event"]
    stranger = UserFactory()
    with pytest.raises(NotFound):
        cancel_event(organiser=stranger, event_id=event.pk)
    client.force_login(stranger)
    for name in ("event_cancel", "event_cancellation", "event_cancellation_panel"):
        assert client.get(reverse(name, args=[event.pk])).status_code == 404
    assert client.post(reverse("event_cancel", args=[event.pk])).status_code == 404
    assert statuses(Event, event.pk) == Event.Status.PUBLISHED


def test_the_organiser_confirms_and_follows_the_cancellation(
    client, stripe_sim, sold_event, seller, jobs
):
    event = sold_event["event"]
    client.force_login(seller)

    confirm = client.get(reverse("event_cancel", args=[event.pk]))
    assert confirm.status_code == 200 and "£75.00" in confirm.text
    done = client.post(reverse("event_cancel", args=[event.pk]))
    assert done.status_code == 302
    assert done["Location"] == reverse("event_cancellation", args=[event.pk])
    jobs.run_due()
    progress = client.get(done["Location"])
    assert progress.status_code == 200
    assert "3 of 3" in progress.text and "£75.00" in progress.text


def test_places_a_refund_frees_go_to_nobody_once_the_event_is_cancelling(
    stripe_sim, sold_event, jobs
):
    # A join that committed just before the cancellation reached the queue: still waiting.
    event, waiting = sold_event["event"], sold_event["waiting"]
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLING)

    refund = refund_order_of_cancelled_event(order_id=sold_event["orders"][1].pk)

    assert refund.status == Refund.Status.SUCCEEDED
    assert statuses(WaitingListEntry, waiting.pk) == ENTRY.WAITING  # no offer made
    paid = sold_event["paid"]
    paid.refresh_from_db()
    assert (paid.sold_count, paid.held_count) == (1, 1)  # only the earlier offer holds


def test_a_cancelling_event_cannot_be_published_or_unpublished_again(
    stripe_sim, sold_event, seller
):
    event = sold_event["event"]
    cancel_event(organiser=seller, event_id=event.pk)

    for change in (publish_event, unpublish_event):
        with pytest.raises(CatalogueError, match="cancelled"):
            change(event=event, actor=seller)
    assert statuses(Event, event.pk) == Event.Status.CANCELLING


def test_a_payment_for_a_withdrawn_offer_is_refunded_not_turned_into_tickets(
    stripe_sim, sold_event, seller
):
    offer, buyer = sold_event["offer"], sold_event["people"][2]
    order = checkout(buyer, offer)
    cancel_event(organiser=seller, event_id=sold_event["event"].pk)  # its places released
    stripe_sim.pay(order.checkout_session_id, card="4242424242424242")  # before Stripe closes it

    order = refresh_order(order=order)

    assert order.status == Order.Status.REFUNDED
    assert not order.tickets.exists()
    [at_stripe] = stripe_refunds(stripe_sim, order)
    assert at_stripe.amount == order.amount_minor


def test_a_draft_has_no_cancellation_page_to_confirm(client, seller):
    """A draft is not on sale: rather than a confirmation whose button is then refused, the
    organiser is sent back to the edit page and told why."""
    draft = EventFactory(organiser=seller, status=Event.Status.DRAFT)
    client.force_login(seller)

    page = client.get(reverse("event_cancel", args=[draft.pk]), follow=True)

    assert page.redirect_chain == [(reverse("event_edit", args=[draft.pk]), 302)]
    assert "A draft is not on sale: there is nothing to cancel." in page.text
    assert "Cancel the event and refund everyone" not in page.text
    assert statuses(Event, draft.pk) == Event.Status.DRAFT


def test_an_event_on_sale_has_no_refund_progress_to_show(client, stripe_sim, sold_event, seller):
    """The progress page of an event nobody cancelled would say "Refunds are under way"
    beside its Published badge: the organiser is sent to the edit page instead."""
    event = sold_event["event"]
    client.force_login(seller)

    page = client.get(reverse("event_cancellation", args=[event.pk]))

    assert page.status_code == 302
    assert page["Location"] == reverse("event_edit", args=[event.pk])
    assert statuses(Event, event.pk) == Event.Status.PUBLISHED
