"""Row locks for every lockable kind, in one fixed order, with a wait that ends in Busy.

    with locked() as lock:
        ticket_types = lock.rows(TicketType.objects.select_related("event"), ids)
        order = lock.rows(Order.objects, [order_id])[order_id]

Kinds are locked in LOCK_ORDER and the rows of one kind in primary-key order, in one
statement, so two transactions that lock overlapping rows always queue in the same order
and cannot deadlock each other; asking for an earlier kind after a later one is a
programming error (RuntimeError), caught by whichever test walks that path.

PostgreSQL: SELECT … FOR UPDATE OF the model's own table, under ``SET LOCAL lock_timeout``
(setting LOCK_TIMEOUT_MS, 3000 by default; the older TICKET_TYPE_LOCK_TIMEOUT_MS still
counts). SQLite: FOR UPDATE is a no-op; every write transaction starts as BEGIN IMMEDIATE
(settings), which takes the one write lock and waits for it up to the connection's busy
timeout (the ``timeout`` option, 20 s). Either wait running out, and a deadlock, becomes
``Busy`` (503 with Retry-After) after the transaction or savepoint has rolled back.

No network call may run while a lock is held: the tests' socket guard (root conftest.py)
raises NetworkCallUnderLock inside a locked() block. Hooks registered with
``transaction.on_commit`` run after the commit, outside the block.

A kernel module: it knows no app of ours, only model labels.
"""

import math
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, QuerySet

from tickethub.errors import Busy

LOCK_ORDER: tuple[str, ...] = (
    "events.TicketType",
    "events.Event",
    "payments.Order",
    "payments.ConnectedAccount",
)

BUSY_MESSAGE = "This event is busy right now. Please try again in a moment."
DEFAULT_LOCK_TIMEOUT_MS = 3000
# PostgreSQL's lock_not_available (lock_timeout, NOWAIT) and deadlock_detected.
BUSY_SQLSTATES = frozenset({"55P03", "40P01"})
# SQLite's primary result codes; extended ones (SQLITE_BUSY_SNAPSHOT, …) carry them in
# their low byte.
BUSY_SQLITE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class NetworkCallUnderLock(RuntimeError):
    """A socket was used inside a locked() block: every waiter for those rows would wait
    on the network too. Raised by the tests' socket guard."""


class Lock:
    """The rows one outermost locked() block holds, by kind, and the latest kind locked."""

    def __init__(self) -> None:
        self._held: dict[str, set[int]] = {}
        self._latest_rank = -1

    def rows[M: Model](self, queryset: QuerySet[M], ids: Iterable[int]) -> dict[int, M]:
        """Lock the rows of queryset's model with these primary keys (SELECT … FOR UPDATE
        OF the model's own table only, so select_related tables are read but not locked),
        in pk order; return them by pk. Rows already locked in this block are fine to ask
        for again."""
        label = queryset.model._meta.label
        if label not in LOCK_ORDER:
            raise RuntimeError(f"{label} is not a lockable kind: add it to LOCK_ORDER.")
        rank = LOCK_ORDER.index(label)
        wanted = sorted(set(ids))
        held = self._held.setdefault(label, set())
        if rank < self._latest_rank and not held.issuperset(wanted):
            raise RuntimeError(
                f"{label} locked after {LOCK_ORDER[self._latest_rank]}: take locks in "
                f"LOCK_ORDER {LOCK_ORDER}, or two transactions can deadlock."
            )
        if not wanted:
            return {}
        self._latest_rank = max(self._latest_rank, rank)
        locked_rows = list(
            queryset.select_for_update(of=("self",)).filter(pk__in=wanted).order_by("pk")
        )
        held.update(row.pk for row in locked_rows)
        return {row.pk: row for row in locked_rows}

    def _bookkeeping(self) -> tuple[dict[str, set[int]], int]:
        return {label: set(pks) for label, pks in self._held.items()}, self._latest_rank

    def _restore(self, bookkeeping: tuple[dict[str, set[int]], int]) -> None:
        self._held, self._latest_rank = bookkeeping


_current_lock: ContextVar[Lock | None] = ContextVar("tickethub_current_lock", default=None)


@contextmanager
def locked() -> Iterator[Lock]:
    """Open a transaction (transaction.atomic; nested blocks become savepoints and share
    the outer Lock's bookkeeping), set the lock timeout, and map lock waits that time out
    to Busy."""
    lock = _current_lock.get()
    if lock is not None:
        before = lock._bookkeeping()
        try:
            with _busy_errors_as_busy(), transaction.atomic():
                yield lock
        except BaseException:
            # Row locks taken in a savepoint that rolls back are released with it.
            lock._restore(before)
            raise
        return
    lock = Lock()
    # The mapping sits outside the atomic block, so the transaction has rolled back (and
    # a BEGIN IMMEDIATE that timed out left no block behind) by the time Busy is raised.
    with _busy_errors_as_busy(), transaction.atomic():
        token = _current_lock.set(lock)
        try:
            _set_lock_timeout()
            yield lock
        finally:
            # Cleared before the commit, so on_commit hooks (which run after it, with
            # the locks released) may use the network.
            _current_lock.reset(token)


def lock_rows[M: Model](queryset: QuerySet[M], ids: Iterable[int]) -> dict[int, M]:
    """Lock rows in the transaction already open: inside locked() through its Lock;
    inside a bare transaction.atomic() (services not yet moved to locked()) in a Lock of
    their own, with the same timeout and Busy, and without marking a lock as held.
    Refuses to run outside a transaction, where the lock would end with the statement."""
    lock = _current_lock.get()
    if lock is not None:
        return lock.rows(queryset, ids)
    if not connection.in_atomic_block:
        raise RuntimeError("Row locks must be taken inside locked() or transaction.atomic().")
    with _busy_errors_as_busy():
        _set_lock_timeout()
        return Lock().rows(queryset, ids)


def lock_held() -> bool:
    """True inside a locked() block in this thread (or asyncio task)."""
    return _current_lock.get() is not None


def is_busy_error(error: BaseException) -> bool:
    """True when ``error`` (or the driver error Django wrapped in it) says a lock could
    not be had in time or a deadlock was broken: a retry may succeed. Decided by the
    driver's code, never by message text."""
    for candidate in (error, error.__cause__):
        if candidate is None:
            continue
        if getattr(candidate, "sqlstate", None) in BUSY_SQLSTATES:
            return True
        if isinstance(candidate, sqlite3.OperationalError):
            code = getattr(candidate, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in BUSY_SQLITE_CODES:
                return True
    return False


def lock_timeout_ms() -> int:
    """Setting LOCK_TIMEOUT_MS, or the older TICKET_TYPE_LOCK_TIMEOUT_MS, or 3000."""
    for name in ("LOCK_TIMEOUT_MS", "TICKET_TYPE_LOCK_TIMEOUT_MS"):
        configured: int | None = getattr(settings, name, None)
        if configured is not None:
            return int(configured)
    return DEFAULT_LOCK_TIMEOUT_MS


def busy_retry_after_seconds() -> int:
    """How long a waiter waited before giving up, in whole seconds: by then the crowd that
    held the lock has moved on, so a retry is worth it."""
    if connection.vendor == "sqlite":
        # sqlite3's own default busy timeout is 5 s.
        wait_seconds = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
    else:
        wait_seconds = lock_timeout_ms() / 1000
    return max(1, math.ceil(wait_seconds))


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {lock_timeout_ms():d}")


@contextmanager
def _busy_errors_as_busy() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if is_busy_error(error):
            raise Busy(BUSY_MESSAGE, retry_after_seconds=busy_retry_after_seconds()) from error
        raise
