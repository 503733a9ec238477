"""Payments jobs: each takes ids, calls one service and owns only its retry policy."""

import stripe
from django.db import OperationalError
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from payments import notifications
from payments.services.cancellation import (
    cancelling_event_ids,
    finish_cancellation,
    refund_cancelled_event,
)
from payments.services.fulfilment import close_checkout_of_offer
from payments.services.reconciliation import reconcile_payments
from payments.services.refunds import ask_again, is_transient_stripe_error
from payments.services.webhooks import process_stripe_event
from tickethub.errors import Busy
from tickethub.jobs import retry_only_if
from tickethub.mail import (
    EMAIL_JOB_RETRIES,
    EMAIL_JOB_RETRY_BACKOFF,
    EMAIL_JOB_RETRY_DELAY,
    is_transient_delivery_error,
)

# Stripe unreachable, a lock that timed out, a briefly locked SQLite file: worth retrying.
# The sweep picks up whatever still fails.
TRANSIENT = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
    Busy,
    OperationalError,
)


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT)


# Jobs' priorities: money first, then capacity (offer expiry), then e-mails (0).
PAYMENT_PRIORITY = 20


@db_task(retries=5, retry_delay=5, priority=PAYMENT_PRIORITY)
def process_stripe_event_task(event_pk: int) -> None:
    with retry_only_if(_is_transient):
        process_stripe_event(event_pk=event_pk)


@db_task(retries=5, retry_delay=10, priority=PAYMENT_PRIORITY)
def expire_checkout_of_offer(entry_id: int) -> None:
    with retry_only_if(_is_transient):
        close_checkout_of_offer(entry_id=entry_id)


# A refund Stripe did not answer is asked about again after 30 s, 1, 2, 4, 8 and 16
# minutes, with the same idempotency key; the sweep keeps asking after that.
REFUND_RETRY_DELAY = 30


def _is_transient_for_refund(error: BaseException) -> bool:
    if isinstance(error, stripe.StripeError):
        return is_transient_stripe_error(error)
    return isinstance(error, Busy | OperationalError)


@db_task(retries=6, retry_delay=REFUND_RETRY_DELAY, retry_backoff=2, priority=PAYMENT_PRIORITY)
def ask_stripe_about_refund_again(refund_id: int) -> None:
    with retry_only_if(_is_transient_for_refund):
        ask_again(refund_id=refund_id)


# A cancellation's pass that Stripe stopped (rate limit, 5xx) resumes after 10 s, then
# 20, 40, … up to 5 minutes: the refunds it left requested back off on their own.
CANCELLATION_PAUSE = 10
CANCELLATION_MAX_PAUSE = 300


@db_task(retries=5, retry_delay=10, priority=PAYMENT_PRIORITY)
def refund_cancelled_event_task(event_id: int, pause: int = CANCELLATION_PAUSE) -> None:
    with retry_only_if(_is_transient):
        run = refund_cancelled_event(event_id=event_id)
    if run.paused:
        refund_cancelled_event_task.schedule(
            (event_id, min(pause * 2, CANCELLATION_MAX_PAUSE)), delay=pause
        )


@db_task(retries=5, retry_delay=10, priority=PAYMENT_PRIORITY)
def finish_cancellation_task(event_id: int) -> None:
    with retry_only_if(_is_transient):
        finish_cancellation(event_id=event_id)


@db_periodic_task(crontab(minute="*/5"))
def resume_cancellations() -> None:
    """Backstop for a refund job lost to a crash, and for a late payment refunded after
    the cancellation: every cancelling event gets another pass."""
    for event_id in cancelling_event_ids():
        refund_cancelled_event_task(event_id)


def _is_transient_for_email(error: BaseException) -> bool:
    return is_transient_delivery_error(error) or isinstance(error, Busy | OperationalError)


@db_task(
    retries=EMAIL_JOB_RETRIES,
    retry_delay=EMAIL_JOB_RETRY_DELAY,
    retry_backoff=EMAIL_JOB_RETRY_BACKOFF,
)
def send_order_email(order_id: int, kind: str) -> None:
    with retry_only_if(_is_transient_for_email):
        notifications.send_order_email(order_id=order_id, kind=kind)


@db_task(
    retries=EMAIL_JOB_RETRIES,
    retry_delay=EMAIL_JOB_RETRY_DELAY,
    retry_backoff=EMAIL_JOB_RETRY_BACKOFF,
)
def send_refund_email(refund_id: int) -> None:
    with retry_only_if(_is_transient_for_email):
        notifications.send_refund_email(refund_id=refund_id)


@db_task(
    retries=EMAIL_JOB_RETRIES,
    retry_delay=EMAIL_JOB_RETRY_DELAY,
    retry_backoff=EMAIL_JOB_RETRY_BACKOFF,
)
def send_tickets_cancelled_email(event_id: int, owner_id: int) -> None:
    with retry_only_if(_is_transient_for_email):
        notifications.send_tickets_cancelled_email(event_id=event_id, owner_id=owner_id)


@db_periodic_task(crontab(minute="*"))
def reconcile_payments_every_minute() -> None:
    with lock_task("payments-sweep"):
        reconcile_payments()
