"""What the benchmarks share: scratch databases, a pool of Django worker processes, the
site's own processes (uvicorn, the Huey consumer), fixtures, percentiles and the report.

A benchmark never touches the developer's var/ data nor the `test` database others use: it
creates its own PostgreSQL database (dropped at the end) or a SQLite file under a temporary
TICKETHUB_VAR_DIR, and writes only its own keys to Redis db 12 (deleted at the end).
"""

import contextlib
import http.client
import importlib
import math
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/12"

# The per-user join limit (3 per 30 minutes) would refuse nearly every benchmark join.
BASE_ENV = {
    "DJANGO_SETTINGS_MODULE": "tickethub.settings",
    "WAITLIST_JOIN_LIMIT": "1000000000",
    "SECRET_KEY": "bench-only-signing-key-never-used-by-a-real-site-0123456789",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
}
# Variables of the developer's shell that would point a benchmark at real data.
CLEARED_ENV = ("DATABASE_URL", "REDIS_URL", "HUEY_NAME", "PYTEST_XDIST_WORKER", "MEDIA_ROOT")


# --- scratch databases ------------------------------------------------------------------------


@dataclass
class Scratch:
    database: str  # "postgres" or "sqlite"
    var_dir: Path
    dsn: str | None = None  # psycopg DSN of the scratch PostgreSQL database
    redis: bool = False

    @property
    def cache(self) -> str:
        return f"Redis ({REDIS_URL})" if self.redis else "database cache (tickethub_cache table)"

    @property
    def jobs(self) -> str:
        return "Huey on Redis" if self.redis else f"Huey on SQLite ({self.var_dir}/huey.sqlite3)"

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "tickethub.sqlite3"


def _admin_execute(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _delete_redis_keys(huey_name: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    # Huey keeps only [a-z0-9] of the queue name in its Redis keys.
    cleaned = re.sub("[^a-z0-9]", "", huey_name.lower())
    for pattern in (f"huey.*{cleaned}*", ":1:waitlist-join:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.close()


@contextlib.contextmanager
def scratch(*, name: str, database: str, redis: bool = False) -> Iterator[Scratch]:
    """Create a migrated scratch database, point this process's environment (inherited by
    every worker and server it starts) at it, set Django up, and remove it all at the end."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"tickethub-bench-{name}-"))
    for variable in CLEARED_ENV:
        os.environ.pop(variable, None)
    os.environ.update(BASE_ENV, TICKETHUB_VAR_DIR=str(var_dir))
    result = Scratch(database=database, var_dir=var_dir, redis=redis)
    pg_name = "bench_tickethub_" + name.replace("-", "_")
    huey_name = f"bench-{name}"
    if database == "postgres":
        _admin_execute(
            f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', f'CREATE DATABASE "{pg_name}"'
        )
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
        result.dsn = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    if redis:
        os.environ.update(REDIS_URL=REDIS_URL, HUEY_NAME=huey_name)
        _delete_redis_keys(huey_name)
    try:
        manage("migrate", "--noinput", "-v", "0")
        import django

        django.setup()
        yield result
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if database == "postgres":
            _admin_execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if redis:
            _delete_redis_keys(huey_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def database_version() -> str:
    """The scratch database's engine and version, for the report's heading."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.pg_version // 10000}"
    return "SQLite " + connection.Database.sqlite_version


def run_per_database(module: str, databases: Sequence[str], extra: Sequence[str]) -> None:
    """Run ``module`` once per database in its own process (Django is set up once per
    process, so one process cannot switch databases)."""
    for database in databases:
        command = [sys.executable, "-m", module, "--db", database, *extra]
        subprocess.run(command, cwd=REPO, check=True)


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=os.environ.copy(), check=True
    )


# --- fixtures (Django must be set up) ---------------------------------------------------------


def make_users(count: int, prefix: str) -> list[int]:
    """Insert ``count`` users with unusable passwords in bulk; returns their ids in order."""
    from django.contrib.auth.models import User
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_user (password, username, first_name, last_name, email,"
                " is_superuser, is_staff, is_active, date_joined)"
                " SELECT '!', %s || g, '', '', %s || g || '@bench.invalid', false, false, true,"
                " now() FROM generate_series(1, %s) AS g",
                [prefix, prefix, count],
            )
    else:
        batch = 5000
        for start in range(0, count, batch):
            User.objects.bulk_create(
                User(username=f"{prefix}{i}", email=f"{prefix}{i}@bench.invalid", password="!")
                for i in range(start + 1, min(count, start + batch) + 1)
            )
    return list(
        User.objects.filter(username__startswith=prefix).order_by("pk").values_list("pk", flat=True)
    )


def make_event(
    *,
    name: str,
    capacities: Sequence[int],
    sold_out: bool = False,
    offer_window_minutes: int = 30,
    price_minor: int = 2500,
) -> tuple[int, list[int]]:
    """A published event through the catalogue services; returns (event id, type ids).
    ``sold_out`` sells every place of every type (events.services.sell_free_places)."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from events.locks import lock_ticket_types
    from events.models import Event
    from events.services import (
        EventDetails,
        TicketTypeSpec,
        create_event,
        publish_event,
        sell_free_places,
        set_seller_payments_ready,
    )
    from payments.models import ConnectedAccount

    organiser, _ = User.objects.get_or_create(
        username="bench-organiser", defaults={"email": "organiser@bench.invalid"}
    )
    # The organiser's Stripe account as the site stores it once onboarding is done, so paid
    # ticket types are on sale (no Stripe call: these benchmarks never reach checkout).
    ConnectedAccount.objects.get_or_create(
        organiser=organiser,
        defaults={
            "stripe_account_id": "acct_bench_organiser",
            "country": "GB",
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": True,
        },
    )
    set_seller_payments_ready(organiser_id=organiser.pk, can_take_payments=True)
    details = EventDetails(
        name=name,
        description="",
        venue_name="Bench Hall",
        address="",
        starts_at=timezone.now() + timedelta(days=30),
        ends_at=None,
        timezone="Europe/London",
        currency="GBP",
    )
    specs = [
        TicketTypeSpec(name=f"{name} type {i}", price_minor=price_minor, capacity=capacity)
        for i, capacity in enumerate(capacities)
    ]
    event = create_event(organiser=organiser, details=details, ticket_types=specs)
    Event.objects.filter(pk=event.pk).update(offer_window_minutes=offer_window_minutes)
    publish_event(event=event, actor=organiser)
    type_ids = list(event.ticket_types.order_by("pk").values_list("pk", flat=True))
    if sold_out:
        with transaction.atomic():
            for ticket_type in lock_ticket_types(type_ids).values():
                sell_free_places(ticket_type=ticket_type, quantity=ticket_type.capacity)
    return event.pk, type_ids


# --- a pool of worker processes --------------------------------------------------------------


def _serve_jobs(inbox, outbox) -> None:
    outbox.put("ready")
    while (job := inbox.get()) is not None:
        path, kwargs = job
        module, _, name = path.partition(":")
        function = getattr(importlib.import_module(module), name)
        try:
            outbox.put(function(**kwargs))
        except Exception as error:  # reported by the parent, which stops the benchmark
            outbox.put({"crashed": f"{type(error).__name__}: {error}"})


class WorkerPool:
    """Processes forked from this one after Django's setup, each opening its own database
    connection (no shared GIL), that run one job function at a time; ``run`` gives each
    worker its own arguments."""

    def __init__(self, processes: int):
        from django.db import connections

        connections.close_all()  # a forked child must never reuse the parent's socket
        context = multiprocessing.get_context("fork")
        self.inboxes = [context.Queue() for _ in range(processes)]
        self.outbox = context.Queue()
        self.processes = [
            context.Process(target=_serve_jobs, args=(inbox, self.outbox), daemon=True)
            for inbox in self.inboxes
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            self.outbox.get(timeout=180)

    def run(self, function: str, per_worker: list[dict], timeout: float = 300) -> list[dict]:
        for inbox, kwargs in zip(self.inboxes, per_worker, strict=True):
            inbox.put((function, kwargs))
        results = [self.outbox.get(timeout=timeout) for _ in per_worker]
        crashed = [result["crashed"] for result in results if "crashed" in result]
        if crashed:
            raise RuntimeError(f"{len(crashed)} worker(s) crashed, first: {crashed[0]}")
        return results

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def error_name(error: BaseException) -> str:
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message[:70]}"


def timed_loop(
    items: Iterable, call: Callable, *, start_at: float, deadline: float
) -> dict[str, object]:
    """Call ``call(item)`` for each item from the wall-clock ``start_at`` until the items or
    the time run out; the latency of every successful call and the errors by type."""
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    started, cpu_started = time.time(), time.thread_time()
    for item in items:
        if time.time() >= deadline:
            break
        begun = time.perf_counter()
        try:
            call(item)
        except Exception as error:
            errors[error_name(error)] += 1
            continue
        latencies.append(time.perf_counter() - begun)
    return {
        "latencies": latencies,
        "started": started,
        "ended": time.time(),
        "errors": errors,
        "cpu": time.thread_time() - cpu_started,
    }


def join_worker(
    *,
    pairs: list[tuple[int, int]],
    expect: str,
    start_at: float,
    deadline: float,
    threads: int = 1,
) -> dict:
    """Join each (user id, ticket type id) through waitlist.services.join_waiting_list with
    quantity 1, from ``threads`` threads (each its own connection); a join whose entry does
    not end in status ``expect`` counts as an error. Also counts the queries sent."""
    if threads == 1:
        return _join_loop(pairs, expect, start_at, deadline)
    with ThreadPoolExecutor(threads) as executor:
        results = list(
            executor.map(
                lambda part: _join_loop(part, expect, start_at, deadline), split(pairs, threads)
            )
        )
    return merge(results)


def _join_loop(pairs: list[tuple[int, int]], expect: str, start_at: float, deadline: float):
    from django.contrib.auth.models import User
    from django.db import connection

    from waitlist.services import join_waiting_list

    users = User.objects.in_bulk([user_id for user_id, _ in pairs])
    queries = 0

    def count_queries(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    def join(pair: tuple[int, int]) -> None:
        user_id, ticket_type_id = pair
        result = join_waiting_list(user=users[user_id], ticket_type_id=ticket_type_id, quantity=1)
        if not result.created or result.entry.status != expect:
            raise AssertionError(f"joined as {result.entry.status}, expected {expect}")

    try:
        with connection.execute_wrapper(count_queries):
            result = timed_loop(pairs, join, start_at=start_at, deadline=deadline)
    finally:
        connection.close()
    result["queries"] = queries
    return result


def merge(results: list[dict]) -> dict:
    errors: Counter[str] = Counter()
    for result in results:
        errors.update(result["errors"])
    return {
        "latencies": [latency for result in results for latency in result["latencies"]],
        "started": min(result["started"] for result in results),
        "ended": max(result["ended"] for result in results),
        "errors": errors,
        "cpu": sum(result["cpu"] for result in results),
        "queries": sum(result.get("queries", 0) for result in results),
    }


@dataclass
class Throughput:
    count: int
    seconds: float
    latencies: list[float]
    errors: Counter = field(default_factory=Counter)
    cpu: float = 0.0  # client CPU seconds, all workers
    queries: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def p(self, percent: float) -> float:
        return percentile(self.latencies, percent)

    def describe(self) -> str:
        text = (
            f"{self.count} ok in {self.seconds:.1f} s, p50 {self.p(50) * 1000:.1f} ms,"
            f" p99 {self.p(99) * 1000:.1f} ms"
        )
        attempts = self.count + sum(self.errors.values())
        if attempts:
            text += f", client CPU {self.cpu / attempts * 1000:.1f} ms each"
            if self.queries:
                text += f", {self.queries / attempts:.1f} queries each"
        if self.errors:
            text += f", errors {dict(self.errors)}"
        return text


def combine(results: list[dict]) -> Throughput:
    merged = merge(results)
    return Throughput(
        count=len(merged["latencies"]),
        seconds=merged["ended"] - merged["started"],
        latencies=merged["latencies"],
        errors=merged["errors"],
        cpu=merged["cpu"],
        queries=merged["queries"],
    )


def split(items: Sequence, parts: int) -> list[list]:
    return [list(items[index::parts]) for index in range(parts)]


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# --- the site's processes -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def site_process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def uvicorn(port: int, log: Path, *extra: str):
    return site_process(
        [
            "-m",
            "uvicorn",
            "tickethub.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            *extra,
        ],
        log,
    )


def huey_consumer(log: Path):
    return site_process(["manage.py", "run_huey"], log)


def wait_for_site(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    """Until the live route answers (a request without a token gets its 403)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/live/events")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer in time")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB) and Threads of a process, from /proc/<pid>/status."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            figures[key] = int(value.split()[0])
    return figures


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the report -------------------------------------------------------------------------------


@dataclass
class Report:
    """Figures beside their goals and baselines; printed as they come and as a table."""

    title: str
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def start(self, scratch_info: str = "") -> None:
        print(f"== {self.title}")
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        script = ["-m", spec.name] if spec else sys.argv[:1]
        print(f"command: {' '.join(['python', *script, *sys.argv[1:]])}")
        print(f"machine: {os.cpu_count()} cores (nproc), load average {_load()} at start")
        if scratch_info:
            print(scratch_info)
        print(flush=True)

    def figure(
        self,
        label: str,
        value: float,
        unit: str,
        *,
        goal: float,
        at_least: bool,
        baseline: str,
        digits: int = 0,
    ) -> bool:
        passed = value >= goal if at_least else value <= goal
        if passed:
            verdict = "PASS"
        elif at_least:
            verdict = f"MISS ({value / goal:.0%} of goal)" if goal else "MISS"
        else:
            verdict = f"MISS ({value / goal:.1f}× the limit)" if goal else "MISS"
        shown = f"{value:,.{digits}f} {unit}"
        goal_text = f"{'≥' if at_least else '≤'} {goal:,.{digits}f} {unit}"
        print(f"{label}: {shown}   goal {goal_text}   {verdict}")
        print(f"    baseline: {baseline}", flush=True)
        self.rows.append((label, shown, goal_text, verdict, baseline))
        return passed

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def finish(self) -> None:
        print(f"\nload average at end: {_load()}")
        print("\n| figure | measured | goal | verdict | baseline (same run) |")
        print("| --- | --- | --- | --- | --- |")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        print(flush=True)


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def run_together(pool: WorkerPool, function: str, per_worker: list[dict], seconds: float):
    """Start every worker's timed loop at the same moment (2 s from now) for ``seconds``."""
    start_at = time.time() + 2.0
    for kwargs in per_worker:
        kwargs.update(start_at=start_at, deadline=start_at + seconds)
    return combine(pool.run(function, per_worker, timeout=max(300, seconds + 120)))
