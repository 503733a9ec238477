"""Real OS processes for the concurrency and crash tests, pointed at the test database.

Forked children start from the test's own state (settings, pytest-django's test database
name, the xdist worker's job queue) and open their own database connections. Subprocesses
start afresh and read their settings from the environment, so they are given the test
database's URL.
"""

import multiprocessing
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from typing import Any
from urllib.parse import quote

from django.db import connection, connections
from huey.contrib.djhuey import HUEY

FORK = multiprocessing.get_context("fork")
RACE_TIMEOUT_SECONDS = 60.0


def database_url() -> str:
    """DATABASE_URL of the database this test runs against (pytest-django's test database,
    suffixed per xdist worker), for subprocesses that read their settings afresh."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"  # an absolute path: sqlite:////tmp/...
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'], safe='')}"


def fork(target: Callable[..., Any], *args: Any) -> BaseProcess:
    """Start ``target(*args)`` in a forked child that opens its own database connections."""
    if connection.in_atomic_block:
        raise RuntimeError("Other processes see only committed rows: use transaction=True.")
    # A PostgreSQL socket or an SQLite handle used from two processes corrupts both sides,
    # so none may be open across the fork: the parent reopens its own on its next query.
    connections.close_all()
    HUEY.storage.close()  # SqliteHuey's one connection per process (Redis pools re-open)
    process = FORK.Process(target=_in_child, args=(target, args), daemon=True)
    with warnings.catch_warnings():
        # A pytest-xdist worker runs execnet's I/O on a second, native thread; the child
        # never uses execnet, so no lock that thread may hold at the fork is waited on.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        process.start()
    return process


def _in_child(target: Callable[..., Any], args: tuple) -> None:
    connections.close_all()
    try:
        target(*args)
    finally:
        connections.close_all()


@contextmanager
def reaped(processes: list[BaseProcess]) -> Iterator[list[BaseProcess]]:
    """Kill (SIGKILL, by pid) whichever of these children is still running on the way out,
    so a failing test never leaves a process behind."""
    try:
        yield processes
    finally:
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
                process.join(timeout=10)


def kill(process: BaseProcess) -> None:
    """SIGKILL one child and wait for it to be gone."""
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=10)
    assert process.exitcode == -signal.SIGKILL, f"child {process.pid}: {process.exitcode}"


def race(
    target: Callable[..., list], parts: Sequence[Any], *args: Any, timeout=RACE_TIMEOUT_SECONDS
) -> list:
    """Run ``target(part, *args)`` for each part in its own forked process, all released at
    the same moment once every one holds a database connection; returns their results,
    concatenated in the order of ``parts``."""
    start = FORK.Barrier(len(parts) + 1, timeout=timeout)
    receivers, processes = [], []
    with reaped(processes):
        for part in parts:
            receiver, sender = FORK.Pipe(duplex=False)
            processes.append(fork(_racer, target, part, args, start, sender))
            sender.close()  # so a child that dies makes the parent's recv() see EOF
            receivers.append(receiver)
        start.wait()
        deadline = time.monotonic() + timeout
        results: list = []
        for receiver, process in zip(receivers, processes, strict=True):
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"racer {process.pid} sent nothing within {timeout} s")
            try:
                results.extend(receiver.recv())
            except EOFError:
                process.join(timeout=10)
                raise AssertionError(
                    f"racer {process.pid} died without a result (exit code {process.exitcode})"
                ) from None
        for process in processes:
            process.join(timeout=max(1.0, deadline - time.monotonic()))
            assert process.exitcode == 0, f"racer {process.pid} exited with {process.exitcode}"
    return results


def _racer(target, part, args, start, sender) -> None:
    connection.ensure_connection()
    start.wait()
    sender.send(target(part, *args))
