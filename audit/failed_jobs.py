"""Every Huey job that fails for good leaves a FailedJob row, whichever app it belongs to.

Huey calls the hooks below around each execution, in the consumer and in the tests' job
runner alike (both go through ``Huey.execute``). A job has failed for good when it raised
and no retry is left: it exhausted its retries, or ``tickethub.jobs.retry_only_if`` judged
its error permanent and cancelled it (the cancellation carries the error as its cause).
"""

from typing import Any

from huey.api import Huey, Task
from huey.contrib.djhuey import close_db
from huey.exceptions import CancelExecution, RateLimitExceeded, TaskLockedException

from audit.services import record_failed_job

# Outcomes that are not failures: another run holds the job's lock (a sweep already under
# way), or the job is over its rate limit.
NOT_RUN = (TaskLockedException, RateLimitExceeded)


def note_retries_left(task: Task) -> None:
    """Remember how many retries were left when this attempt began: Huey zeroes the count
    when it cancels a job, and the row should say how many attempts were made."""
    task.retries_left_at_start = task.retries


def record_if_failed_for_good(task: Task, value: Any, exception: BaseException | None) -> None:
    if exception is None or task.retries or isinstance(exception, NOT_RUN):
        return
    if isinstance(exception, CancelExecution):
        if exception.__cause__ is None:
            return  # cancelled on purpose, not by an error
        exception = exception.__cause__
    retries_left = getattr(task, "retries_left_at_start", task.retries)
    _record(
        task_name=f"{type(task).__module__}.{task.name}",
        task_id=task.id,
        args=task.args,
        kwargs=task.kwargs,
        error=exception,
        attempts=max(type(task).default_retries - retries_left, 0) + 1,
    )


# As a db_task: a connection the failed job left broken is replaced first, and the one used
# here is closed after (the worker may sit idle for long).
_record = close_db(record_failed_job)


def connect(huey: Huey) -> None:
    """Install the hooks; they are registered by name, so connecting again replaces them."""
    huey.pre_execute(name="audit.note_retries_left")(note_retries_left)
    huey.post_execute(name="audit.record_if_failed_for_good")(record_if_failed_for_good)
