"""p99 of waitlist.selectors.queue_position at 10^4, 10^5 and 10^6 waiting entries on ONE
ticket type, beside the naive COUNT(*) of the waiting entries ahead, on PostgreSQL and
SQLite.

Entries are bulk-loaded with SQL (about 5% of them ended as "left", quantities 1 to 4), and
QueueBlock and QueueState are filled as the services keep them: one row per block of
sequence // QueueBlock.BLOCK_SIZE with the waiting entries and tickets in it, and the
type's totals and last sequence. Positions are then read for random waiting entries and
for the last one in the queue; a sample is checked against the naive count.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.queue_position [--quick] [--db postgres]
"""

import argparse
import random
import time

from bench.common import Report, database_version, make_event, percentile, run_per_database, scratch

SIZES = (10_000, 100_000, 1_000_000)
# Loaded users get ids 100,000,000 + sequence. Quantities (1 to 4) and the ~5% of entries
# that left are pseudo-random functions of the sequence g, the same in PostgreSQL and SQLite
# ("%%" is "%" once the parameters are bound); rows_for() mirrors the second one.
LOAD_POSTGRES = (
    "INSERT INTO auth_user (id, password, username, first_name, last_name, email,"
    " is_superuser, is_staff, is_active, date_joined)"
    " SELECT 100000000 + g, '!', 'q' || g, '', '', '', false, false, true, now()"
    " FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g",
    "INSERT INTO waitlist_waitinglistentry (ticket_type_id, user_id, quantity, sequence,"
    " status, created_at, ended_at)"
    " SELECT %(type)s, 100000000 + g, 1 + ((g * 1103515245 + 12345) %% 2147483648) / 536870912,"
    " g, CASE WHEN (g * 2654435761) %% 1000 < 50 THEN 'left' ELSE 'waiting' END, now(),"
    " CASE WHEN (g * 2654435761) %% 1000 < 50 THEN now() END"
    " FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g",
)
LOAD_SQLITE = (
    "WITH RECURSIVE s(g) AS (SELECT %(first)s UNION ALL SELECT g + 1 FROM s WHERE g < %(last)s)"
    " INSERT INTO auth_user (id, password, username, first_name, last_name,"
    " email, is_superuser, is_staff, is_active, date_joined)"
    " SELECT 100000000 + g, '!', 'q' || g, '', '', '', 0, 0, 1, datetime('now') FROM s",
    "WITH RECURSIVE s(g) AS (SELECT %(first)s UNION ALL SELECT g + 1 FROM s WHERE g < %(last)s)"
    " INSERT INTO waitlist_waitinglistentry (ticket_type_id, user_id, quantity,"
    " sequence, status, created_at, ended_at)"
    " SELECT %(type)s, 100000000 + g, 1 + ((g * 1103515245 + 12345) %% 2147483648) / 536870912,"
    " g, CASE WHEN (g * 2654435761) %% 1000 < 50 THEN 'left' ELSE 'waiting' END,"
    " datetime('now'), CASE WHEN (g * 2654435761) %% 1000 < 50 THEN datetime('now') END FROM s",
)
# Blocks from the first one the new rows touch are rebuilt from the entries, exactly as
# _count_waiting would have left them (integer division is floor division for sequence > 0).
REBUILD_BLOCKS = (
    "DELETE FROM waitlist_queueblock WHERE ticket_type_id = %(type)s AND block >= %(block)s",
    "INSERT INTO waitlist_queueblock (ticket_type_id, block, waiting_entries, waiting_tickets)"
    " SELECT ticket_type_id, sequence / %(size)s,"
    " SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN status = 'waiting' THEN quantity ELSE 0 END)"
    " FROM waitlist_waitinglistentry WHERE ticket_type_id = %(type)s AND sequence >= %(start)s"
    " GROUP BY ticket_type_id, sequence / %(size)s",
    "DELETE FROM waitlist_queuestate WHERE ticket_type_id = %(type)s",
    "INSERT INTO waitlist_queuestate (ticket_type_id, last_sequence, waiting_entries,"
    " waiting_tickets) SELECT %(type)s, %(last)s, COALESCE(SUM(waiting_entries), 0),"
    " COALESCE(SUM(waiting_tickets), 0) FROM waitlist_queueblock"
    " WHERE ticket_type_id = %(type)s",
)
BLOCKS_AHEAD = (
    "SELECT SUM(waiting_entries), SUM(waiting_tickets) FROM waitlist_queueblock"
    " WHERE ticket_type_id = %s AND block < %s"
)
OWN_BLOCK = (
    "SELECT COUNT(id), SUM(quantity) FROM waitlist_waitinglistentry WHERE ticket_type_id = %s"
    " AND status = 'waiting' AND sequence >= %s AND sequence < %s"
)
NAIVE = (
    "SELECT COUNT(*), SUM(quantity) FROM waitlist_waitinglistentry"
    " WHERE ticket_type_id = %s AND status = 'waiting' AND sequence < %s"
)


def rows_for(waiting: int) -> int:
    """The last sequence at which ``waiting`` loaded entries are still waiting (LEFT)."""
    sequence = count = 0
    while count < waiting:
        sequence += 1
        count += (sequence * 2654435761) % 1000 >= 50
    return sequence


def load(ticket_type_id: int, first: int, last: int) -> None:
    from django.db import connection, transaction

    from waitlist.models import QueueBlock

    statements = LOAD_POSTGRES if connection.vendor == "postgresql" else LOAD_SQLITE
    size = QueueBlock.BLOCK_SIZE
    params = {
        "type": ticket_type_id,
        "first": first,
        "last": last,
        "block": first // size,
        "start": first // size * size,
        "size": size,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in (*statements, *REBUILD_BLOCKS):
            cursor.execute(statement, params)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def timed_calls(calls, seconds: float) -> list[float]:
    deadline = time.monotonic() + seconds
    latencies = []
    for call in calls:
        begun = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - begun)
        if time.monotonic() > deadline:
            break
    return latencies


def measure(ticket_type_id: int, samples: int, naive_seconds: float) -> dict:
    """Latencies (random entries, then the last entry) of the selector, of its two
    statements sent as raw SQL (the database's share), and of the naive count."""
    from django.db import connection

    from waitlist.models import QueueBlock, WaitingListEntry
    from waitlist.selectors import queue_position

    waiting = WaitingListEntry.objects.filter(ticket_type_id=ticket_type_id, status="waiting")
    last = waiting.order_by("-sequence").first()
    sequences = random.sample(range(1, last.sequence + 1), min(samples, last.sequence))
    entries = list(waiting.filter(sequence__in=sequences))
    random.shuffle(entries)
    checked = entries[:20] + [last]
    size = QueueBlock.BLOCK_SIZE
    with connection.cursor() as cursor:

        def naive(entry) -> tuple[int, int]:
            cursor.execute(NAIVE, [ticket_type_id, entry.sequence])
            count, tickets = cursor.fetchone()
            return count, tickets or 0

        def statements(entry) -> None:
            block = entry.sequence // size
            cursor.execute(BLOCKS_AHEAD, [ticket_type_id, block])
            cursor.fetchone()
            cursor.execute(OWN_BLOCK, [ticket_type_id, block * size, entry.sequence])
            cursor.fetchone()

        for entry in checked:
            position = queue_position(entry)
            if (position.entries_ahead, position.tickets_ahead) != naive(entry):
                raise AssertionError(f"{position} differs from the naive {naive(entry)}")
        for entry in entries[:50]:  # warm-up
            queue_position(entry)
            statements(entry)
        timings = {}
        for method, call, seconds in (
            ("selector", queue_position, 30),
            ("sql", statements, 15),
            ("naive", naive, naive_seconds),
        ):
            timings[method] = (
                timed_calls([lambda e=e, call=call: call(e) for e in entries], seconds),
                timed_calls([lambda call=call: call(last)] * 200, seconds / 3),
            )
    return {
        "waiting": waiting.count(),
        "rows": last.sequence,
        "timings": timings,
        "checked": len(checked),
        "last": last,
    }


def describe(latencies: list[float]) -> str:
    return (
        f"p50 {percentile(latencies, 50) * 1000:.2f} / p99 {percentile(latencies, 99) * 1000:.2f}"
        f" ms (n={len(latencies)})"
    )


def explain(ticket_type_id: int, last) -> None:
    """The plans of queue_position's statement and of the naive count, for the last entry."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from waitlist.selectors import queue_position

    with CaptureQueriesContext(connection) as captured:
        queue_position(last)
    statements = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        naive = NAIVE.replace("%s", str(ticket_type_id), 1).replace("%s", str(last.sequence), 1)
        for label, sql in zip(("queue_position", "naive"), [*statements, naive], strict=True):
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            print(f"  -- {label}: {sql[:160]}{'…' if len(sql) > 160 else ''}")
            for row in cursor.fetchall():
                print("     " + " | ".join(str(column) for column in row))


def run_database(database: str, sizes: tuple[int, ...], samples: int, naive_seconds: float):
    with scratch(name="queue-position", database=database):
        report = Report(f"bench/queue_position.py on {database}")
        version = database_version()
        report.start(f"database: scratch {version}; ONE ticket type; cache and jobs unused")
        _, (ticket_type_id,) = make_event(name="queue", capacities=[1], sold_out=True)
        loaded = 0
        results = {}
        for size in sizes:
            last = rows_for(size)
            begun = time.monotonic()
            load(ticket_type_id, loaded + 1, last)
            loaded = last
            result = results[size] = measure(ticket_type_id, samples, naive_seconds)
            print(
                f"{result['waiting']:,} waiting ({last:,} rows loaded in"
                f" {time.monotonic() - begun:.1f} s; {result['checked']} positions checked"
                " equal to the naive count):",
                flush=True,
            )
            for method, label in (
                ("selector", "queue_position()"),
                ("sql", "its 2 statements as raw SQL"),
                ("naive", "naive COUNT(*)"),
            ):
                random_entries, last_entry = result["timings"][method]
                print(
                    f"  {label:<30} random {describe(random_entries)};"
                    f" last entry {describe(last_entry)}",
                    flush=True,
                )
        print("\nplans at the largest size, for the last entry:")
        explain(ticket_type_id, results[sizes[-1]]["last"])
        print()

        def p99(size: int, method: str) -> float:
            random_entries, last_entry = results[size]["timings"][method]
            return percentile(random_entries + last_entry, 99) * 1000

        for size in sizes:
            report.figure(
                f"{database} queue_position p99, {size:,} waiting",
                p99(size, "selector"),
                "ms",
                goal=2,
                at_least=False,
                baseline=(
                    f"naive COUNT(*) p99 {p99(size, 'naive'):.2f} ms; the selector's 2 statements"
                    f" as raw SQL p99 {p99(size, 'sql'):.2f} ms"
                ),
                digits=2,
            )
        largest, smallest = sizes[-1], sizes[0]
        report.note(
            f"flatness: selector p99 at {largest:,} is"
            f" {p99(largest, 'selector') / p99(smallest, 'selector'):.1f}× its p99 at {smallest:,}"
        )
        report.figure(
            f"{database} speed-up over naive COUNT at {largest:,}",
            p99(largest, "naive") / p99(largest, "selector"),
            "×",
            goal=100,
            at_least=True,
            baseline=(
                f"naive p99 / selector p99; as raw SQL (no ORM):"
                f" {p99(largest, 'naive') / p99(largest, 'sql'):,.0f}×"
            ),
        )
        report.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 only")
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="postgres")
    parser.add_argument("--samples", type=int, default=2000, help="random entries per size")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    random.seed(20260101)
    if args.db == "both":
        extra = ["--samples", str(args.samples)] + (["--quick"] if args.quick else [])
        run_per_database("bench.queue_position", ["postgres", "sqlite"], extra)
        return
    run_database(args.db, sizes, args.samples, naive_seconds=5 if args.quick else 12)


if __name__ == "__main__":
    main()
