"""kill -9 the job consumer twice while it refunds a cancelled event's orders: after a
restart (and the sweep, for a refund whose answer died with the consumer) every charge has
exactly one refund at the simulator."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from events.models import Event
from payments.models import Order, Refund
from payments.services.cancellation import cancel_event
from payments.services.reconciliation import reconcile_payments
from payments.tasks import resume_cancellations
from payments.tests.test_mass_cancellation import ledger, sell
from tickets.models import Ticket
from waitlist.tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 30
KILLS = 2


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.01)


def start_consumer(log: Path, stripe_url: str) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STRIPE_")  # never a developer's real key
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tickethub.settings",
        DATABASE_URL=database_url(),  # pytest-django's test database, not the real one
        STRIPE_SIMULATOR_URL=stripe_url,
    )
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_huey", "--no-periodic", "--skip-checks"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def requested_or_done() -> int:
    return Refund.objects.count()


def test_a_consumer_killed_twice_mid_refunds_refunds_every_charge_once(
    stripe_sim, seller, jobs, tmp_path
):
    event, orders = sell(stripe_sim, seller, currency="GBP", price_minor=2500, count=ORDERS)
    jobs.run_due()  # the order e-mails, before the consumer takes the queue
    stripe_sim.set_faults(latency_ms=150)  # slow enough for a kill to land mid-pass
    cancel_event(organiser=seller, event_id=event.pk)

    cut_short = 0
    for kill in range(KILLS):
        log = tmp_path / f"consumer-{kill}.log"
        consumer = start_consumer(log, stripe_sim.url)
        try:
            before = requested_or_done()
            wait_for(
                lambda c=consumer, b=before: requested_or_done() >= b + 4 or c.poll() is not None,
                timeout=60,
                what="the consumer to refund a few orders",
            )
            assert consumer.poll() is None, log.read_text()[-3000:]
            time.sleep(0.07)  # inside a refund's call to Stripe, most likely
        finally:
            consumer.kill()
            assert consumer.wait(timeout=10) == -signal.SIGKILL
        cut_short += Refund.objects.filter(status=Refund.Status.REQUESTED).count()
        # The periodic backstop queues another pass for the cancelling event.
        resume_cancellations.call_local()
    assert Refund.objects.count() < ORDERS, "the kills came too late to interrupt the job"
    assert cut_short >= 1, "no kill landed while a refund waited for Stripe"

    log = tmp_path / "consumer-restarted.log"
    consumer = start_consumer(log, stripe_sim.url)
    try:
        wait_for(
            lambda: (
                (
                    Refund.objects.filter(status=Refund.Status.SUCCEEDED).count()
                    + Refund.objects.filter(status=Refund.Status.REQUESTED).count()
                    >= ORDERS
                    and not jobs.huey.pending_count()
                )
                or consumer.poll() is not None
            ),
            timeout=60,
            what="the restarted consumer to pass over every order",
        )
        assert consumer.poll() is None, log.read_text()[-3000:]
    finally:
        consumer.send_signal(signal.SIGINT)
        consumer.wait(timeout=30)
    # A refund whose answer died with a consumer is still requested: the sweep asks Stripe
    # again with its key, and the answer is the refund Stripe already made.
    reconcile_payments(now=timezone.now() + timedelta(minutes=5))
    jobs.run_due()  # what the sweep's refunds queued: the cancellation's end, the e-mails
    stripe_sim.set_faults()

    assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
    assert not Ticket.objects.filter(ticket_type__event=event).exclude(
        status=Ticket.Status.REFUNDED
    )
    assert Refund.objects.filter(status=Refund.Status.SUCCEEDED).count() == ORDERS
    for order in orders:
        refunds, (charge, fee) = ledger(stripe_sim, order)
        assert [(r.amount, r.status) for r in refunds] == [(order.amount_minor, "succeeded")]
        assert fee.amount_refunded == fee.amount
        assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
