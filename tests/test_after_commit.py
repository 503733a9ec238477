"""E-mails, jobs, checkout closes and live updates leave a change only once it has
committed, and never when it rolls back (shared/STYLE.md: side effects after commit).

Each service is called inside a caller's transaction, with its on-commit callbacks
captured: once the service has returned, while that transaction is still open, nothing has
been sent, queued or published. The transaction then commits for real, which runs the
callbacks: the jobs are in Huey's real storage (SQLite file or Redis), the live-update rows
are written, and the e-mail jobs, run as a consumer would, send the e-mails. Or the
transaction rolls back, and nothing of it ever leaves.

The tests commit, so they run outside the test's own transaction (transaction=True), and
the side effects of their setting up (committed too) are forgotten before the call.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import transaction

from events.models import Event, TicketType
from payments.models import Order
from payments.services.checkout import start_checkout
from payments.services.fulfilment import refresh_order
from payments.tests.conftest import onboard
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from waitlist import services
from waitlist.models import LiveEvent, WaitingListEntry

pytestmark = pytest.mark.django_db(transaction=True)
Status = WaitingListEntry.Status


def queued(jobs) -> list[tuple]:
    """Every job in Huey's queue and schedule: (name, arguments), sorted."""
    tasks = [*jobs.huey.pending(), *jobs.huey.scheduled()]
    return sorted((task.name, *task.args) for task in tasks)


def live_updates() -> set[tuple[str, str]]:
    return set(LiveEvent.objects.values_list("topic", "kind"))


def assert_nothing_has_left(jobs) -> None:
    assert mail.outbox == []
    assert queued(jobs) == []
    assert live_updates() == set()


def forget_the_setting_up(jobs) -> None:
    jobs.huey.flush()
    LiveEvent.objects.all().delete()
    mail.outbox.clear()


def sent_subjects(jobs) -> list[str]:
    """Run the due jobs as a consumer would; the subjects of the e-mails they sent."""
    jobs.run_due()
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    return sorted(message.subject.removeprefix(prefix) for message in mail.outbox)


def join(user, ticket_type: TicketType, quantity: int = 1) -> WaitingListEntry:
    return services.join_waiting_list(
        user=user, ticket_type_id=ticket_type.pk, quantity=quantity
    ).entry


def huey_eta(moment: datetime) -> datetime:
    """Huey keeps an eta as a naive UTC datetime."""
    return moment.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def event(organiser) -> Event:
    return EventFactory(organiser=organiser, ticket_types=[], name="Night Train")


@pytest.fixture
def one_place(event) -> TicketType:
    # Free: an offer of a paid type that ends also asks payments to close its checkout,
    # which the checkout tests below pin.
    return TicketTypeFactory(event=event, name="Standard", price_minor=0, capacity=1)


@pytest.fixture
def first_in_line(db):
    return UserFactory(email="first@example.com")


@pytest.fixture
def paid_type(stripe_sim, organiser) -> TicketType:
    """The organiser's Stripe account is onboarded on the simulator, so checkout works."""
    onboard(stripe_sim, organiser)
    event = EventFactory(organiser=organiser, ticket_types=[], payments_ready=False)
    return TicketTypeFactory(event=event, price_minor=2500, capacity=2)


def start_paying(buyer, entry: WaitingListEntry) -> Order:
    return start_checkout(
        buyer=buyer,
        entry_id=entry.pk,
        success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/offers/cancelled/",
    )


# --- nothing leaves before the commit -------------------------------------------------------


def test_joining_a_queue_e_mails_and_tells_pages_only_once_it_commits(
    buyer, first_in_line, event, one_place, jobs, django_capture_on_commit_callbacks
):
    join(first_in_line, one_place)  # holds the only place: the buyer waits
    forget_the_setting_up(jobs)

    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        entry = join(buyer, one_place)
        assert_nothing_has_left(jobs)

    assert entry.status == Status.WAITING
    assert callbacks
    assert queued(jobs) == [("send_waitlist_email", entry.pk, "joined")]
    assert live_updates() == {(f"user:{buyer.pk}", "entry"), (f"event:{event.pk}", "queue")}
    assert sent_subjects(jobs) == ["You're on the waiting list for Night Train"]


def test_an_offer_e_mails_and_schedules_its_expiry_only_once_it_commits(
    buyer, event, one_place, jobs, django_capture_on_commit_callbacks
):
    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        entry = join(buyer, one_place)
        assert_nothing_has_left(jobs)

    assert entry.status == Status.OFFERED
    assert callbacks
    assert queued(jobs) == [
        ("expire_offer_task", entry.pk),
        ("send_waitlist_email", entry.pk, "offer_made"),
    ]
    [expiry] = [task for task in jobs.huey.pending() if task.name == "expire_offer_task"]
    assert expiry.eta == huey_eta(entry.expires_at)
    assert live_updates() == {(f"user:{buyer.pk}", "entry"), (f"event:{event.pk}", "queue")}
    assert sent_subjects(jobs) == [
        "Your tickets for Night Train are ready: reply before they pass on"
    ]


def test_an_expired_offer_e_mails_and_passes_on_only_once_it_commits(
    buyer, first_in_line, event, one_place, jobs, django_capture_on_commit_callbacks
):
    offer = join(first_in_line, one_place)
    waiting = join(buyer, one_place)
    forget_the_setting_up(jobs)

    with time_machine.travel(offer.expires_at + timedelta(seconds=1), tick=False):
        with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
            assert services.expire_offer(entry_id=offer.pk)
            assert_nothing_has_left(jobs)

        assert callbacks
        assert queued(jobs) == [
            ("expire_offer_task", waiting.pk),
            ("send_waitlist_email", offer.pk, "offer_expired"),
            ("send_waitlist_email", waiting.pk, "offer_made"),
        ]
        assert live_updates() == {
            (f"user:{first_in_line.pk}", "entry"),
            (f"user:{buyer.pk}", "entry"),
            (f"event:{event.pk}", "queue"),
        }
        assert sent_subjects(jobs) == [
            "Your offer for Night Train has expired",
            "Your tickets for Night Train are ready: reply before they pass on",
        ]


def test_leaving_a_queue_tells_pages_only_once_it_commits(
    buyer, first_in_line, event, one_place, jobs, django_capture_on_commit_callbacks
):
    join(first_in_line, one_place)
    entry = join(buyer, one_place)
    forget_the_setting_up(jobs)

    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        services.leave_waiting_list(user=buyer, entry_id=entry.pk)
        assert_nothing_has_left(jobs)

    assert callbacks
    assert queued(jobs) == []
    assert live_updates() == {(f"user:{buyer.pk}", "entry"), (f"event:{event.pk}", "queue")}


def test_declining_an_offer_in_checkout_closes_the_checkout_only_once_it_commits(
    buyer, paid_type, jobs, django_capture_on_commit_callbacks
):
    entry = join(buyer, paid_type)
    start_paying(buyer, entry)
    forget_the_setting_up(jobs)

    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        services.decline_offer(user=buyer, entry_id=entry.pk)
        assert_nothing_has_left(jobs)

    assert callbacks
    assert queued(jobs) == [("expire_checkout_of_offer", entry.pk)]
    assert live_updates() == {
        (f"user:{buyer.pk}", "entry"),
        (f"event:{paid_type.event_id}", "queue"),
    }
    jobs.run_due()
    assert Order.objects.get(entry=entry).status == Order.Status.EXPIRED


def test_an_offer_in_checkout_that_runs_out_asks_to_close_the_checkout_only_once_it_commits(
    buyer, paid_type, jobs, django_capture_on_commit_callbacks
):
    entry = join(buyer, paid_type)
    start_paying(buyer, entry)
    forget_the_setting_up(jobs)

    with time_machine.travel(entry.expires_at + timedelta(seconds=1), tick=False):
        with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
            # Not expired yet: the places stay held until Stripe says the checkout closed.
            assert not services.expire_offer(entry_id=entry.pk)
            assert_nothing_has_left(jobs)

        assert callbacks
        assert queued(jobs) == [("expire_checkout_of_offer", entry.pk)]
        # Stripe closes the unpaid checkout, and only then does the offer expire.
        assert sent_subjects(jobs) == [f"Your offer for {paid_type.event.name} has expired"]


def test_a_paid_order_e_mails_its_tickets_only_once_it_commits(
    buyer, paid_type, stripe_sim, jobs, django_capture_on_commit_callbacks
):
    entry = join(buyer, paid_type)
    order = start_paying(buyer, entry)
    stripe_sim.pay(order.checkout_session_id)
    forget_the_setting_up(jobs)

    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        order = refresh_order(order=order)  # what the buyer's return to the site does
        assert_nothing_has_left(jobs)

    assert order.status == Order.Status.FULFILLED
    assert callbacks
    assert queued(jobs) == [("send_order_email", order.pk, "fulfilled")]
    assert (f"user:{buyer.pk}", "entry") in live_updates()
    assert sent_subjects(jobs) == [f"Your tickets for {paid_type.event.name}"]


def paid_too_late(request, jobs) -> Order:
    """The buyer pays for both places after their offer ran out and passed them on."""
    paid_type, buyer = request.getfixturevalue("paid_type"), request.getfixturevalue("buyer")
    entry = join(buyer, paid_type, quantity=2)
    order = start_paying(buyer, entry)
    join(request.getfixturevalue("first_in_line"), paid_type, quantity=2)
    request.getfixturevalue("time_machine").move_to(entry.expires_at + timedelta(seconds=1))
    services.expire_offer(entry_id=entry.pk)
    jobs.run_due()  # Stripe confirms the checkout closed unpaid: the places pass on
    request.getfixturevalue("stripe_sim").pay(order.checkout_session_id, ignore_expiry=True)
    return order


def test_a_late_payment_s_refund_e_mails_the_buyer_only_once_it_commits(
    request, paid_type, jobs, django_capture_on_commit_callbacks
):
    order = paid_too_late(request, jobs)
    forget_the_setting_up(jobs)

    with transaction.atomic(), django_capture_on_commit_callbacks() as callbacks:
        order = refresh_order(order=order)
        assert_nothing_has_left(jobs)

    assert order.status == Order.Status.REFUNDED
    assert callbacks
    assert queued(jobs) == [("send_order_email", order.pk, "refunded")]
    assert sent_subjects(jobs) == [f"Your payment for {paid_type.event.name} has been refunded"]


# --- nothing leaves a change that rolls back ------------------------------------------------


def joining_behind_someone(request) -> Callable[[], object]:
    one_place = request.getfixturevalue("one_place")
    join(request.getfixturevalue("first_in_line"), one_place)
    buyer = request.getfixturevalue("buyer")
    return lambda: join(buyer, one_place)


def joining_with_places_free(request) -> Callable[[], object]:
    one_place, buyer = request.getfixturevalue("one_place"), request.getfixturevalue("buyer")
    return lambda: join(buyer, one_place)


def an_offer_running_out(request) -> Callable[[], object]:
    one_place = request.getfixturevalue("one_place")
    offer = join(request.getfixturevalue("first_in_line"), one_place)
    join(request.getfixturevalue("buyer"), one_place)

    def expire() -> None:
        with time_machine.travel(offer.expires_at + timedelta(seconds=1), tick=False):
            services.expire_offer(entry_id=offer.pk)

    return expire


def leaving_a_queue(request) -> Callable[[], object]:
    one_place, buyer = request.getfixturevalue("one_place"), request.getfixturevalue("buyer")
    join(request.getfixturevalue("first_in_line"), one_place)
    entry = join(buyer, one_place)
    return lambda: services.leave_waiting_list(user=buyer, entry_id=entry.pk)


def declining_an_offer_in_checkout(request) -> Callable[[], object]:
    paid_type, buyer = request.getfixturevalue("paid_type"), request.getfixturevalue("buyer")
    entry = join(buyer, paid_type)
    start_paying(buyer, entry)
    return lambda: services.decline_offer(user=buyer, entry_id=entry.pk)


def an_offer_in_checkout_running_out(request) -> Callable[[], object]:
    paid_type, buyer = request.getfixturevalue("paid_type"), request.getfixturevalue("buyer")
    entry = join(buyer, paid_type)
    start_paying(buyer, entry)

    def expire() -> None:
        with time_machine.travel(entry.expires_at + timedelta(seconds=1), tick=False):
            services.expire_offer(entry_id=entry.pk)

    return expire


def fulfilling_a_paid_order(request) -> Callable[[], object]:
    paid_type, buyer = request.getfixturevalue("paid_type"), request.getfixturevalue("buyer")
    order = start_paying(buyer, join(buyer, paid_type))
    request.getfixturevalue("stripe_sim").pay(order.checkout_session_id)
    return lambda: refresh_order(order=order)


def refunding_a_late_payment(request) -> Callable[[], object]:
    order = paid_too_late(request, request.getfixturevalue("jobs"))
    return lambda: refresh_order(order=order)


class CallerGaveUp(Exception):
    pass


def waiting_list_and_orders() -> list[tuple]:
    entries = WaitingListEntry.objects.order_by("pk").values_list(
        "pk", "status", "checkout_close_requested_at"
    )
    return [*entries, *Order.objects.order_by("pk").values_list("pk", "status")]


@pytest.mark.parametrize(
    "scene",
    [
        joining_behind_someone,
        joining_with_places_free,
        an_offer_running_out,
        leaving_a_queue,
        declining_an_offer_in_checkout,
        an_offer_in_checkout_running_out,
        fulfilling_a_paid_order,
        refunding_a_late_payment,
    ],
    ids=lambda scene: scene.__name__,
)
def test_nothing_leaves_a_change_its_caller_rolls_back(scene, request, jobs):
    change = scene(request)
    forget_the_setting_up(jobs)
    before = waiting_list_and_orders()

    with pytest.raises(CallerGaveUp), transaction.atomic():
        change()
        assert waiting_list_and_orders() != before  # the service did change something
        raise CallerGaveUp

    assert waiting_list_and_orders() == before
    assert_nothing_has_left(jobs)
