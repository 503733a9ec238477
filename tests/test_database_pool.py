"""The PostgreSQL connection pool: sized from settings, and never shared across fork."""

import pytest
from django.conf import settings
from django.db import connection

from waitlist.tests.processes import FORK, fork, reaped

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_connections_come_from_a_pool_sized_by_the_settings():
    backend_pid()
    pool = connection.pool
    assert pool is not None
    assert (pool.min_size, pool.max_size, pool.timeout) == (
        settings.DATABASE_POOL_MIN_SIZE,
        settings.DATABASE_POOL_MAX_SIZE,
        settings.DATABASE_POOL_TIMEOUT,
    )
    assert connection.settings_dict["CONN_MAX_AGE"] == 0


def _report_backend_pid(sender) -> None:
    sender.send(backend_pid())


def test_a_forked_child_opens_its_own_connections_not_its_parent_s():
    backend_pid()
    connection.close()  # back to the pool, which stays open across the fork
    parents = {pooled.info.backend_pid for pooled in connection.pool._pool}
    assert parents

    receiver, sender = FORK.Pipe(duplex=False)
    with reaped([fork(_report_backend_pid, sender)]) as [child]:
        sender.close()
        assert receiver.poll(30), "the child sent nothing"
        child_pid = receiver.recv()
        child.join(timeout=30)
    assert child.exitcode == 0
    assert child_pid not in parents
    # The parent's pooled sessions were not used by the child: each still answers, as itself.
    pool = connection.pool
    borrowed = [pool.getconn() for _ in parents]
    try:
        answers = {pooled.execute("SELECT pg_backend_pid()").fetchone()[0] for pooled in borrowed}
    finally:
        for pooled in borrowed:
            pool.putconn(pooled)
    assert answers == parents
