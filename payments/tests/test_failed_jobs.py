"""A payments job that Stripe keeps failing is recorded for staff once its retries run out."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import FailedJob
from payments.models import Order
from payments.tasks import expire_checkout_of_offer
from payments.tests.conftest import checkout

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_checkout_stripe_keeps_failing_to_close_is_recorded_when_retries_run_out(
    stripe_sim, offer, buyers, jobs
):
    order = checkout(buyers[0], offer)
    jobs.run_due()
    stripe_sim.set_faults(error_rate=1.0)  # every API call answers 500

    expire_checkout_of_offer(offer.pk)
    start = timezone.now()
    for attempt in range(6):  # the first and five retries, 10 s apart
        with time_machine.travel(start + timedelta(seconds=11 * attempt), tick=False):
            jobs.run_due()

    failed = FailedJob.objects.get()
    assert failed.task_name == "payments.tasks.expire_checkout_of_offer"
    assert failed.arguments == {"args": [offer.pk], "kwargs": {}}
    assert failed.error_class.endswith("APIError")
    assert failed.attempts == 6
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # the sweep closes it once Stripe answers
