"""The retry policy shared by jobs: retry what may pass, fail fast on what will not."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from huey.exceptions import CancelExecution


@contextmanager
def retry_only_if(is_transient: Callable[[BaseException], bool]) -> Iterator[None]:
    """Inside a Huey task declared with ``retries=N``: a transient error propagates, so
    Huey retries it (at most N times, after the task's retry_delay); any other error
    cancels the task without a retry, since running it again would only repeat it.

    (Huey's RetryTask does not count towards ``retries``, so it cannot bound retries.)
    """
    try:
        yield
    except Exception as error:
        if is_transient(error):
            raise
        raise CancelExecution(retry=False) from error
