"""An organiser refunds single tickets or whole orders: amounts and fee checked against the
simulator's refunds, places to the queue, no double refund through any retry, Stripe's
refusals and late failures, and the e-mail after the commit."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditLogEntry
from payments.models import Order, Refund, RefundedTicket, StripeEvent
from payments.services.fulfilment import refresh_order
from payments.services.reconciliation import reconcile_payments
from payments.services.refunds import (
    RefundRefused,
    apply_stripe_refund,
    refund_tickets,
    retry_refund,
)
from payments.services.webhooks import process_stripe_event
from payments.tests.conftest import checkout
from tests.factories import EventFactory, TicketTypeFactory
from tickethub.errors import NotFound
from tickets.models import Ticket
from waitlist.models import WaitingListEntry
from waitlist.services import join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)
Status = Refund.Status


def pay(stripe_sim, buyer, entry, card: str = "4242424242424242") -> Order:
    order = checkout(buyer, entry)
    stripe_sim.pay(order.checkout_session_id, card=card)
    order = refresh_order(order=order)
    assert order.status == Order.Status.FULFILLED
    return order


@pytest.fixture
def paid_order(stripe_sim, offer, buyers) -> Order:
    """buyers[0] paid 2 × £25.00 (fee 1 %: £0.50); the type is sold out."""
    return pay(stripe_sim, buyers[0], offer)


def ticket_ids(order: Order) -> list[int]:
    return list(order.tickets.order_by("position_in_order").values_list("pk", flat=True))


def stripe_refunds(stripe_sim, order: Order) -> list:
    return (
        stripe_sim.client()
        .v1.refunds.list(
            params={"payment_intent": order.payment_intent_id},
            options={"stripe_account": order.stripe_account_id},
        )
        .data
    )


def fee_refunded_at_stripe(stripe_sim, order: Order) -> int:
    api = stripe_sim.client()
    intent = api.v1.payment_intents.retrieve(
        order.payment_intent_id, options={"stripe_account": order.stripe_account_id}
    )
    charge = api.v1.charges.retrieve(
        intent.latest_charge, options={"stripe_account": order.stripe_account_id}
    )
    return api.v1.application_fees.retrieve(charge.application_fee).amount_refunded


def test_a_whole_order_is_refunded_with_its_fee_and_its_places_freed(
    stripe_sim, paid_order, seller, paid_type
):
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)

    assert refund.status == Status.SUCCEEDED
    assert (refund.amount_minor, refund.application_fee_refunded_minor) == (5000, 50)
    [at_stripe] = stripe_refunds(stripe_sim, paid_order)
    assert (at_stripe.id, at_stripe.amount, at_stripe.status) == (
        refund.stripe_refund_id,
        5000,
        "succeeded",
    )
    assert at_stripe.metadata["tickethub_refund_id"] == str(refund.pk)
    assert fee_refunded_at_stripe(stripe_sim, paid_order) == 50
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.REFUNDED
    paid_type.refresh_from_db()
    assert paid_type.sold_count == 0
    assert refund.idempotency_key == f"tickethub-refund-{refund.pk}"
    actions = AuditLogEntry.objects.filter(object_type="payments.refund", object_id=str(refund.pk))
    assert sorted(actions.values_list("action", "actor")) == [
        ("refund.requested", seller.pk),
        ("refund.succeeded", seller.pk),
    ]


def test_partial_refunds_return_the_fee_pro_rata_and_never_more_than_it(stripe_sim, seller, buyers):
    event = EventFactory(organiser=seller, ticket_types=[], payments_ready=False, currency="GBP")
    odd_type = TicketTypeFactory(event=event, price_minor=1234, capacity=3, max_per_entry=3)
    entry = join_waiting_list(user=buyers[0], ticket_type_id=odd_type.pk, quantity=3).entry
    order = pay(stripe_sim, buyers[0], entry)
    assert (order.amount_minor, order.application_fee_minor) == (3702, 37)
    first, second, third = ticket_ids(order)

    shares = []
    for ticket_id in (first, second, third):
        refund = refund_tickets(organiser=seller, order_id=order.pk, ticket_ids=[ticket_id])
        assert refund.status == Status.SUCCEEDED
        shares.append(refund.application_fee_refunded_minor)
        # The simulator computes Stripe's own share: the site's record matches it.
        assert fee_refunded_at_stripe(stripe_sim, order) == sum(shares)

    assert shares == [12, 12, 13]  # 37 × 1234 / 3702 rounded down; the last takes the rest
    assert sorted(r.amount for r in stripe_refunds(stripe_sim, order)) == [1234, 1234, 1234]
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_one_refunded_ticket_goes_to_the_next_in_the_queue_at_once(
    stripe_sim, paid_order, seller, buyers, paid_type
):
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1).entry
    assert waiting.status == WaitingListEntry.Status.WAITING

    first, second = ticket_ids(paid_order)
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])

    assert (refund.amount_minor, refund.application_fee_refunded_minor) == (2500, 25)
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.OFFERED
    paid_type.refresh_from_db()
    assert (paid_type.sold_count, paid_type.held_count) == (1, 1)
    assert Ticket.objects.get(pk=second).status == Ticket.Status.VALID
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.FULFILLED  # one ticket still stands
    # The offer was made in the refund's own transaction: no commit ever showed the place
    # free, so nobody outside the queue could have taken it first.
    assert paid_type.capacity - paid_type.sold_count - paid_type.held_count == 0


def test_a_ticket_is_refunded_once_only(stripe_sim, paid_order, seller):
    first, _second = ticket_ids(paid_order)
    refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])

    with pytest.raises(RefundRefused):
        refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])
    assert len(stripe_refunds(stripe_sim, paid_order)) == 1
    # And the database refuses a second claim even if a check were skipped.
    other = Refund.objects.create(
        order=paid_order, amount_minor=2500, application_fee_refunded_minor=25, currency="GBP"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RefundedTicket.objects.create(refund=other, ticket_id=first)


def test_tickets_in_a_refund_stripe_has_not_answered_cannot_be_refunded_again(
    stripe_sim, paid_order, seller, jobs
):
    stripe_sim.set_faults(error_rate=1.0)  # every call answers 500, past the SDK's retries
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)

    assert refund.status == Status.REQUESTED
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}
    assert jobs.pending_names() == ["ask_stripe_about_refund_again"]
    with pytest.raises(RefundRefused):
        refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=ticket_ids(paid_order))


@pytest.mark.parametrize("fault", ["error", "lost answer"])
def test_asking_again_after_stripe_failed_makes_exactly_one_refund(
    stripe_sim, paid_order, seller, jobs, fault
):
    if fault == "error":
        stripe_sim.set_faults(error_rate=1.0)
    else:  # Stripe refunds, and every answer is lost on the way back
        stripe_sim.set_faults(timeout_rate=1.0, timeout_mode="after", timeout_seconds=0.1)
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)
    assert refund.status == Status.REQUESTED
    stripe_sim.set_faults(error_rate=1.0)
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        jobs.run_due()  # the job's first retry meets Stripe still down
    refund.refresh_from_db()
    assert refund.status == Status.REQUESTED

    stripe_sim.set_faults()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        fixed = reconcile_payments()
        jobs.run_due()
        reconcile_payments()  # asking once more changes nothing

    refund.refresh_from_db()
    assert refund.status == Status.SUCCEEDED
    assert fixed["refund succeeded"] == 1
    [at_stripe] = stripe_refunds(stripe_sim, paid_order)
    assert (at_stripe.id, at_stripe.amount) == (refund.stripe_refund_id, 5000)
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}


def refund_outside_the_site(stripe_sim, order: Order, amount: int) -> None:
    stripe_sim.client().v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": amount},
        options={"stripe_account": order.stripe_account_id},
    )


def test_a_refund_stripe_refuses_fails_with_its_reason_and_the_tickets_stay_valid(
    stripe_sim, paid_order, seller, paid_type, jobs, mailoutbox
):
    refund_outside_the_site(stripe_sim, paid_order, 4000)  # only £10.00 left on the charge

    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)

    assert refund.status == Status.FAILED
    assert "greater than unrefunded amount" in refund.failure_reason
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}
    paid_type.refresh_from_db()
    assert paid_type.sold_count == 2
    assert not jobs.pending_names()
    jobs.run_due()
    assert mailoutbox == []
    # The tickets are free to be refunded again; a retry is a new refund with its own key.
    retry = retry_refund(refund_id=refund.pk, organiser=seller)
    assert (retry.pk != refund.pk, retry.retry_of_id, retry.status) == (
        True,
        refund.pk,
        Status.FAILED,
    )
    assert retry.idempotency_key == f"tickethub-refund-{retry.pk}"
    with pytest.raises(RefundRefused):
        retry_refund(refund_id=refund.pk, organiser=seller)  # retried already
    first, _second = ticket_ids(paid_order)
    partial = refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])
    assert partial.status == Status.FAILED  # £25.00 > the £10.00 left


def test_a_refund_that_fails_after_it_succeeded_is_flagged_and_the_tickets_stay_refunded(
    stripe_sim, offer, buyers, seller, paid_type
):
    # Card 5126: the refund succeeds, then fails (https://docs.stripe.com/testing#refunds).
    order = pay(stripe_sim, buyers[0], offer, card="4000000000005126")
    refund = refund_tickets(organiser=seller, order_id=order.pk)
    assert refund.status == Status.SUCCEEDED

    stripe_sim.advance_clock(5)
    [update] = [e for e in stripe_sim.events() if e["type"] == "refund.updated"]
    apply_stripe_refund(stripe_refund=update["data"]["object"])
    apply_stripe_refund(stripe_refund=update["data"]["object"])  # a redelivery

    refund.refresh_from_db()
    assert (refund.status, refund.failed_after_success) == (Status.FAILED, True)
    assert "expired_or_canceled_card" in refund.failure_reason
    assert set(order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}
    paid_type.refresh_from_db()
    assert paid_type.sold_count == 0
    failed_rows = AuditLogEntry.objects.filter(action="refund.failed", object_id=str(refund.pk))
    assert failed_rows.count() == 1
    with pytest.raises(RefundRefused):
        retry_refund(refund_id=refund.pk, organiser=seller)


def test_another_organiser_cannot_refund_or_retry(stripe_sim, paid_order, other_organiser):
    with pytest.raises(NotFound):
        refund_tickets(organiser=other_organiser, order_id=paid_order.pk)
    assert not Refund.objects.exists()


def test_the_buyer_is_told_only_once_the_refund_has_committed(
    stripe_sim, paid_order, seller, jobs, mailoutbox
):
    class Rollback(Exception):
        pass

    first, second = ticket_ids(paid_order)
    with pytest.raises(Rollback), transaction.atomic():
        refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])
        raise Rollback
    assert "send_refund_email" not in jobs.pending_names()  # never queued: it rolled back
    jobs.run_due()
    assert not [m for m in mailoutbox if "refunded" in m.subject]

    refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[second])
    assert not [m for m in mailoutbox if "refunded" in m.subject]  # a job sends it
    assert jobs.pending_names() == ["send_refund_email"]
    jobs.run_due()
    [mail] = [m for m in mailoutbox if "refunded" in m.subject]
    assert mail.to == [paid_order.buyer.email]
    assert "£25.00" in mail.body
    assert "£25.00" in mail.alternatives[0][0]


# --- the organiser's pages ---------------------------------------------------------------


def test_the_organiser_refunds_ticked_tickets_after_confirming(
    stripe_sim, paid_order, seller, client
):
    client.force_login(seller)
    event_id = paid_order.ticket_type.event_id
    first, second = ticket_ids(paid_order)

    page = client.get(reverse("payments_event_orders", args=[event_id]))
    assert page.status_code == 200
    assert f"Order #{paid_order.pk}" in page.text
    url = reverse("payments_refund", args=[paid_order.pk])
    assert f'action="{url}"' in page.text

    confirm = client.get(url, {"scope": "selected", "tickets": [first]})
    assert confirm.status_code == 200
    assert "Refund £25.00" in confirm.text
    assert not Refund.objects.exists()  # nothing happens before the confirmation

    done = client.post(
        url, {"scope": "selected", "tickets": [first], "confirmed": "on"}, follow=True
    )
    refund = Refund.objects.get()
    assert (refund.status, refund.amount_minor) == (Status.SUCCEEDED, 2500)
    assert "Refunded £25.00" in done.text
    assert list(refund.refunded_tickets.values_list("ticket_id", flat=True)) == [first]
    assert Ticket.objects.get(pk=second).status == Ticket.Status.VALID
    edit_page = client.get(reverse("event_edit", args=[event_id])).text
    assert reverse("payments_event_orders", args=[event_id]) in edit_page


def test_a_refused_refund_shows_stripe_s_reason_and_a_retry_button(
    stripe_sim, paid_order, seller, client
):
    refund_outside_the_site(stripe_sim, paid_order, 4000)
    client.force_login(seller)

    done = client.post(
        reverse("payments_refund", args=[paid_order.pk]),
        {"scope": "whole", "confirmed": "on"},
        follow=True,
    )

    refund = Refund.objects.get()
    assert refund.status == Status.FAILED
    assert "greater than unrefunded amount" in done.text
    retry_url = reverse("payments_retry_refund", args=[refund.pk])
    assert f'action="{retry_url}"' in done.text
    again = client.post(retry_url, follow=True)
    assert again.status_code == 200
    assert Refund.objects.filter(retry_of=refund).exists()
    assert f'action="{retry_url}"' not in again.text  # retried once already


@pytest.mark.parametrize("who", ["other organiser", "buyer"])
def test_nobody_but_the_organiser_reaches_the_refund_pages(
    stripe_sim, paid_order, seller, other_organiser, client, who
):
    refund_outside_the_site(stripe_sim, paid_order, 4000)
    failed = refund_tickets(organiser=seller, order_id=paid_order.pk)
    client.force_login(other_organiser if who == "other organiser" else paid_order.buyer)
    refund_url = reverse("payments_refund", args=[paid_order.pk])
    answers = [
        client.get(reverse("payments_event_orders", args=[paid_order.ticket_type.event_id])),
        client.get(refund_url, {"scope": "whole"}),
        client.post(refund_url, {"scope": "whole", "confirmed": "on"}),
        client.post(reverse("payments_retry_refund", args=[failed.pk])),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert Refund.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(stripe_sim, paid_order, client):
    urls = [
        reverse("payments_event_orders", args=[paid_order.ticket_type.event_id]),
        reverse("payments_refund", args=[paid_order.pk]),
    ]
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 302
        assert "login" in answer["Location"]


# --- webhooks and races ------------------------------------------------------------------


def process_events_of_type(stripe_sim, event_type: str) -> int:
    """Store and process, as the webhook and its job do, every event of a type so far."""
    events = [e for e in stripe_sim.events() if e["type"] == event_type]
    for event in events:
        stored, _new = StripeEvent.objects.get_or_create(
            stripe_event_id=event["id"],
            defaults={
                "type": event["type"],
                "account": event.get("account") or "",
                "payload": event,
            },
        )
        process_stripe_event(event_pk=stored.pk)
    return len(events)


def test_charge_refunded_settles_a_refund_whose_answer_was_lost(stripe_sim, paid_order, seller):
    stripe_sim.set_faults(timeout_rate=1.0, timeout_mode="after", timeout_seconds=0.1)
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)
    assert refund.status == Status.REQUESTED
    stripe_sim.set_faults()

    assert process_events_of_type(stripe_sim, "charge.refunded") == 1

    refund.refresh_from_db()
    assert refund.status == Status.SUCCEEDED
    assert [r.id for r in stripe_refunds(stripe_sim, paid_order)] == [refund.stripe_refund_id]
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}


def test_refund_updated_failure_after_success_arrives_through_the_webhook_job(
    stripe_sim, offer, buyers, seller
):
    order = pay(stripe_sim, buyers[0], offer, card="4000000000005126")
    refund = refund_tickets(organiser=seller, order_id=order.pk)
    stripe_sim.advance_clock(5)

    assert process_events_of_type(stripe_sim, "refund.updated") == 1

    refund.refresh_from_db()
    assert (refund.status, refund.failed_after_success) == (Status.FAILED, True)


def test_a_partial_refund_made_in_stripe_s_dashboard_leaves_the_tickets_valid(
    stripe_sim, paid_order
):
    refund_outside_the_site(stripe_sim, paid_order, 1000)
    assert process_events_of_type(stripe_sim, "charge.refunded") == 1
    [refund] = Refund.objects.all()
    assert (refund.origin, refund.amount_minor, refund.needs_attention) == ("outside", 1000, True)
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}


def test_two_organiser_tabs_refunding_the_same_ticket_at_once_refund_it_once(
    stripe_sim, paid_order, seller
):
    first, _second = ticket_ids(paid_order)
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def refund_first() -> None:
        try:
            start.wait()
            outcomes.append(
                refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first]).status
            )
        except RefundRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    tabs = [threading.Thread(target=refund_first) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(30)

    assert sorted(outcomes) == ["refused", Status.SUCCEEDED]
    assert len(stripe_refunds(stripe_sim, paid_order)) == 1
    assert RefundedTicket.objects.filter(ticket_id=first).count() == 1


@pytest.mark.postgres_only  # row locks with a lock timeout
def test_the_sweep_passes_over_a_refund_whose_order_is_locked_and_gets_it_next_time(
    stripe_sim, paid_order, seller, settings
):
    stripe_sim.set_faults(error_rate=1.0)
    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)
    stripe_sim.set_faults()
    settings.LOCK_TIMEOUT_MS = 200
    locked, release = threading.Event(), threading.Event()

    def hold_the_order() -> None:
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=paid_order.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_order)
    holder.start()
    later = timezone.now() + timedelta(minutes=2)
    try:
        assert locked.wait(10)
        with time_machine.travel(later):
            reconcile_payments()  # Busy for this refund: logged, not raised
    finally:
        release.set()
        holder.join()
    refund.refresh_from_db()
    assert refund.status == Status.REQUESTED

    with time_machine.travel(later):
        assert reconcile_payments()["refund succeeded"] == 1
    assert len(stripe_refunds(stripe_sim, paid_order)) == 1


def test_the_orders_page_shows_the_money_log_of_this_event_only(
    client, stripe_sim, paid_order, seller, django_assert_max_num_queries
):
    from payments.selectors import money_log

    refund = refund_tickets(organiser=seller, order_id=paid_order.pk)
    AuditLogEntry.objects.create(
        action="refund.succeeded", object_type="payments.refund", object_id=str(refund.pk + 999)
    )  # another event's refund

    event = paid_order.ticket_type.event
    with django_assert_max_num_queries(1):
        rows = money_log(event=event)
    assert [(row.action, row.object_id) for row in rows][:2] == [
        ("refund.succeeded", str(refund.pk)),
        ("refund.requested", str(refund.pk)),
    ]
    assert all(row.object_id != str(refund.pk + 999) for row in rows)
    client.force_login(seller)
    page = client.get(f"/organiser/events/{paid_order.ticket_type.event_id}/orders/")
    content = page.content.decode()
    assert "Money log" in content
    assert f"refund.succeeded · refund #{refund.pk}" in content
    assert seller.email in content
