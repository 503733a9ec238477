"""The waiting list's e-mails, sent by the real job queue to Django's locmem outbox."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from audit.models import FailedJob
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.mail import EMAIL_JOB_RETRIES, EMAIL_JOB_RETRY_BACKOFF, EMAIL_JOB_RETRY_DELAY
from waitlist import services

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_an_event_named_with_a_line_break_still_gets_its_offer_e_mail(buyer, organiser, jobs):
    # Stored before names were checked at input: straight through the ORM.
    event = EventFactory(organiser=organiser, name="tickets\r\nBcc: x@example.com", ticket_types=[])
    ticket_type = TicketTypeFactory(event=event, price_minor=2500, capacity=4)
    services.join_waiting_list(user=buyer, ticket_type_id=ticket_type.pk, quantity=1)

    jobs.run_due()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@example.com"]
    assert message.bcc == []
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "tickets Bcc: x@example.com" in message.subject
    sent = message.message().as_bytes()
    headers = sent.split(b"\n\n", 1)[0].decode()
    assert "x@example.com" not in [line.split(":", 1)[0] for line in headers.splitlines()]
    assert not any(line.lower().startswith("bcc:") for line in headers.splitlines())


def offer_to(user, ticket_type):
    """``user`` joins with places free: the offer is made and its e-mail job queued."""
    return services.join_waiting_list(user=user, ticket_type_id=ticket_type.pk, quantity=1).entry


def test_an_e_mail_refused_for_good_is_recorded_once_and_not_retried(
    buyer, paid_type, smtp_sink, jobs
):
    smtp_sink.refuse("buyer@example.com", "550 5.1.1 No such user here")
    entry = offer_to(buyer, paid_type)

    jobs.run_due()

    assert smtp_sink.delivered == []
    assert jobs.scheduled_names() == ["expire_offer_task"]  # no retry of the e-mail
    failed = FailedJob.objects.get()
    assert failed.task_name == "waitlist.tasks.send_waitlist_email"
    assert failed.arguments == {"args": [entry.pk, "offer_made"], "kwargs": {}}
    assert failed.error_class == "smtplib.SMTPRecipientsRefused"
    assert "No such user here" in failed.error_message
    assert "Traceback" in failed.traceback
    assert failed.attempts == 1


def test_an_address_python_refuses_to_write_is_recorded_without_a_retry(paid_type, jobs):
    # Stored before addresses were checked: a header injection attempt in the address.
    buyer = UserFactory(email="buyer@example.com\nBcc: x@example.com")
    offer_to(buyer, paid_type)

    jobs.run_due()

    assert mail.outbox == []
    assert jobs.scheduled_names() == ["expire_offer_task"]
    failed = FailedJob.objects.get()
    assert (failed.error_class, failed.attempts) == ("ValueError", 1)


def test_a_greylisted_e_mail_is_retried_and_then_delivered(buyer, paid_type, smtp_sink, jobs):
    smtp_sink.refuse("buyer@example.com", "451 4.7.1 Greylisted, please try again later")
    offer_to(buyer, paid_type)

    jobs.run_due()
    assert smtp_sink.delivered == []
    assert jobs.scheduled_names() == ["expire_offer_task", "send_waitlist_email"]

    with time_machine.travel(timezone.now() + timedelta(seconds=EMAIL_JOB_RETRY_DELAY + 1)):
        jobs.run_due()

    [delivered] = smtp_sink.delivered
    assert delivered["To"] == "buyer@example.com"
    assert not FailedJob.objects.exists()


def test_an_e_mail_is_recorded_when_the_server_stays_down_through_every_retry(
    buyer, paid_type, settings, jobs
):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    offer_to(buyer, paid_type)

    # Each attempt when its retry falls due (30 s, 1, 2, 4 minutes on): all well within
    # the offer's 30 minutes, so no other e-mail is due.
    moment, delay = timezone.now(), EMAIL_JOB_RETRY_DELAY
    for _attempt in range(EMAIL_JOB_RETRIES + 1):
        with time_machine.travel(moment, tick=False):
            jobs.run_due()
        moment += timedelta(seconds=delay + 1)
        delay *= EMAIL_JOB_RETRY_BACKOFF

    assert jobs.scheduled_names() == ["expire_offer_task"]
    failed = FailedJob.objects.get()
    assert failed.error_class == "ConnectionRefusedError"
    assert failed.attempts == EMAIL_JOB_RETRIES + 1
