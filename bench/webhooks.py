"""Paid orders fulfilled per second through the Stripe webhook endpoint, and the share of
buyers who see their tickets on the success page before any webhook.

The site runs as in production against a scratch database: uvicorn (tickethub.asgi) and two
Huey consumers (`manage.py run_huey --no-periodic`, so the payments sweep never fulfils an
order behind the benchmark's back), with the bundled Stripe simulator as a process
(`python -m stripe_sim`) standing in for Stripe and no webhook endpoint configured on it:
the simulator delivers nothing, the benchmark does. Pages render with the production static
storage, so `collectstatic` runs into the scratch directory first.

Fixture: one organiser onboarded on the simulator; one event with one paid type (£25) of
N + M places; N + M buyers join its queue (each offered a place at once) and start checkout
(payments.services.checkout.start_checkout, a Checkout Session on the connected account),
from two forked processes. The offer e-mails this queues are sent before anything is timed.

1. Webhooks: the N sessions are paid on the simulator; their `checkout.session.completed`
   events are listed from the simulator's /v1/events (the real SDK, connected account),
   signed as Stripe signs with the Connect secret, and POSTed to /stripe/webhook/ from 32
   client threads at once. The figure is N / (first POST → last event processed by a job),
   counted only if afterwards N orders are fulfilled, N tickets issued, sold_count = N and
   the N events stored once each. Baselines, same threads, just before: the endpoint
   refusing a signature by another secret (400 as plain text, nothing stored: HTTP, Django
   and the HMAC checks), and uvicorn alone (/live/events without a token, a 403 before
   Django). Reported beside: endpoint latency, job lag, web and consumer CPU per webhook,
   and on PostgreSQL the web process's connections to the database.
2. Success page: the M other sessions are paid, each at once followed by the buyer's first
   GET /checkout/success/?session_id=… (signed in through a session made by force_login)
   from 8 threads; the figure is the share of first loads that already say "your tickets
   are ready". Baseline: the same page loaded again once fulfilled (no call to Stripe).

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.webhooks [--quick] [--db sqlite]
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.webhooks --db postgres --conn-max-age 0

SQLite: database cache, Huey on SQLite (embedded default). PostgreSQL: Redis db 12 for the
cache and Huey; CONN_MAX_AGE as the settings have it unless --conn-max-age is given. Only
127.0.0.1; the developer's STRIPE_* variables are ignored, so nothing can reach real Stripe.
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
import stripe

from bench.common import (
    Report,
    WorkerPool,
    free_port,
    make_event,
    make_users,
    manage,
    percentile,
    proc_cpu_seconds,
    run_per_database,
    scratch,
    site_process,
    split,
    uvicorn,
    wait_for_site,
)

PLATFORM_SECRET = "whsec_bench_platform"
CONNECT_SECRET = "whsec_bench_connect"
WRONG_SECRET = "whsec_bench_someone_else"
SUCCESS_URL = "http://127.0.0.1/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1/my-queue/"
TICKETS_READY = b"your tickets are ready"
WEBHOOK_PATH = "/stripe/webhook/"
BASELINE_REQUESTS = 300


# --- the simulator, as its own process -------------------------------------------------------


class Simulator:
    """`python -m stripe_sim` on a free port, driven through its control API (/_sim/)."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.local = threading.local()

    @property
    def http(self) -> requests.Session:
        if not hasattr(self.local, "http"):
            self.local.http = requests.Session()
            self.local.http.trust_env = False  # never send 127.0.0.1 through a proxy
        return self.local.http

    def control(self, method: str, path: str, body: dict | None = None):
        response = self.http.request(method, f"{self.url}/_sim/{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} /_sim/{path}: {response.status_code} {response.text}")
        return response.json()

    def wait(self, process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the simulator exited with {process.returncode}")
            try:
                self.control("GET", "stats")
                return
            except (OSError, requests.RequestException):
                time.sleep(0.2)
        raise RuntimeError("the simulator did not answer in time")

    def pay(self, session_id: str) -> None:
        answer = self.control("POST", f"checkout/sessions/{session_id}/pay", {})
        if not answer.get("paid"):
            raise RuntimeError(f"session {session_id} not paid: {answer.get('error')}")


def simulator_process(port: int, log: Path):
    return site_process(
        ["-m", "stripe_sim", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        log,
    )


def point_at_simulator(url: str) -> None:
    """The environment this process (before Django loads) and every process it starts reads:
    the simulator only, with known webhook secrets and no webhook endpoint on it."""
    for variable in [name for name in os.environ if name.startswith("STRIPE_")]:
        del os.environ[variable]  # a developer's real key, or STRIPE_SIM_WEBHOOK_URL
    os.environ.update(
        STRIPE_SIMULATOR_URL=url,
        STRIPE_WEBHOOK_SECRET=PLATFORM_SECRET,
        STRIPE_CONNECT_WEBHOOK_SECRET=CONNECT_SECRET,
    )


# --- fixtures ---------------------------------------------------------------------------------


@dataclass
class Purchase:
    buyer_id: int
    order_id: int
    session_id: str


def make_purchases(
    sim: Simulator, count: int, processes: int
) -> tuple[str, int, list[Purchase], str]:
    """An onboarded organiser, one event with one paid type of ``count`` places, and
    ``count`` buyers each holding an offer and an open Checkout Session for it, made by
    ``processes`` forked workers; returns (connected account id, ticket type id, purchases,
    how long the steps took)."""
    from django.contrib.auth.models import User

    from payments.services.accounts import ensure_connected_account, refresh_account_status

    organiser = User.objects.create(username="bench-organiser", email="organiser@bench.invalid")
    account = ensure_connected_account(organiser=organiser)
    sim.control("POST", f"accounts/{account.stripe_account_id}/complete_onboarding")
    account = refresh_account_status(stripe_account_id=account.stripe_account_id)
    if account is None or not account.charges_enabled:
        raise RuntimeError("the organiser's simulated account cannot take charges")
    _, (type_id,) = make_event(name="webhooks", capacities=[count], price_minor=2500)
    buyer_ids = make_users(count, "buyer-")
    with WorkerPool(processes) as pool:
        results = pool.run(
            "bench.webhooks:purchase_worker",
            [{"type_id": type_id, "buyer_ids": part} for part in split(buyer_ids, processes)],
            timeout=600,
        )
    purchases = sorted(
        (Purchase(*purchase) for result in results for purchase in result["purchases"]),
        key=lambda purchase: purchase.order_id,
    )
    joins = sum(result["join_seconds"] for result in results) / count
    checkouts = sum(result["checkout_seconds"] for result in results) / count
    timing = f"join {joins * 1000:.0f} ms, start_checkout {checkouts * 1000:.0f} ms per buyer"
    return account.stripe_account_id, type_id, purchases, timing


def purchase_worker(*, type_id: int, buyer_ids: list[int]) -> dict:
    """In a forked worker: each buyer joins (offered at once) and starts checkout."""
    from django.contrib.auth.models import User
    from django.db import connection

    from payments import stripe_api
    from payments.services.checkout import start_checkout
    from waitlist.services import join_waiting_list

    stripe_api._client.cache_clear()  # never share the parent's keep-alive sockets
    purchases, join_seconds, checkout_seconds = [], 0.0, 0.0
    try:
        for buyer in User.objects.filter(pk__in=buyer_ids).order_by("pk"):
            begun = time.perf_counter()
            entry = join_waiting_list(user=buyer, ticket_type_id=type_id, quantity=1).entry
            joined = time.perf_counter()
            if entry.status != "offered":
                raise AssertionError(f"fixture: buyer {buyer.pk} joined as {entry.status}")
            order = start_checkout(
                buyer=buyer, entry_id=entry.pk, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            )
            if not order.checkout_session_id:
                raise AssertionError(f"fixture: order {order.pk} has no session")
            join_seconds += joined - begun
            checkout_seconds += time.perf_counter() - joined
            purchases.append((buyer.pk, order.pk, order.checkout_session_id))
    finally:
        connection.close()
    return {
        "purchases": purchases,
        "join_seconds": join_seconds,
        "checkout_seconds": checkout_seconds,
    }


def pay_all(sim: Simulator, session_ids: list[str], threads: int = 4) -> None:
    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(sim.pay, session_ids))


def completed_events(account_id: str, session_ids: list[str]) -> list[dict]:
    """The `checkout.session.completed` events Stripe would send for these sessions, as the
    connected account's /v1/events lists them (the real SDK)."""
    from payments.stripe_api import as_dict, client

    wanted = set(session_ids)
    listed = client().v1.events.list(
        params={"type": "checkout.session.completed", "limit": 100},
        options={"stripe_account": account_id},
    )
    events = [as_dict(event) for event in listed.auto_paging_iter()]
    events = [event for event in events if event["data"]["object"]["id"] in wanted]
    found = Counter(event["data"]["object"]["id"] for event in events)
    if set(found) != wanted or max(found.values()) != 1:
        raise AssertionError(f"{len(found)} sessions have events, {len(wanted)} were paid")
    if any(event.get("account") != account_id for event in events):
        raise AssertionError("a Connect event without its account")
    return events


def signed(event: dict, secret: str) -> tuple[bytes, str]:
    """The body and Stripe-Signature header, computed as Stripe signs (stripe-python's
    WebhookSignature)."""
    body = json.dumps(event, separators=(",", ":")).encode()
    timestamp = int(time.time())
    digest = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return body, f"t={timestamp},v1={digest}"


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Burst:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # of every answer
    started: float = 0.0
    ended: float = 0.0
    errors: Counter = field(default_factory=Counter)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def describe(self, expected: int) -> str:
        count = self.statuses[expected]
        rate = count / self.seconds if self.seconds else 0.0
        text = (
            f"{count} × {expected} of {sum(self.statuses.values())} in {self.seconds:.2f} s"
            f" ({rate:,.0f} /s), p50 {percentile(self.latencies, 50) * 1000:.1f} ms,"
            f" p99 {percentile(self.latencies, 99) * 1000:.1f} ms"
        )
        others = {code: n for code, n in self.statuses.items() if code != expected}
        if others or self.errors:
            text += f"; other answers {others}, errors {dict(self.errors)}"
        return text


def webhook_requests(
    deliveries: list[tuple[bytes, str]], extra_headers: dict | None = None
) -> list[tuple[str, str, bytes | None, dict]]:
    return [
        (
            "POST",
            WEBHOOK_PATH,
            body,
            {
                "Content-Type": "application/json",
                "Stripe-Signature": signature,
                **(extra_headers or {}),
            },
        )
        for body, signature in deliveries
    ]


def hammer(port: int, requests_: list[tuple[str, str, bytes | None, dict]], threads: int) -> Burst:
    """Send each (method, path, body, headers) from ``threads`` threads (one keep-alive
    connection each), all starting together; the latency of every answer."""
    burst = Burst()
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    deadline = time.monotonic() + 120 + len(requests_) / 10

    def client(part: list[tuple[str, str, bytes | None, dict]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses: Counter = Counter()
        errors: Counter = Counter()
        latencies: list[float] = []
        barrier.wait()
        for method, path, body, headers in part:
            if time.monotonic() > deadline:
                errors["deadline"] += 1
                continue
            begun = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                errors[type(error).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            statuses[response.status] += 1
            latencies.append(time.perf_counter() - begun)
        ended = time.time()
        connection.close()
        with lock:
            burst.statuses.update(statuses)
            burst.errors.update(errors)
            burst.latencies.extend(latencies)
            burst.ended = max(burst.ended, ended)

    workers = [
        threading.Thread(target=client, args=(part,), daemon=True)
        for part in split(requests_, threads)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    burst.started = time.time()
    for worker in workers:
        worker.join(timeout=max(1.0, deadline - time.monotonic() + 60))
    return burst


def session_cookies(buyer_ids: list[int]) -> dict[int, str]:
    """A signed-in Django session per buyer (django.test.Client.force_login): the cookie."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    cookies = {}
    for user in User.objects.filter(pk__in=buyer_ids):
        client = Client()
        client.force_login(user)
        cookies[user.pk] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookies


@dataclass
class Return:
    session_id: str
    pay_seconds: float = 0.0
    page_seconds: float = 0.0
    status: int = 0
    ready: bool = False
    again_seconds: float = 0.0
    again_ready: bool = False
    error: str = ""


def pay_and_return(
    sim: Simulator, port: int, purchases: list[Purchase], cookies: dict[int, str], threads: int
) -> list[Return]:
    """For each purchase: pay on the simulator, then at once the buyer's first load of the
    success page; afterwards (baseline) the same page once more."""
    from django.conf import settings

    deadline = time.monotonic() + 60 + len(purchases)

    def run(part: list[Purchase]) -> list[Return]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        results = []
        for purchase in part:
            result = Return(purchase.session_id)
            results.append(result)
            if time.monotonic() > deadline:
                result.error = "deadline"
                continue
            path = f"/checkout/success/?session_id={quote(purchase.session_id)}"
            headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookies[purchase.buyer_id]}"}
            try:
                begun = time.perf_counter()
                sim.pay(purchase.session_id)
                paid = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                result.page_seconds = time.perf_counter() - paid
                result.pay_seconds = paid - begun
                result.status, result.ready = response.status, TICKETS_READY in body
                begun = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                result.again_seconds = time.perf_counter() - begun
                result.again_ready = response.status == 200 and TICKETS_READY in body
            except (OSError, http.client.HTTPException, RuntimeError) as error:
                result.error = f"{type(error).__name__}: {str(error)[:80]}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.close()
        return results

    with ThreadPoolExecutor(threads) as executor:
        parts = list(executor.map(run, split(purchases, threads)))
    return [result for part in parts for result in part]


# --- the run ----------------------------------------------------------------------------------


def drain_jobs(timeout: float) -> tuple[int, float]:
    """Until Huey's queue is empty (scheduled jobs, e.g. offer expiries, stay scheduled)."""
    from huey.contrib.djhuey import HUEY

    begun, backlog = time.monotonic(), HUEY.pending_count()
    while HUEY.pending_count():
        if time.monotonic() - begun > timeout:
            raise RuntimeError(f"{HUEY.pending_count()} jobs still queued after {timeout:.0f} s")
        time.sleep(0.25)
    return backlog, time.monotonic() - begun


def wait_until_processed(event_ids: list[str], accepted: int, timeout: float) -> None:
    """Until every event the endpoint accepted is stored and processed (or the timeout)."""
    from payments.models import StripeEvent

    deadline = time.monotonic() + timeout
    events = StripeEvent.objects.filter(stripe_event_id__in=event_ids)
    while time.monotonic() < deadline:
        if events.count() >= accepted and not events.filter(processed_at__isnull=True).exists():
            return
        time.sleep(0.2)


class PgSocketSampler(threading.Thread):
    """The most TCP connections to PostgreSQL (127.0.0.1:5432) the given processes held at
    once, sampled every 0.2 s from /proc (their socket fds matched with /proc/net/tcp)."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.most = self.last = 0
        self.stopping = threading.Event()

    def count(self) -> int:
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2].upper() == "0100007F:1538" and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
        held = 0
        for pid in self.pids:
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        held += 1
            except OSError:
                continue
        return held

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.last = self.count()
            self.most = max(self.most, self.last)

    def stop(self) -> tuple[int, int]:
        self.stopping.set()
        self.join(timeout=5)
        self.last = self.count()
        return max(self.most, self.last), self.last


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms"


def run_database(database: str, orders: int, returns: int, args: argparse.Namespace) -> None:
    sim_port, site_port = free_port(), free_port()
    sim = Simulator(sim_port)
    point_at_simulator(sim.url)
    if args.conn_max_age is not None:
        # Persistent connections only exist without the pool (Django refuses both).
        os.environ.update(DATABASE_POOL_MAX_SIZE="0", DATABASE_CONN_MAX_AGE=str(args.conn_max_age))
    with scratch(name="webhooks", database=database, redis=database == "postgres") as db:
        from django.conf import settings

        from events.models import TicketType
        from payments.models import Order, StripeEvent
        from tickets.models import Ticket

        if sim.url != settings.STRIPE_API_BASE or not settings.STRIPE_SIMULATOR:
            raise RuntimeError("Django is not pointed at the bench's simulator")
        report = Report(f"bench/webhooks.py on {database}")
        report.start(
            f"database: scratch {database}; cache: {db.cache}; jobs: {db.jobs},"
            f" {args.consumers} consumer process(es) (`manage.py run_huey --no-periodic`,"
            f" {settings.HUEY['consumer']['workers']} worker threads each); CONN_MAX_AGE"
            f" {settings.DATABASES['default'].get('CONN_MAX_AGE', 0)}; web:"
            f" uvicorn, {args.web_workers} worker process(es); Stripe: simulator process at"
            f" {sim.url}, no webhook endpoint on it; {orders} orders paid then sent as"
            f" webhooks from {args.threads} threads, {returns} buyers returning to the success"
            f" page from {args.page_threads} threads"
        )
        logs = db.var_dir
        web_extra = ["--workers", str(args.web_workers)] if args.web_workers > 1 else []
        with simulator_process(sim_port, logs / "stripe_sim.log") as sim_process:
            sim.wait(sim_process)
            if sim.control("GET", "webhook") is not None:
                raise RuntimeError("the simulator has a webhook endpoint; it must have none")
            sim.control("POST", "faults", {})
            # Stripe's 25 requests/s would pace the session setup, not what is measured.
            sim.control("POST", "rate_limit", {"requests_per_second": 0})

            begun = time.time()
            # Pages render with the production static storage (whitenoise's manifest),
            # which needs collectstatic into the scratch TICKETHUB_VAR_DIR.
            manage("collectstatic", "--noinput", "-v", "0")
            print(f"collectstatic into the scratch directory: {time.time() - begun:.1f} s")
            begun = time.time()
            sim_cpu = proc_cpu_seconds(sim_process.pid)
            account_id, type_id, purchases, timing = make_purchases(
                sim, orders + returns, args.setup_processes
            )
            sim_cpu = (proc_cpu_seconds(sim_process.pid) - sim_cpu) / (orders + returns)
            timing += f"; simulator CPU {sim_cpu * 1000:.0f} ms per buyer"
            print(
                f"fixture: {orders + returns} offers and open Checkout Sessions in"
                f" {time.time() - begun:.1f} s ({args.setup_processes} processes; {timing})",
                flush=True,
            )
            hooked, returning = purchases[:orders], purchases[orders:]

            begun = time.time()
            pay_all(sim, [p.session_id for p in hooked])
            events = completed_events(account_id, [p.session_id for p in hooked])
            cookies = session_cookies([p.buyer_id for p in returning])
            print(
                f"fixture: {orders} sessions paid on the simulator (no webhook sent), their"
                f" events listed, {returns} buyers signed in;"
                f" {time.time() - begun:.1f} s",
                flush=True,
            )

            consumers_log = [logs / f"huey-{n}.log" for n in range(args.consumers)]
            with contextlib.ExitStack() as stack:
                server = stack.enter_context(uvicorn(site_port, logs / "uvicorn.log", *web_extra))
                consumers = [
                    stack.enter_context(
                        site_process(["manage.py", "run_huey", "--no-periodic"], log)
                    )
                    for log in consumers_log
                ]
                wait_for_site(site_port, server)
                time.sleep(1.0)  # let the consumers finish starting
                for consumer, log in zip(consumers, consumers_log, strict=True):
                    if consumer.poll() is not None:
                        raise RuntimeError(log.read_text()[-2000:])
                web_pids = [server.pid, *child_pids(server.pid)]
                # The joins queued an offer e-mail each; let the consumers send them first,
                # or the webhook jobs would wait behind them (a FIFO queue).
                backlog, drained = drain_jobs(timeout=60 + (orders + returns) / 5)
                print(f"job backlog from the fixture: {backlog} jobs, done in {drained:.1f} s")

                # Baselines. HX-Request makes the site answer a refusal as plain text:
                # HTTP, Django's stack and the HMAC checks, without the error page's
                # template. Warm-up first (imports, first connections), not measured.
                hx = {"HX-Request": "true"}
                # Signed now, as Stripe signs at delivery (5 minutes of tolerance); a rate
                # needs fewer requests than the figure.
                forged = [signed(event, WRONG_SECRET) for event in events[:BASELINE_REQUESTS]]
                hammer(site_port, webhook_requests(forged[:64], hx), args.threads)
                bare = [("GET", "/live/events", None, {})] * len(forged)
                bare_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids)
                uvicorn_only = hammer(site_port, bare, args.threads)
                bare_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids) - bare_cpu
                forged_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids)
                baseline = hammer(site_port, webhook_requests(forged, hx), args.threads)
                forged_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids) - forged_cpu
                stored_after_forged = StripeEvent.objects.count()

                # The figure: every paid session's event, then the jobs fulfil.
                valid = [signed(event, CONNECT_SECRET) for event in events]
                web_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids)
                jobs_cpu = sum(proc_cpu_seconds(c.pid) for c in consumers)
                sampler = PgSocketSampler(web_pids)
                if database == "postgres":
                    sampler.start()
                burst = hammer(site_port, webhook_requests(valid), args.threads)
                web_cpu = sum(proc_cpu_seconds(pid) for pid in web_pids) - web_cpu
                event_ids = [event["id"] for event in events]
                wait_until_processed(event_ids, burst.statuses[200], timeout=60 + orders / 5)
                jobs_cpu = sum(proc_cpu_seconds(c.pid) for c in consumers) - jobs_cpu
                sold_after_hooks = TicketType.objects.get(pk=type_id).sold_count

                # The success page, no webhook.
                results = pay_and_return(sim, site_port, returning, cookies, args.page_threads)
                deliveries = sim.control("GET", "deliveries")
                web_pg = sampler.stop() if database == "postgres" else None
            log_errors = {
                log.name: error_lines(log) for log in [logs / "uvicorn.log", *consumers_log]
            }
            server_errors = baseline.statuses.get(500, 0) + burst.statuses.get(500, 0)
            server_errors += sum(1 for r in results if r.status >= 500)
            if server_errors:
                log = (logs / "uvicorn.log").read_text(errors="replace").splitlines()
                print(f"{server_errors} answers were 5xx; the end of uvicorn's log:")
                print("\n".join(log[-6:]), flush=True)

        # --- figures and checks
        stored = list(
            StripeEvent.objects.filter(stripe_event_id__in=event_ids).values(
                "stripe_event_id", "received_at", "processed_at", "attempts", "last_error"
            )
        )
        processed = [e for e in stored if e["processed_at"] is not None]
        hooked_ids = [p.order_id for p in hooked]
        fulfilled = Order.objects.filter(pk__in=hooked_ids, status=Order.Status.FULFILLED)
        fulfilled_count = fulfilled.count()
        tickets = Ticket.objects.filter(order_id__in=hooked_ids).count()
        last = max((e["processed_at"].timestamp() for e in processed), default=float("nan"))
        first_received = min((e["received_at"].timestamp() for e in stored), default=last)
        window = last - burst.started
        rate = fulfilled_count / window if processed and window > 0 else 0.0
        lags = [(e["processed_at"] - e["received_at"]).total_seconds() for e in processed]
        first_done = min((e["processed_at"].timestamp() for e in processed), default=last)
        done_times = [e["processed_at"].timestamp() for e in processed]
        during = sum(1 for t in done_times if t <= burst.ended)
        after_rate = (len(done_times) - during) / (last - burst.ended) if last > burst.ended else 0
        retried = sum(1 for e in stored if e["attempts"] > 1)
        failed = Counter(e["last_error"][:80] for e in stored if e["last_error"])

        accepted = burst.statuses[200]
        forged_rate = baseline.statuses[400] / (baseline.seconds or 1)
        report.note(
            f"baseline, forged signature ({len(forged)} requests): {baseline.describe(400)};"
            f" web CPU {forged_cpu / max(1, len(forged)) * 1000:.1f} ms per request;"
            f" events stored by it: {stored_after_forged}"
        )
        report.note(
            f"baseline, uvicorn alone (GET /live/events without a token, answered 403 before"
            f" Django): {uvicorn_only.describe(403)}; web CPU"
            f" {bare_cpu / max(1, len(bare)) * 1000:.1f} ms per request"
        )
        report.note(f"valid webhooks: {burst.describe(200)}")
        report.note(
            f"jobs: {len(processed)} of {len(event_ids)} events processed; received →"
            f" processed p50 {percentile(lags, 50):.2f} s, p99 {percentile(lags, 99):.2f} s;"
            f" after the first POST: first stored {first_received - burst.started:.2f} s,"
            f" first processed {first_done - burst.started:.2f} s, last processed"
            f" {window:.2f} s; {during} processed while the POSTs ran, the rest at"
            f" {after_rate:.0f} /s after them; events needing a retry: {retried};"
            f" errors: {dict(failed) or 'none'}"
        )
        report.note(
            "errors logged by the site's processes: "
            + (
                "; ".join(
                    f"{name}: {dict(found.most_common(3))}"
                    for name, found in log_errors.items()
                    if found
                )
                or "none"
            )
        )
        report.note(
            f"CPU: web {web_cpu / max(1, accepted) * 1000:.1f} ms per webhook (during the"
            f" POSTs), consumers {jobs_cpu / max(1, len(processed)) * 1000:.1f} ms per"
            f" fulfilment (first POST → all processed, order e-mail jobs included)"
        )
        if web_pg is not None:
            report.note(
                f"web process(es)' connections to PostgreSQL (CONN_MAX_AGE"
                f" {settings.DATABASES['default']['CONN_MAX_AGE']}): at most {web_pg[0]} at"
                f" once from the first POST to the end of the success pages, {web_pg[1]} at the"
                f" end (server max_connections is shared with the consumers and this process)"
            )
        sold = TicketType.objects.get(pk=type_id)
        invariant = (
            fulfilled_count == orders
            and tickets == orders
            and sold_after_hooks == orders
            and len(stored) == orders
            and StripeEvent.objects.count() == orders
            and stored_after_forged == 0
        )
        report.note(
            f"after the webhooks: {fulfilled_count} of {orders} orders fulfilled, {tickets}"
            f" tickets, sold_count {sold_after_hooks}, {len(stored)} events stored (table:"
            f" {StripeEvent.objects.count()}, unique ids); {'OK' if invariant else 'BROKEN'}"
        )
        if not invariant:
            report.note(
                f"the figure below counts 0: not every paid order was fulfilled by its webhook"
                f" (a refused delivery is retried by Stripe later, and the sweep asks Stripe"
                f" after a minute); the {fulfilled_count} fulfilled came at {rate:.0f} /s"
            )
        report.figure(
            f"{database} webhooks accepted (200)",
            100 * accepted / orders,
            "%",
            goal=100,
            at_least=True,
            baseline=f"forged signature, same {args.threads} threads: {baseline.describe(400)}",
            digits=1,
        )
        report.figure(
            f"{database} fulfilments/s via webhook, first POST → last processed",
            rate if invariant else 0.0,  # a run that lost orders scores 0
            "/s",
            goal=200,
            at_least=True,
            baseline=(
                f"the endpoint refusing a forged signature: {forged_rate:,.0f} req/s"
                f" ({forged_cpu / max(1, len(forged)) * 1000:.1f} ms web CPU each); uvicorn"
                f" alone: {uvicorn_only.statuses[403] / (uvicorn_only.seconds or 1):,.0f} req/s;"
                f" valid webhooks answered at {accepted / (burst.seconds or 1):,.0f} req/s"
            ),
        )

        ready = [r for r in results if r.ready and r.status == 200]
        returned_ids = [p.order_id for p in returning]
        returned_done = Order.objects.filter(
            pk__in=returned_ids, status=Order.Status.FULFILLED
        ).count()
        errors = Counter(r.error for r in results if r.error)
        statuses = Counter(r.status for r in results)
        sold.refresh_from_db()
        report.note(
            f"success page, first load ({returns} buyers): {len(ready)} show the tickets;"
            f" answers {dict(statuses)}; errors {dict(errors) or 'none'};"
            f" {ms([r.page_seconds for r in results if r.status])}"
            f" (the pay call before it: {ms([r.pay_seconds for r in results if r.status])})"
        )
        report.note(
            f"after: {returned_done} of {returns} returning buyers' orders fulfilled;"
            f" simulator webhook deliveries: {len(deliveries)}; events stored:"
            f" {StripeEvent.objects.count()} (= {orders} from step 1); sold_count"
            f" {sold.sold_count} of {sold.capacity}, held_count {sold.held_count};"
            f" tickets {Ticket.objects.filter(ticket_type_id=type_id).count()}"
        )
        again = [r.again_seconds for r in results if r.again_ready]
        report.figure(
            f"{database} buyers seeing their tickets on the first load, no webhook",
            100 * len(ready) / returns,
            "%",
            goal=100,
            at_least=True,
            baseline=(
                f"first load {ms([r.page_seconds for r in ready])}; the same page once"
                f" fulfilled (no Stripe call): {ms(again)}"
            ),
            digits=1,
        )
        report.finish()


def error_lines(log: Path) -> Counter:
    """The exception lines (``SomeError: message``) of a process's log, counted."""
    found: Counter = Counter()
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"^([\w.]+(?:Error|Exception|Busy|Timeout)): (.{0,70})", line)
        if match:
            found[f"{match[1]}: {match[2]}"] += 1
    return found


def child_pids(pid: int) -> list[int]:
    """uvicorn --workers N runs its workers as children of the supervisor."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in children.read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 webhooks, 50 returns")
    parser.add_argument("--orders", type=int, default=1000, help="webhooks sent (N)")
    parser.add_argument("--returns", type=int, default=200, help="success-page buyers (M)")
    parser.add_argument("--threads", type=int, default=32, help="webhook client threads")
    parser.add_argument("--page-threads", type=int, default=8, help="returning-buyer threads")
    parser.add_argument("--consumers", type=int, default=2, help="Huey consumer processes")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--setup-processes", type=int, default=2, help="processes making the offers"
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        help="DATABASE_CONN_MAX_AGE for every process, without the connection pool (PostgreSQL;"
        " default: the settings', with the pool)",
    )
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    args = parser.parse_args()
    orders, returns = (200, 50) if args.quick else (args.orders, args.returns)
    if args.db == "both":
        extra = [
            *("--orders", str(orders), "--returns", str(returns)),
            *("--threads", str(args.threads), "--page-threads", str(args.page_threads)),
            *("--consumers", str(args.consumers), "--web-workers", str(args.web_workers)),
            *("--setup-processes", str(args.setup_processes)),
            *(["--conn-max-age", str(args.conn_max_age)] if args.conn_max_age is not None else []),
        ]
        run_per_database("bench.webhooks", ["sqlite", "postgres"], extra)
        return
    run_database(args.db, orders, returns, args)


if __name__ == "__main__":
    main()
