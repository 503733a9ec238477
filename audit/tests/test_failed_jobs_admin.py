"""Staff find the jobs that failed for good in the admin, read-only."""

import pytest
from django.urls import reverse

from audit.models import FailedJob
from audit.services import record_failed_job

pytestmark = pytest.mark.django_db


def failed(task_name, error, *args):
    try:
        raise error
    except Exception as raised:
        return record_failed_job(
            task_name=task_name, task_id="job-1", args=args, kwargs={}, error=raised, attempts=5
        )


@pytest.fixture
def failures(db):
    return [
        failed("waitlist.tasks.send_waitlist_email", ConnectionRefusedError("refused"), 41, "x"),
        failed("payments.tasks.expire_checkout_of_offer", RuntimeError("Stripe is down"), 7),
    ]


def test_staff_see_failed_jobs_filter_them_by_task_and_search_them(client, staff, failures):
    client.force_login(staff)
    url = reverse("admin:audit_failedjob_changelist")

    listing = client.get(url)
    assert listing.status_code == 200
    assert b"send_waitlist_email" in listing.content
    assert b"expire_checkout_of_offer" in listing.content
    assert b"Select failed job to view" in listing.content  # read-only: view, not change
    assert reverse("admin:audit_failedjob_add").encode() not in listing.content

    by_task = client.get(url, {"task_name": "payments.tasks.expire_checkout_of_offer"})
    assert list(by_task.context["cl"].result_list) == [failures[1]]

    searched = client.get(url, {"q": "refused"})
    assert list(searched.context["cl"].result_list) == [failures[0]]

    detail = client.get(reverse("admin:audit_failedjob_change", args=[failures[0].pk]))
    assert detail.status_code == 200
    assert b"ConnectionRefusedError" in detail.content
    assert b"Traceback" in detail.content
    assert b'name="_save"' not in detail.content


def test_failed_jobs_are_not_shown_to_buyers(client, buyer, failures):
    client.force_login(buyer)
    response = client.get(reverse("admin:audit_failedjob_changelist"))
    assert response.status_code == 302
    assert FailedJob.objects.count() == 2
