"""A rush of signed-in buyers at one event against PostgreSQL with few connections to spare:
how many are served, how many get an error page, and joins per second.

The site runs as in production: `uvicorn --workers W` (tickethub.asgi) against a scratch
PostgreSQL database and Redis (db 12). It connects as a role of its own whose CONNECTION
LIMIT (--connection-limit, 40) stands in for a small max_connections, so the rush can
exhaust the site's connections without taking any from the other users of this PostgreSQL
cluster. The role is created after the migrations and dropped at the end.

Fixture: one published event with one free ticket type of --capacity places (100); N
buyers (--buyers, 300), each signed in through a session made server-side (the cookie the
login form would leave) with a CSRF cookie. The rush: N client threads, each on its own
connection, released together; each buyer loads the event page, then joins its waiting
list (POST /waitlist/join/). Reported: status counts of both, joins per second (joins
answered 302 / rush wall time), join latency, and whether the database stayed consistent
(one entry per buyer who got a 302, no more offered places than capacity).

Runs twice by default, same database, a fresh event and buyers each time:
- old settings: no connection pool, no request limit (DATABASE_POOL_MAX_SIZE=0,
  MAX_CONCURRENT_REQUESTS=0, CONN_MAX_AGE 0): every request in flight opens a connection;
- new settings: the settings' defaults (a pool of 10 per process, 8 requests at once, the
  rest queue for up to 30 s).

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.crowd [--quick] [--settings old|new|both]
"""

import argparse
import contextlib
import http.client
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.common import (
    REPO,
    Report,
    database_version,
    free_port,
    make_event,
    make_users,
    manage,
    percentile,
    scratch,
    uvicorn,
    wait_for_site,
)

SETTINGS = {
    "old": {"DATABASE_POOL_MAX_SIZE": "0", "MAX_CONCURRENT_REQUESTS": "0"},
    "new": {},
}


@dataclass
class Rush:
    pages: Counter = field(default_factory=Counter)
    joins: Counter = field(default_factory=Counter)
    join_latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: object) -> int:
        return self.pages[status] + self.joins[status]

    @property
    def server_errors(self) -> int:
        """5xx answers other than 503, and requests that got no answer at all."""
        return sum(
            count
            for status, count in (self.pages + self.joins).items()
            if not isinstance(status, int) or (status >= 500 and status != 503)
        )


@contextlib.contextmanager
def limited_role(dsn: str, database: str, connection_limit: int):
    import psycopg

    from tests.crowd import create_role_statements, drop_role_statements

    name = f"bench_crowd_{uuid.uuid4().hex[:8]}"
    create, *grants = create_role_statements(name, database, connection_limit)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(create)  # type: ignore[arg-type]
        try:
            for statement in grants:
                conn.execute(statement)  # type: ignore[arg-type]
            yield name
        finally:
            for statement in drop_role_statements(name):
                conn.execute(statement)  # type: ignore[arg-type]


def rush(port: int, event_id: int, type_id: int, cookies: list[str], timeout: float) -> Rush:
    """Every buyer at once: the event page, then a join, on one keep-alive connection."""
    from tests.crowd import csrf_secret

    ready = threading.Barrier(len(cookies) + 1)
    result = Rush()
    lock = threading.Lock()

    def buyer(cookie: str) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {"Cookie": cookie}
        form = {
            "ticket_type_id": str(type_id),
            "quantity": "1",
            "csrfmiddlewaretoken": csrf_secret(cookie),
        }
        page: object = "no answer"
        join: object = "not sent"
        latency = None
        try:
            client.connect()
            ready.wait(timeout=120)
            client.request("GET", f"/events/{event_id}/", headers=headers)
            response = client.getresponse()
            response.read()
            page = response.status
            begun = time.perf_counter()
            join = "no answer"
            client.request(
                "POST",
                "/waitlist/join/",
                body=urlencode(form),
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
            response = client.getresponse()
            response.read()
            join = response.status
            latency = time.perf_counter() - begun
        except OSError as error:
            if page == "no answer":
                page = type(error).__name__
            else:
                join = type(error).__name__
        finally:
            client.close()
        with lock:
            result.pages[page] += 1
            result.joins[join] += 1
            if join == 302 and latency is not None:
                result.join_latencies.append(latency)

    with ThreadPoolExecutor(max_workers=len(cookies)) as executor:
        for cookie in cookies:
            executor.submit(buyer, cookie)
        ready.wait(timeout=120)
        started = time.perf_counter()
    result.seconds = time.perf_counter() - started
    return result


def consistent(type_id: int, joined: int, capacity: int) -> str:
    from waitlist.models import WaitingListEntry
    from waitlist.tests.invariants import broken_invariants

    entries = WaitingListEntry.objects.filter(ticket_type_id=type_id)
    offered = entries.filter(status=WaitingListEntry.Status.OFFERED).count()
    problems = broken_invariants(type_id)
    if entries.count() != joined:
        problems.append(f"{entries.count()} entries for {joined} joins answered 302")
    if offered > capacity:
        problems.append(f"{offered} offers for {capacity} places")
    return "; ".join(problems) or f"consistent ({entries.count()} entries, {offered} offered)"


def run_once(name: str, args, db, role: str, port: int) -> Rush:
    from django.contrib.auth.models import User

    from tests.crowd import signed_in_cookies

    event_id, [type_id] = make_event(
        name=f"Crowd {name}", capacities=[args.capacity], price_minor=0
    )
    user_ids = make_users(args.buyers, prefix=f"crowd-{name}-")
    users = User.objects.in_bulk(user_ids)
    cookies = signed_in_cookies([users[user_id] for user_id in user_ids])
    saved = dict(os.environ)
    os.environ.update(
        DATABASE_URL=f"postgres://{role}@127.0.0.1:5432/{db.dsn.rpartition('/')[2]}",
        **SETTINGS[name],
    )
    try:
        log = db.var_dir / f"uvicorn-{name}.log"
        with uvicorn(port, log, "--workers", str(args.workers)) as server:
            wait_for_site(port, server)
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(4 * args.workers):  # imports and first connections, not measured
                warm.request("GET", f"/events/{event_id}/")
                warm.getresponse().read()
            warm.close()
            time.sleep(1.0)
            result = rush(port, event_id, type_id, cookies, timeout=args.client_timeout)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    joined = result.joins[302]
    print(f"\n-- {name} settings ({', '.join(f'{k}={v}' for k, v in SETTINGS[name].items())})")
    print(f"event pages: {dict(result.pages)}")
    print(f"joins:       {dict(result.joins)}")
    print(
        f"rush: {result.seconds:.1f} s, {joined / result.seconds:.1f} joins/s; join latency"
        f" p50 {percentile(result.join_latencies, 50) * 1000:.0f} ms,"
        f" p99 {percentile(result.join_latencies, 99) * 1000:.0f} ms"
    )
    print(f"database: {consistent(type_id, joined, args.capacity)}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 buyers")
    parser.add_argument("--buyers", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument(
        "--connection-limit",
        type=int,
        default=40,
        help="connections the site's role may open (stands in for max_connections)",
    )
    parser.add_argument("--client-timeout", type=float, default=120.0)
    parser.add_argument("--settings", choices=["old", "new", "both"], default="both")
    args = parser.parse_args()
    if args.quick:
        args.buyers = 100
    names = ["old", "new"] if args.settings == "both" else [args.settings]

    with scratch(name="crowd", database="postgres", redis=True) as db:
        report = Report("bench/crowd.py: a rush of signed-in buyers at one event")
        report.start(
            f"database: scratch {database_version()}, the site as a role limited to"
            f" {args.connection_limit} connections; cache and jobs: {db.cache}; web: uvicorn,"
            f" {args.workers} worker processes; {args.buyers} buyers, each loading the event"
            f" page then joining, all at once; capacity {args.capacity}"
        )
        # Pages render with the production static storage (whitenoise's manifest).
        manage("collectstatic", "--noinput", "-v", "0")
        port = free_port()
        results = {}
        with limited_role(db.dsn, db.dsn.rpartition("/")[2], args.connection_limit) as role:
            for name in names:
                results[name] = run_once(name, args, db, role, port)
        print()
        baseline = results.get("old")
        for name, result in results.items():
            other = (
                f"old settings: {baseline.server_errors} of {2 * args.buyers}, 503s"
                f" {baseline.count(503)}, {baseline.joins[302] / baseline.seconds:.1f} joins/s"
                if baseline is not None and name != "old"
                else "-"
            )
            report.figure(
                f"{name} settings: 500s and unanswered",
                result.server_errors,
                "requests",
                goal=0,
                at_least=False,
                baseline=other,
            )
            report.figure(
                f"{name} settings: 503s",
                result.count(503),
                "requests",
                goal=0,
                at_least=False,
                baseline=other,
            )
            report.note(f"{name}: {result.joins[302] / result.seconds:.1f} joins/s")
        report.finish()


if __name__ == "__main__":
    os.chdir(REPO)
    main()
