"""Immediate offers (claims) per second on ONE ticket type, PostgreSQL, 16 worker processes:
every join by a different user onto a type with 1,000,000 places and nobody waiting, so
join_waiting_list makes the offer at once (holds the place, schedules its expiry). Beside
it, the ceiling on the same box with the same workers: the bare conditional UPDATE of
held_count, one autocommit statement per claim.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.claims [--quick]

Cache and rate-limit counters: Redis db 12; jobs: Huey on Redis (queued, never consumed;
deleted at the end).
"""

import argparse

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

CAPACITY = 1_000_000
RAW_CLAIM = (
    "UPDATE events_tickettype SET held_count = held_count + 1"
    " WHERE id = %s AND sold_count + held_count < capacity"
)


def raw_claim_worker(
    *, dsn: str, ticket_type_id: int, claims: int, start_at: float, deadline: float
) -> dict:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:

        def claim(_: int) -> None:
            if conn.execute(RAW_CLAIM, (ticket_type_id,)).rowcount != 1:  # type: ignore[arg-type]
                raise AssertionError("no place left")

        return timed_loop(range(claims), claim, start_at=start_at, deadline=deadline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (5 s each)")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="cap per measured run")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    workers = args.workers

    with scratch(name="claims", database="postgres", redis=True) as db:
        from django.db import connection

        from events.models import TicketType
        from waitlist.models import WaitingListEntry

        report = Report("bench/claims.py: immediate offers on ONE ticket type, PostgreSQL")
        report.start(
            f"database: scratch PostgreSQL {connection.pg_version // 10000}"
            f" (bench_tickethub_claims); cache: {db.cache}; jobs: {db.jobs};"
            f" {workers} worker processes, one connection each; capacity {CAPACITY:,}"
        )
        _, (claim_type,) = make_event(name="claims", capacities=[CAPACITY])
        _, (warm_type,) = make_event(name="warm", capacities=[CAPACITY])
        _, (raw_type,) = make_event(name="raw", capacities=[CAPACITY])
        warm_users = make_users(10 * workers, "warm-")
        claim_users = make_users(int(2500 * seconds), "claim-")
        alone_users = make_users(int(500 * seconds), "alone-")

        def joins(users: list[int], ticket_type_id: int, alone: bool = False) -> list[dict]:
            return [
                {
                    "pairs": [(u, ticket_type_id) for u in part] if index == 0 or not alone else [],
                    "expect": "offered",
                }
                for index, part in enumerate(split(users, workers))
            ]

        with WorkerPool(workers) as pool:
            run(pool, "bench.common:join_worker", joins(warm_users, warm_type), seconds=30)
            claims = run(pool, "bench.common:join_worker", joins(claim_users, claim_type), seconds)
            print(f"claims through join_waiting_list: {claims.describe()}", flush=True)
            alone = run(
                pool, "bench.common:join_worker", joins(alone_users, claim_type, True), seconds / 2
            )
            print(f"one worker alone on that type: {alone.describe()}", flush=True)
            raw = run(
                pool,
                "bench.claims:raw_claim_worker",
                [
                    {"dsn": db.dsn, "ticket_type_id": raw_type, "claims": 100_000}
                    for _ in range(workers)
                ],
                seconds,
            )
            print(f"raw conditional UPDATE: {raw.describe()}\n", flush=True)

        offered = WaitingListEntry.objects.filter(ticket_type_id=claim_type, status="offered")
        held = TicketType.objects.get(pk=claim_type).held_count
        report.note(
            f"check: {offered.count()} offered entries, held_count {held}"
            f" (successful claims {claims.count + alone.count})"
        )
        report.figure(
            "claims/s, ONE type",
            claims.rate,
            "/s",
            goal=600,
            at_least=True,
            baseline=(
                f"raw `UPDATE … held_count + 1 WHERE … < capacity` {raw.rate:,.0f}/s"
                f" (p99 {raw.p(99) * 1000:.1f} ms), {workers} workers"
            ),
        )
        report.note(
            f"claim latency p50 {claims.p(50) * 1000:.1f} ms, p99 {claims.p(99) * 1000:.1f} ms;"
            f" errors: {dict(claims.errors) or 'none'}"
        )
        report.note(
            f"one worker alone: {alone.rate:,.0f} claims/s, p50 {alone.p(50) * 1000:.1f} ms;"
            f" client CPU per claim {claims.cpu / max(1, claims.count) * 1000:.1f} ms,"
            f" {claims.queries / max(1, claims.count):.1f} queries per claim"
        )
        report.finish()


if __name__ == "__main__":
    main()
