"""tickethub.locks: rows locked in one fixed order, a lock wait that runs out (PostgreSQL's
lock_timeout, SQLite's BEGIN IMMEDIATE) or a deadlock answered as Busy / 503, and no
network call while a lock is held."""

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, connection, transaction
from django.urls import reverse

from audit.models import AuditLogEntry
from events.locks import lock_ticket_types
from events.models import Event, TicketType
from tests.factories import EventFactory, TicketTypeFactory
from tickethub.errors import Busy
from tickethub.locks import NetworkCallUnderLock, is_busy_error, lock_held, locked
from waitlist.models import WaitingListEntry


@pytest.fixture
def event(organiser):
    return EventFactory(organiser=organiser, ticket_types=[])


@pytest.fixture
def ticket_types(event):
    return [TicketTypeFactory(event=event, name=f"Type {n}", capacity=4) for n in range(3)]


def other_postgres_connection() -> psycopg.Connection:
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )


@contextmanager
def held_elsewhere(ticket_type: TicketType) -> Iterator[None]:
    """Another connection holds the ticket type's lock: its row lock on PostgreSQL, the
    database's one write lock (BEGIN IMMEDIATE) on SQLite."""
    if connection.vendor == "postgresql":
        with other_postgres_connection() as other:
            other.execute(
                f"SELECT id FROM {TicketType._meta.db_table} WHERE id = %s FOR UPDATE",
                [ticket_type.pk],
            )
            yield
            other.rollback()
    else:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
            other.execute("ROLLBACK")
        finally:
            other.close()


@pytest.fixture
def short_lock_waits(settings) -> Iterator[None]:
    """Waits of 200 ms: PostgreSQL's lock timeout (the setting), SQLite's busy timeout
    (lowered on this connection only; production keeps the 20 s of settings)."""
    settings.LOCK_TIMEOUT_MS = 200
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")
    yield
    configured_seconds = connection.settings_dict["OPTIONS"]["timeout"]
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {int(configured_seconds * 1000)}")


# --- Order, bookkeeping, lock_held --------------------------------------------------------


def test_rows_come_back_by_primary_key_in_one_statement_with_their_events(
    ticket_types, django_assert_num_queries
):
    first, second, third = ticket_types
    with locked() as lock, django_assert_num_queries(1):
        rows = lock.rows(TicketType.objects.select_related("event"), [third.pk, first.pk, third.pk])
        event_names = {row.event.name for row in rows.values()}
    assert list(rows) == [first.pk, third.pk]
    assert event_names == {first.event.name}


def test_locking_an_earlier_kind_after_a_later_one_is_a_programming_error(event, ticket_types):
    with locked() as lock:
        lock.rows(Event.objects, [event.pk])
        with pytest.raises(RuntimeError, match="events.TicketType locked after events.Event"):
            lock.rows(TicketType.objects, [ticket_types[0].pk])


def test_rows_already_held_may_be_asked_for_again_after_a_later_kind(event, ticket_types):
    first, second, _ = ticket_types
    with locked() as lock:
        lock.rows(TicketType.objects, [first.pk, second.pk])
        lock.rows(Event.objects, [event.pk])
        again = lock.rows(TicketType.objects, [second.pk])
        assert list(again) == [second.pk]
        with pytest.raises(RuntimeError):  # one more that is not held yet
            lock.rows(TicketType.objects, [first.pk, ticket_types[2].pk])


def test_a_model_outside_the_lock_order_is_refused(buyer):
    with locked() as lock, pytest.raises(RuntimeError, match="not a lockable kind"):
        lock.rows(get_user_model().objects, [buyer.pk])


def test_nested_blocks_share_the_outer_bookkeeping(event, ticket_types):
    with locked() as outer:
        with locked() as inner:
            assert inner is outer
            inner.rows(Event.objects, [event.pk])
        with pytest.raises(RuntimeError):
            outer.rows(TicketType.objects, [ticket_types[0].pk])


def test_locks_of_a_nested_block_that_rolled_back_are_forgotten(event, ticket_types):
    with locked() as lock:
        with pytest.raises(ValueError), locked():
            lock.rows(Event.objects, [event.pk])
            raise ValueError("rolled back to the savepoint, and its row locks with it")
        assert list(lock.rows(TicketType.objects, [ticket_types[0].pk])) == [ticket_types[0].pk]


def test_lock_held_only_inside_locked_blocks(ticket_types):
    assert not lock_held()
    with locked():
        assert lock_held()
        with locked():
            assert lock_held()
        assert lock_held()
    assert not lock_held()
    with pytest.raises(ValueError), locked():
        raise ValueError
    assert not lock_held()
    # The ticket type helpers inside a caller's own transaction (services not yet moved to
    # locked()) lock the rows but do not mark a lock as held.
    with transaction.atomic():
        assert list(lock_ticket_types([ticket_types[0].pk])) == [ticket_types[0].pk]
        assert not lock_held()


def test_ticket_type_helpers_use_the_lock_of_the_block_they_run_in(event, ticket_types):
    with locked() as lock:
        lock.rows(Event.objects, [event.pk])
        with pytest.raises(RuntimeError, match="locked after events.Event"):
            lock_ticket_types([ticket_types[0].pk])


@pytest.mark.django_db(transaction=True)
def test_ticket_type_helpers_refuse_to_run_outside_a_transaction(ticket_types):
    with pytest.raises(RuntimeError, match="inside locked"):
        lock_ticket_types([ticket_types[0].pk])


# --- Recognising busy errors by code ------------------------------------------------------


def test_a_unique_violation_is_not_busy(buyer):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        get_user_model().objects.create(username=buyer.username, email="again@example.com")
    assert not is_busy_error(caught.value)


@pytest.mark.sqlite_only  # no database involved: runs once
def test_busy_errors_are_known_by_their_code_never_by_their_message():
    def wrapped(cause: BaseException, message: str) -> OperationalError:
        error = OperationalError(message)
        error.__cause__ = cause
        return error

    deadlock = wrapped(psycopg.errors.DeadlockDetected("deadlock detected"), "anything at all")
    snapshot = sqlite3.OperationalError("anything at all")
    snapshot.sqlite_errorcode = 517  # type: ignore[attr-defined]  # SQLITE_BUSY_SNAPSHOT
    assert is_busy_error(deadlock)
    assert is_busy_error(wrapped(psycopg.errors.LockNotAvailable("x"), "x"))
    assert is_busy_error(wrapped(snapshot, "anything at all"))

    no_such_table = sqlite3.OperationalError("database is locked")
    no_such_table.sqlite_errorcode = 1  # type: ignore[attr-defined]  # SQLITE_ERROR
    assert not is_busy_error(wrapped(no_such_table, "database is locked"))
    assert not is_busy_error(wrapped(psycopg.errors.UniqueViolation("x"), "lock timeout"))
    assert not is_busy_error(OperationalError("canceling statement due to lock timeout"))
    assert not is_busy_error(ValueError("locked"))
    busy = Busy("busy")
    busy.__cause__ = deadlock
    assert not is_busy_error(busy)  # already answered; the middleware renders it as it is


# --- PostgreSQL: row locks with a lock timeout --------------------------------------------


@pytest.mark.postgres_only
def test_the_lock_timeout_comes_from_settings_once_per_transaction(
    settings, ticket_types, django_assert_num_queries
):
    def lock_timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            return cursor.fetchone()[0]

    with locked():
        assert lock_timeout() == "3s"
    settings.TICKET_TYPE_LOCK_TIMEOUT_MS = 250  # the older name still counts
    with locked():
        assert lock_timeout() == "250ms"
    settings.LOCK_TIMEOUT_MS = 200  # and the new one wins
    with locked():
        assert lock_timeout() == "200ms"
        # A nested block is a savepoint and its release: no second SET.
        with django_assert_num_queries(2), locked():
            pass


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_elsewhere_is_busy_after_the_lock_timeout(short_lock_waits, ticket_types):
    first, second, _ = ticket_types
    with held_elsewhere(second):
        started = time.monotonic()
        with pytest.raises(Busy) as caught, locked() as lock:
            lock.rows(TicketType.objects, [first.pk, second.pk])
        waited = time.monotonic() - started

    assert waited < 2
    assert caught.value.retry_after_seconds == 1
    assert caught.value.status == 503
    assert "try again in a moment" in caught.value.message
    assert is_busy_error(caught.value.__cause__)
    # Rolled back and left: the connection serves the next transaction.
    assert not connection.in_atomic_block and not lock_held()
    with locked() as lock:
        assert list(lock.rows(TicketType.objects, [second.pk])) == [second.pk]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_only_the_models_own_rows_are_locked_not_those_read_alongside(event, ticket_types):
    nowait = "SELECT id FROM {} WHERE id = %s FOR UPDATE NOWAIT"
    with locked() as lock, other_postgres_connection() as other:
        lock.rows(TicketType.objects.select_related("event"), [ticket_types[0].pk])
        other.execute(nowait.format(Event._meta.db_table), [event.pk])  # free
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute(nowait.format(TicketType._meta.db_table), [ticket_types[0].pk])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lock_not_available_outside_our_helpers_is_recognised_by_its_code(ticket_types):
    table = TicketType._meta.db_table
    nowait = f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT"
    with held_elsewhere(ticket_types[0]):
        with (
            pytest.raises(OperationalError) as caught,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(nowait, [ticket_types[0].pk])
        # Any statement in a locked() block, not only Lock.rows, ends as Busy.
        with pytest.raises(Busy), locked(), connection.cursor() as cursor:
            cursor.execute(nowait, [ticket_types[0].pk])

    assert caught.value.__cause__.sqlstate == "55P03"
    assert "locked" not in str(caught.value) and "lock timeout" not in str(caught.value)
    assert is_busy_error(caught.value)


# --- SQLite: the write lock of BEGIN IMMEDIATE --------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_write_lock_held_elsewhere_makes_entering_a_block_busy(short_lock_waits, ticket_types):
    with held_elsewhere(ticket_types[0]):
        started = time.monotonic()
        with pytest.raises(Busy) as caught, locked():
            pytest.fail("the block must not run without the write lock")
        waited = time.monotonic() - started

    assert waited < 2
    assert caught.value.retry_after_seconds == 20  # the configured busy timeout
    cause = caught.value.__cause__
    assert isinstance(cause, OperationalError) and is_busy_error(cause)
    assert not connection.in_atomic_block and connection.get_autocommit() and not lock_held()
    with locked() as lock:
        lock.rows(TicketType.objects, [ticket_types[0].pk])
        TicketType.objects.filter(pk=ticket_types[0].pk).update(capacity=5)
    assert TicketType.objects.get(pk=ticket_types[0].pk).capacity == 5


# --- A view that writes while the lock is held elsewhere ----------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_joining_while_the_lock_is_held_elsewhere_is_503_and_changes_nothing(
    client, buyer, ticket_types, short_lock_waits, htmx
):
    client.force_login(buyer)
    with held_elsewhere(ticket_types[0]):
        response = client.post(
            reverse("waitlist_join"),
            {"ticket_type_id": str(ticket_types[0].pk), "quantity": "1"},
            headers={"HX-Request": "true"} if htmx else {},
        )

    assert response.status_code == 503
    # PostgreSQL: the ticket type's lock timeout (200 ms); SQLite: BEGIN IMMEDIATE's 20 s.
    assert response["Retry-After"] == ("1" if connection.vendor == "postgresql" else "20")
    assert "Please try again in a moment." in response.content.decode()
    assert response["Content-Type"].startswith("text/plain" if htmx else "text/html")
    assert not WaitingListEntry.objects.exists()
    assert not AuditLogEntry.objects.exists()


# --- No network call under a lock ---------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    yield server.getsockname()
    server.close()


def test_a_socket_call_inside_a_locked_block_raises(db, listener):
    sending, receiving = socket.socketpair()
    with sending, receiving, locked():
        with pytest.raises(NetworkCallUnderLock):
            socket.create_connection(listener, timeout=5)
        with pytest.raises(NetworkCallUnderLock), socket.socket() as client:
            client.connect(listener)
        with pytest.raises(NetworkCallUnderLock), socket.socket() as client:
            client.connect_ex(listener)
        for send in (sending.send, sending.sendall):
            with pytest.raises(NetworkCallUnderLock):
                send(b"x")
        with pytest.raises(NetworkCallUnderLock):
            sending.sendto(b"x", listener)


def test_socket_calls_outside_a_locked_block_are_fine(db, listener, ticket_types):
    with locked():
        pass
    with socket.create_connection(listener, timeout=5):
        pass
    sending, receiving = socket.socketpair()
    with sending, receiving, transaction.atomic():
        lock_ticket_types([ticket_types[0].pk])  # not yet moved to locked(): not guarded
        sending.sendall(b"x")
        assert receiving.recv(1) == b"x"


@pytest.mark.django_db(transaction=True)
def test_on_commit_hooks_of_a_locked_block_may_use_the_network(listener):
    connected = threading.Event()

    def connect_after_commit() -> None:
        with socket.create_connection(listener, timeout=5):
            connected.set()

    with locked():
        transaction.on_commit(connect_after_commit)
    assert connected.is_set()
