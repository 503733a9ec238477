"""Immediate offers (claims) per second on SQLite, the embedded default (WAL, BEGIN
IMMEDIATE and a 20 s busy timeout from settings), with 64 concurrent clients: 4 processes
of 16 threads, each thread its own connection, every join by a different user onto ONE
ticket type with 1,000,000 places. Every error is counted by type. Beside it, the same 64
clients running only the bare claim (BEGIN IMMEDIATE; conditional UPDATE; COMMIT) with
the sqlite3 module on the same file.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.sqlite_claims [--quick]

Cache and rate-limit counters: the database cache (embedded default, same SQLite file);
jobs: Huey on SQLite in the scratch directory (queued, never consumed).
"""

import argparse
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from bench.common import Report, WorkerPool, make_event, make_users, merge, scratch, split
from bench.common import run_together as run
from bench.common import timed_loop as timed

CAPACITY = 1_000_000
RAW_CLAIM = (
    "UPDATE events_tickettype SET held_count = held_count + 1"
    " WHERE id = ? AND sold_count + held_count < capacity"
)


def raw_claim_worker(
    *, path: str, ticket_type_id: int, threads: int, start_at: float, deadline: float
) -> dict:
    def claims(_: int) -> dict:
        conn = sqlite3.connect(path, timeout=20, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

        def claim(_: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute(RAW_CLAIM, (ticket_type_id,)).rowcount != 1:
                    raise AssertionError("no place left")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            return timed(range(100_000), claim, start_at=start_at, deadline=deadline)
        finally:
            conn.close()

    with ThreadPoolExecutor(threads) as executor:
        return merge(list(executor.map(claims, range(threads))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (8 s each)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16, help="clients per process")
    parser.add_argument("--seconds", type=float, default=20.0, help="cap per measured run")
    args = parser.parse_args()
    seconds = 8.0 if args.quick else args.seconds
    clients = args.processes * args.threads

    with scratch(name="sqlite-claims", database="sqlite") as db:
        from django.db import connection

        from events.models import TicketType
        from waitlist.models import WaitingListEntry

        report = Report("bench/sqlite_claims.py: immediate offers on SQLite (embedded default)")
        report.start(
            f"database: scratch SQLite {sqlite3.sqlite_version} at {db.sqlite_path} (WAL,"
            f" BEGIN IMMEDIATE, timeout 20 s); cache: {db.cache}; jobs: {db.jobs};"
            f" {clients} clients = {args.processes} processes × {args.threads} threads"
        )
        _, (claim_type,) = make_event(name="claims", capacities=[CAPACITY])
        _, (warm_type,) = make_event(name="warm", capacities=[CAPACITY])
        _, (raw_type,) = make_event(name="raw", capacities=[CAPACITY])
        warm_users = make_users(2 * clients, "warm-")
        claim_users = make_users(int(3000 * seconds), "claim-")
        alone_users = make_users(int(500 * seconds), "alone-")

        def joins(users: list[int], ticket_type_id: int, alone: bool = False) -> list[dict]:
            return [
                {
                    "pairs": [(u, ticket_type_id) for u in part] if index == 0 or not alone else [],
                    "expect": "offered",
                    "threads": 1 if alone else args.threads,
                }
                for index, part in enumerate(split(users, args.processes))
            ]

        with WorkerPool(args.processes) as pool:
            warm = run(pool, "bench.common:join_worker", joins(warm_users, warm_type), 60)
            print(f"warm-up: {warm.describe()}", flush=True)
            claims = run(pool, "bench.common:join_worker", joins(claim_users, claim_type), seconds)
            print(f"claims through join_waiting_list: {claims.describe()}", flush=True)
            alone = run(
                pool, "bench.common:join_worker", joins(alone_users, claim_type, True), seconds / 2
            )
            print(f"one client alone: {alone.describe()}", flush=True)
            raw = run(
                pool,
                "bench.sqlite_claims:raw_claim_worker",
                [
                    {
                        "path": str(db.sqlite_path),
                        "ticket_type_id": raw_type,
                        "threads": args.threads,
                    }
                    for _ in range(args.processes)
                ],
                seconds,
            )
            print(f"raw claim transaction: {raw.describe()}\n", flush=True)

        offered = WaitingListEntry.objects.filter(ticket_type_id=claim_type, status="offered")
        held = TicketType.objects.get(pk=claim_type).held_count
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM tickethub_cache")
            (cache_rows,) = cursor.fetchone()
        report.note(
            f"check: {offered.count()} offered entries, held_count {held}"
            f" (successful claims {claims.count + alone.count}); rows in the cache table now:"
            f" {cache_rows}"
        )
        locked = sum(n for error, n in claims.errors.items() if "locked" in error.lower())
        raw_text = (
            f"raw BEGIN IMMEDIATE + conditional UPDATE + COMMIT, {clients} clients:"
            f" {raw.rate:,.0f}/s (p99 {raw.p(99) * 1000:.1f} ms),"
            f" errors {dict(raw.errors) or 'none'}"
        )
        report.figure(
            f"claims/s, SQLite, {clients} clients",
            claims.rate,
            "/s",
            goal=1500,
            at_least=True,
            baseline=raw_text,
        )
        report.figure(
            "'database is locked' errors",
            locked,
            "",
            goal=0,
            at_least=False,
            baseline=f"raw claims: {sum(raw.errors.values())} errors",
        )
        report.note(f"all errors by type: {dict(claims.errors) or 'none'}")
        report.note(
            f"claim latency p50 {claims.p(50) * 1000:.1f} ms, p99 {claims.p(99) * 1000:.1f} ms;"
            f" one client alone: {alone.rate:,.0f} claims/s, p50 {alone.p(50) * 1000:.1f} ms;"
            f" client CPU per claim {claims.cpu / max(1, claims.count) * 1000:.1f} ms,"
            f" {claims.queries / max(1, claims.count):.1f} queries per claim"
        )
        report.finish()


if __name__ == "__main__":
    main()
