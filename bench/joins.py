"""Joins per second and p99 latency of waitlist.services.join_waiting_list on PostgreSQL,
16 concurrent worker processes, every join by a different user onto a sold-out ticket type:
spread over 100 types, and all on ONE type (the hot row). Beside them, on the same box and
with the same workers: raw INSERTs of the same row, and the join's minimum SQL written by
hand (lock the type, next sequence, insert, count in the block) on one type.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.joins [--quick]

Cache and rate-limit counters: Redis db 12 (production's layout), jobs: Huey on Redis
(queued, never consumed; deleted at the end).
"""

import argparse
import time

from bench.common import (
    Report,
    WorkerPool,
    make_event,
    make_users,
    scratch,
    split,
    timed_loop,
)
from bench.common import run_together as run

INSERT_ENTRY = (
    "INSERT INTO waitlist_waitinglistentry"
    " (ticket_type_id, user_id, quantity, sequence, status, created_at)"
    " VALUES (%s, %s, 1, %s, 'waiting', now())"
)


def raw_insert_worker(
    *, dsn: str, rows: list[tuple[int, int, int]], start_at: float, deadline: float
) -> dict:
    """One autocommit INSERT of a waiting entry per call (same table, same indexes)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:

        def insert(row: tuple[int, int, int]) -> None:
            conn.execute(INSERT_ENTRY, row)  # type: ignore[arg-type]

        return timed_loop(rows, insert, start_at=start_at, deadline=deadline)


RAW_JOIN_SQL = (
    "SELECT id FROM events_tickettype WHERE id = %(type)s FOR UPDATE",
    "UPDATE waitlist_queuestate SET last_sequence = last_sequence + 1,"
    " waiting_entries = waiting_entries + 1, waiting_tickets = waiting_tickets + 1"
    " WHERE ticket_type_id = %(type)s RETURNING last_sequence",
    "INSERT INTO waitlist_waitinglistentry"
    " (ticket_type_id, user_id, quantity, sequence, status, created_at)"
    " VALUES (%(type)s, %(user)s, 1, %(sequence)s, 'waiting', now())",
    "INSERT INTO waitlist_queueblock (ticket_type_id, block, waiting_entries, waiting_tickets)"
    " VALUES (%(type)s, %(sequence)s / 1024, 1, 1) ON CONFLICT (ticket_type_id, block)"
    " DO UPDATE SET waiting_entries = waitlist_queueblock.waiting_entries + 1,"
    " waiting_tickets = waitlist_queueblock.waiting_tickets + 1",
)


def raw_join_worker(
    *, dsn: str, ticket_type_id: int, user_ids: list[int], start_at: float, deadline: float
) -> dict:
    """The join's bare minimum by hand, one transaction each: the hot-row ceiling."""
    import psycopg

    lock, next_sequence, insert, count = RAW_JOIN_SQL
    with psycopg.connect(dsn, autocommit=True) as conn:

        def join(user_id: int) -> None:
            values = {"type": ticket_type_id, "user": user_id}
            with conn.transaction():
                conn.execute(lock, values)  # type: ignore[arg-type]
                row = conn.execute(next_sequence, values).fetchone()  # type: ignore[arg-type]
                values["sequence"] = row[0]
                conn.execute(insert, values)  # type: ignore[arg-type]
                conn.execute(count, values)  # type: ignore[arg-type]

        return timed_loop(user_ids, join, start_at=start_at, deadline=deadline)


JOIN = "bench.common:join_worker"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (5 s each)")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="cap per measured run")
    parser.add_argument("--types", type=int, default=100)
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    workers = args.workers
    # Enough users that the time cap, not the users, ends each run.
    per_run = int(2500 * seconds)

    with scratch(name="joins", database="postgres", redis=True) as db:
        from django.db import connection

        from waitlist.models import QueueState, WaitingListEntry

        report = Report("bench/joins.py: join_waiting_list on PostgreSQL")
        report.start(
            f"database: scratch PostgreSQL {connection.pg_version // 10000}"
            f" (bench_tickethub_joins); cache: {db.cache}; jobs: {db.jobs};"
            f" {workers} worker processes, one connection each"
        )
        _, spread_types = make_event(name="spread", capacities=[1] * args.types, sold_out=True)
        _, (hot_type,) = make_event(name="hot", capacities=[1], sold_out=True)
        _, (warm_type,) = make_event(name="warm", capacities=[1], sold_out=True)
        _, (raw_type,) = make_event(name="raw", capacities=[1], sold_out=True)
        _, (raw_join_type,) = make_event(name="rawjoin", capacities=[1], sold_out=True)
        QueueState.objects.create(ticket_type_id=raw_join_type)
        users = {
            kind: make_users(count, f"{kind}-")
            for kind, count in {
                "warm": 20 * workers,
                "spread": per_run,
                "hot": per_run,
                "alone": per_run // 4,
                "raw": 4 * per_run,
                "rawjoin": 2 * per_run,
            }.items()
        }

        def joins(kind: str, type_of, only: int | None = None) -> list[dict]:
            parts = split(users[kind], workers)
            return [
                {
                    "pairs": [(u, type_of(u)) for u in part] if only in (None, index) else [],
                    "expect": "waiting",
                }
                for index, part in enumerate(parts)
            ]

        pool_started = time.monotonic()
        with WorkerPool(workers) as pool:
            print(f"{workers} workers ready in {time.monotonic() - pool_started:.1f} s", flush=True)
            # Warm-up: imports, query compilation, connections, prepared statements.
            run(pool, JOIN, joins("warm", lambda u: warm_type), seconds=30)
            spread = run(
                pool, JOIN, joins("spread", lambda u: spread_types[u % args.types]), seconds
            )
            print(f"spread over {args.types} types: {spread.describe()}", flush=True)
            hot = run(pool, JOIN, joins("hot", lambda u: hot_type), seconds)
            print(f"one type (hot row): {hot.describe()}", flush=True)
            alone = run(pool, JOIN, joins("alone", lambda u: hot_type, only=0), seconds / 2)
            print(f"one worker alone on that type: {alone.describe()}", flush=True)
            raw = run(
                pool,
                "bench.joins:raw_insert_worker",
                [
                    {"dsn": db.dsn, "rows": [(raw_type, u, u) for u in part]}
                    for part in split(users["raw"], workers)
                ],
                seconds,
            )
            print(f"raw INSERT: {raw.describe()}", flush=True)
            raw_join = run(
                pool,
                "bench.joins:raw_join_worker",
                [
                    {"dsn": db.dsn, "ticket_type_id": raw_join_type, "user_ids": part}
                    for part in split(users["rawjoin"], workers)
                ],
                seconds,
            )
            print(f"raw SQL join on one type: {raw_join.describe()}\n", flush=True)

        waiting = WaitingListEntry.objects.filter(status="waiting", ticket_type_id=hot_type).count()
        state = QueueState.objects.get(ticket_type_id=hot_type)
        report.note(
            f"check: hot type has {waiting} waiting entries, QueueState says"
            f" {state.waiting_entries} (last sequence {state.last_sequence})"
        )
        report.note(
            f"one worker alone on one type: {alone.rate:,.0f} joins/s, p50"
            f" {alone.p(50) * 1000:.1f} ms; client CPU per join"
            f" {hot.cpu / max(1, hot.count) * 1000:.1f} ms, {hot.queries / max(1, hot.count):.1f}"
            " queries per join (16 workers, one type)"
        )
        raw_text = f"raw INSERT of the same row {raw.rate:,.0f}/s (p99 {raw.p(99) * 1000:.1f} ms)"
        report.figure(
            f"joins/s, {args.types} sold-out types",
            spread.rate,
            "/s",
            goal=2000,
            at_least=True,
            baseline=raw_text,
        )
        report.figure(
            f"join p99, {args.types} sold-out types",
            spread.p(99) * 1000,
            "ms",
            goal=100,
            at_least=False,
            baseline=f"raw INSERT p99 {raw.p(99) * 1000:.1f} ms",
            digits=1,
        )
        raw_join_text = (
            f"hand-written join SQL (lock, sequence, insert, block) on one type"
            f" {raw_join.rate:,.0f}/s (p99 {raw_join.p(99) * 1000:.1f} ms); {raw_text}"
        )
        report.figure(
            "joins/s, ONE sold-out type",
            hot.rate,
            "/s",
            goal=2000,
            at_least=True,
            baseline=raw_join_text,
        )
        report.figure(
            "join p99, ONE sold-out type",
            hot.p(99) * 1000,
            "ms",
            goal=100,
            at_least=False,
            baseline=f"hand-written join SQL p99 {raw_join.p(99) * 1000:.1f} ms",
            digits=1,
        )
        report.finish()


if __name__ == "__main__":
    main()
