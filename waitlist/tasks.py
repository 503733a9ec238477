"""Waiting-list jobs: each takes ids, calls one service and owns only its retry policy."""

from django.conf import settings
from django.db import OperationalError
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tickethub.errors import Busy
from tickethub.jobs import retry_only_if
from tickethub.locks import is_busy_error
from tickethub.mail import (
    EMAIL_JOB_RETRIES,
    EMAIL_JOB_RETRY_BACKOFF,
    EMAIL_JOB_RETRY_DELAY,
    is_transient_delivery_error,
)
from waitlist import notifications, services

MAX_TRANSIENT_RETRIES = 5
# Operational errors worth another try: a lock wait that ran out or a busy SQLite file
# (known by their codes: tickethub.locks.is_busy_error), a dropped connection. Anything
# else ("no such table", …) is a fault that retrying would only repeat.
TRANSIENT_MESSAGES = ("connection", "server closed", "terminating")


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, Busy) or is_busy_error(error):
        return True
    return isinstance(error, OperationalError) and any(
        text in str(error).lower() for text in TRANSIENT_MESSAGES
    )


@db_task(retries=MAX_TRANSIENT_RETRIES, retry_delay=2, priority=10)  # before e-mails
def expire_offer_task(entry_id: int) -> bool:
    with retry_only_if(_is_transient):
        return services.expire_offer(entry_id=entry_id)


def _is_transient_for_email(error: BaseException) -> bool:
    return is_transient_delivery_error(error) or _is_transient(error)


@db_task(
    retries=EMAIL_JOB_RETRIES,
    retry_delay=EMAIL_JOB_RETRY_DELAY,
    retry_backoff=EMAIL_JOB_RETRY_BACKOFF,
)
def send_waitlist_email(entry_id: int, kind: str) -> None:
    with retry_only_if(_is_transient_for_email):
        notifications.send_entry_email(entry_id=entry_id, kind=kind)


@db_task()
def sweep_once() -> int:
    with lock_task("waitlist-sweep"):
        return services.sweep()


@db_periodic_task(crontab(minute="*"))
def sweep_every_half_minute() -> None:
    """Huey's schedule has minute granularity: sweep now and once more half a minute on."""
    sweep_once()
    sweep_once.schedule(delay=settings.WAITLIST_SWEEP_SECONDS)
