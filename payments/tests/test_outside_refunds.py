"""Refunds made in Stripe's dashboard: a whole one refunds the order's remaining tickets
and frees their places for the queue; a partial one is recorded as money only and shown to
the organiser; each is recorded once, whatever the order of the webhooks; the site's own
refunds are never counted again as outside ones."""

import pytest
from django.db.models import Sum
from django.urls import reverse

from audit.models import AuditLogEntry
from payments.models import Order, Refund
from payments.services.refunds import (
    RefundRefused,
    apply_stripe_refund,
    refund_tickets,
    settle_outside_refund,
)
from payments.tests.test_refunds import (
    process_events_of_type,
    refund_outside_the_site,
    stripe_refunds,
    ticket_ids,
)
from tickethub.errors import NotFound
from tickets.models import Ticket
from waitlist.models import WaitingListEntry
from waitlist.services import join_waiting_list

pytestmark = pytest.mark.django_db(transaction=True)
Status = Refund.Status
Origin = Refund.Origin


@pytest.fixture
def paid_order(stripe_sim, offer, buyers) -> Order:
    from payments.tests.test_refunds import pay

    return pay(stripe_sim, buyers[0], offer)


def deliver_refund_events(stripe_sim) -> None:
    """Every refund event so far, as the webhook and its job would process them."""
    for event_type in ("refund.created", "charge.refunded", "charge.refund.updated"):
        process_events_of_type(stripe_sim, event_type)


def refunded_here(order: Order) -> int:
    return (
        order.refunds.filter(status=Status.SUCCEEDED).aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )


def refunded_at_stripe(stripe_sim, order: Order) -> int:
    return sum(r.amount for r in stripe_refunds(stripe_sim, order) if r.status == "succeeded")


def test_a_whole_dashboard_refund_refunds_the_tickets_and_offers_the_places(
    stripe_sim, paid_order, buyers, paid_type, jobs, mailoutbox
):
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1).entry
    refund_outside_the_site(stripe_sim, paid_order, 5000)

    deliver_refund_events(stripe_sim)

    [refund] = Refund.objects.all()
    assert (refund.origin, refund.status, refund.amount_minor) == (
        Origin.OUTSIDE,
        Status.SUCCEEDED,
        5000,
    )
    assert refund.requested_by is None and not refund.needs_attention
    assert refund.stripe_refund_id == stripe_refunds(stripe_sim, paid_order)[0].id
    assert sorted(refund.refunded_tickets.values_list("ticket_id", flat=True)) == ticket_ids(
        paid_order
    )
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.REFUNDED
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.OFFERED
    actions = AuditLogEntry.objects.filter(object_type="payments.refund", object_id=str(refund.pk))
    assert sorted(actions.values_list("action", flat=True)) == [
        "refund.outside",
        "refund.succeeded",
    ]
    assert "send_refund_email" in jobs.pending_names()
    jobs.run_due()
    assert [m.to for m in mailoutbox if "refunded" in m.subject] == [[paid_order.buyer.email]]
    assert refunded_here(paid_order) == refunded_at_stripe(stripe_sim, paid_order) == 5000


def test_a_partial_dashboard_refund_is_money_only_flagged_and_the_tickets_stay_valid(
    stripe_sim, paid_order, seller, paid_type, client
):
    refund_outside_the_site(stripe_sim, paid_order, 1000)

    deliver_refund_events(stripe_sim)

    [refund] = Refund.objects.all()
    assert (refund.origin, refund.status, refund.amount_minor, refund.needs_attention) == (
        Origin.OUTSIDE,
        Status.SUCCEEDED,
        1000,
        True,
    )
    assert not refund.refunded_tickets.exists()
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.FULFILLED
    paid_type.refresh_from_db()
    assert paid_type.sold_count == 2
    assert AuditLogEntry.objects.filter(action="refund.outside", object_id=str(refund.pk)).exists()

    client.force_login(seller)
    page = client.get(reverse("payments_event_orders", args=[paid_type.event_id]))
    assert "Refunded in Stripe's dashboard: £10.00" in page.text
    assert "choose which tickets it covers, or ignore" in page.text


def test_a_dashboard_refund_of_what_the_site_left_refunds_the_rest_never_more_than_paid(
    stripe_sim, paid_order, seller
):
    first, second = ticket_ids(paid_order)
    site = refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])
    assert site.status == Status.SUCCEEDED
    refund_outside_the_site(stripe_sim, paid_order, 2500)

    deliver_refund_events(stripe_sim)

    outside = Refund.objects.get(origin=Origin.OUTSIDE)
    assert list(outside.refunded_tickets.values_list("ticket_id", flat=True)) == [second]
    assert Refund.objects.filter(origin=Origin.SITE).get() == site  # not counted twice
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.REFUNDED}
    with pytest.raises(RefundRefused):
        refund_tickets(organiser=seller, order_id=paid_order.pk)
    assert refunded_here(paid_order) == refunded_at_stripe(stripe_sim, paid_order) == 5000
    paid_order.refresh_from_db()
    assert refunded_here(paid_order) <= paid_order.amount_minor


def test_the_site_s_own_refunds_are_never_recorded_as_outside_ones(stripe_sim, paid_order, seller):
    first, _second = ticket_ids(paid_order)
    refund_tickets(organiser=seller, order_id=paid_order.pk, ticket_ids=[first])
    refund_tickets(organiser=seller, order_id=paid_order.pk)

    deliver_refund_events(stripe_sim)
    process_events_of_type(stripe_sim, "refund.updated")

    assert Refund.objects.count() == 2
    assert not Refund.objects.filter(origin=Origin.OUTSIDE).exists()
    assert refunded_here(paid_order) == refunded_at_stripe(stripe_sim, paid_order) == 5000


def test_a_duplicate_or_reordered_delivery_records_the_dashboard_refund_once(
    stripe_sim, paid_order
):
    refund_outside_the_site(stripe_sim, paid_order, 1000)
    # charge.refunded first, refund.created after, then each again (Stripe redelivers).
    for _ in range(2):
        process_events_of_type(stripe_sim, "charge.refunded")
        process_events_of_type(stripe_sim, "refund.created")
    [at_stripe] = stripe_refunds(stripe_sim, paid_order)
    again = apply_stripe_refund(stripe_refund=at_stripe.to_dict())

    [refund] = Refund.objects.all()
    assert again == refund
    assert refund.stripe_refund_id == at_stripe.id
    assert AuditLogEntry.objects.filter(action="refund.outside").count() == 1


def test_a_refund_the_event_reports_succeeded_but_stripe_now_reports_failed_is_not_recorded(
    stripe_sim, offer, buyers
):
    from payments.tests.test_refunds import pay

    order = pay(stripe_sim, buyers[0], offer, card="4000000000005126")  # refunds fail later
    refund_outside_the_site(stripe_sim, order, 5000)
    stripe_sim.advance_clock(5)

    process_events_of_type(stripe_sim, "refund.created")  # its copy still says succeeded

    assert not Refund.objects.exists()
    assert set(order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}


def test_the_organiser_says_which_tickets_a_partial_dashboard_refund_covers(
    stripe_sim, paid_order, seller, buyers, paid_type, client, jobs, mailoutbox
):
    waiting = join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1).entry
    refund_outside_the_site(stripe_sim, paid_order, 2500)
    deliver_refund_events(stripe_sim)
    refund = Refund.objects.get()
    first, second = ticket_ids(paid_order)
    client.force_login(seller)

    done = client.post(
        reverse("payments_settle_outside_refund", args=[refund.pk]), {"tickets": [first]}
    )

    assert done.status_code == 302
    refund.refresh_from_db()
    assert not refund.needs_attention
    assert list(refund.refunded_tickets.values_list("ticket_id", flat=True)) == [first]
    assert Ticket.objects.get(pk=first).status == Ticket.Status.REFUNDED
    assert Ticket.objects.get(pk=second).status == Ticket.Status.VALID
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.OFFERED
    jobs.run_due()
    assert [m.to for m in mailoutbox if "refunded" in m.subject] == [[paid_order.buyer.email]]
    assert len(stripe_refunds(stripe_sim, paid_order)) == 1  # no money moved again
    with pytest.raises(RefundRefused):
        settle_outside_refund(organiser=seller, refund_id=refund.pk, ticket_ids=[second])


def test_an_ignored_partial_dashboard_refund_leaves_the_tickets_valid(
    stripe_sim, paid_order, seller, buyers
):
    refund_outside_the_site(stripe_sim, paid_order, 1000)
    deliver_refund_events(stripe_sim)
    refund = Refund.objects.get()
    with pytest.raises(NotFound):
        settle_outside_refund(organiser=buyers[1], refund_id=refund.pk, ticket_ids=[])

    settle_outside_refund(organiser=seller, refund_id=refund.pk, ticket_ids=[])

    refund.refresh_from_db()
    assert not refund.needs_attention and not refund.refunded_tickets.exists()
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VALID}
    assert AuditLogEntry.objects.filter(action="refund.outside_settled", actor=seller.pk).exists()
