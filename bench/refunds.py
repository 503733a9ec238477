"""Refunds per second when an organiser cancels an event with N paid orders, and the
number of charges refunded twice (must be 0), from the simulator's own ledger.

The bundled Stripe simulator runs as its own process (`python -m stripe_sim`) with live
mode's rate limit (100 requests/s, --rate-limit) once the fixture is made; one Huey
consumer (`manage.py run_huey --no-periodic`: the refund job and the jobs it queues, no
sweep) runs against a scratch database.

Fixture (no rate limit, not timed): an onboarded organiser, one event with one £25 paid
type of N places, N buyers each joining, starting checkout (bench.webhooks.make_purchases),
paying on the simulator and fulfilled by payments.services.fulfilment.refresh_order, from
forked processes. Then cancel_event (the real service) queues the refund job; the figure is
refunds/s between the 10th and 90th percentile of refunds landed, polled from the
database, beside the total from the cancel to the event being CANCELLED. Afterwards every
refund of the connected account is listed through the SDK: a charge with more than one
refund, or with none, is counted.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.refunds [--orders 2000] [--db sqlite]
"""

import argparse
import time
from collections import Counter

from bench.common import (
    Report,
    WorkerPool,
    free_port,
    proc_cpu_seconds,
    run_per_database,
    scratch,
    site_process,
    split,
)
from bench.webhooks import Simulator, make_purchases, pay_all, point_at_simulator, simulator_process


def fulfil_worker(*, order_ids: list[int]) -> dict:
    """In a forked worker: each paid order fetched from Stripe and fulfilled."""
    from django.db import connection

    from payments import stripe_api
    from payments.models import Order
    from payments.services.fulfilment import refresh_order

    stripe_api._client.cache_clear()  # never share the parent's keep-alive sockets
    fulfilled = 0
    try:
        for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
            if refresh_order(order=order).status == Order.Status.FULFILLED:
                fulfilled += 1
    finally:
        connection.close()
    return {"fulfilled": fulfilled}


def ledger(account_id: str) -> tuple[Counter, int]:
    """Refunds per payment intent at the simulator (the connected account's), and their sum."""
    from payments.stripe_api import client

    per_intent: Counter[str] = Counter()
    total = 0
    listed = client().v1.refunds.list(params={"limit": 100}, options={"stripe_account": account_id})
    for refund in listed.auto_paging_iter():
        if refund.status == "succeeded":
            per_intent[refund.payment_intent] += 1
            total += refund.amount
    return per_intent, total


def run_database(database: str, args: argparse.Namespace) -> None:
    orders = args.orders
    sim_port = free_port()
    sim = Simulator(sim_port)
    point_at_simulator(sim.url)
    with scratch(name="refunds", database=database, redis=database == "postgres") as db:
        from django.conf import settings
        from django.contrib.auth.models import User

        from events.models import Event
        from payments.models import Order, Refund
        from payments.services.cancellation import cancel_event

        if sim.url != settings.STRIPE_API_BASE or not settings.STRIPE_SIMULATOR:
            raise RuntimeError("Django is not pointed at the bench's simulator")
        report = Report(f"bench/refunds.py on {database}")
        report.start(
            f"database: scratch {database}; cache: {db.cache}; jobs: {db.jobs}, one consumer"
            f" (`manage.py run_huey --no-periodic`, {settings.HUEY['consumer']['workers']}"
            f" worker threads); Stripe: simulator process at {sim.url}, rate limit"
            f" {args.rate_limit}/s during the refunds; {orders} paid orders of one ticket"
        )
        logs = db.var_dir
        with simulator_process(sim_port, logs / "stripe_sim.log") as sim_process:
            sim.wait(sim_process)
            sim.control("POST", "faults", {})
            sim.control("POST", "rate_limit", {"requests_per_second": 0})

            begun = time.time()
            account_id, _type_id, purchases, _timing = make_purchases(
                sim, orders, args.setup_processes
            )
            pay_all(sim, [p.session_id for p in purchases])
            with WorkerPool(args.setup_processes) as pool:
                results = pool.run(
                    "bench.refunds:fulfil_worker",
                    [
                        {"order_ids": part}
                        for part in split([p.order_id for p in purchases], args.setup_processes)
                    ],
                    timeout=1800,
                )
            fulfilled = sum(result["fulfilled"] for result in results)
            if fulfilled != orders:
                raise RuntimeError(f"fixture: {fulfilled} of {orders} orders fulfilled")
            event = Event.objects.get(organiser__username="bench-organiser")
            organiser = User.objects.get(username="bench-organiser")
            print(
                f"fixture: {orders} orders paid and fulfilled in {time.time() - begun:.1f} s",
                flush=True,
            )

            consumer_log = logs / "huey.log"
            with site_process(["manage.py", "run_huey", "--no-periodic"], consumer_log) as huey:
                time.sleep(2.0)  # let the consumer start and send the fixture's e-mails
                idle = time.time() + 120
                while _queued_jobs() and time.time() < idle:
                    time.sleep(0.5)
                sim.control("POST", "rate_limit", {"requests_per_second": args.rate_limit})
                stats_before = sim.control("GET", "stats")
                consumer_cpu = proc_cpu_seconds(huey.pid)
                sim_cpu = proc_cpu_seconds(sim_process.pid)

                started = time.time()
                cancel_event(organiser=organiser, event_id=event.pk)
                landed: list[tuple[float, int]] = []
                deadline = started + args.timeout
                while time.time() < deadline:
                    if huey.poll() is not None:
                        raise RuntimeError(f"the consumer exited; see {consumer_log}")
                    done = Refund.objects.filter(status=Refund.Status.SUCCEEDED).count()
                    landed.append((time.time(), done))
                    status = Event.objects.values_list("status", flat=True).get(pk=event.pk)
                    if status == Event.Status.CANCELLED:
                        break
                    time.sleep(0.25)
                total = time.time() - started
                consumer_cpu = proc_cpu_seconds(huey.pid) - consumer_cpu
                sim_cpu = proc_cpu_seconds(sim_process.pid) - sim_cpu
                stats = sim.control("GET", "stats")
            sim.control("POST", "rate_limit", {"requests_per_second": 0})

            status = Event.objects.values_list("status", flat=True).get(pk=event.pk)
            refunded = Refund.objects.filter(status=Refund.Status.SUCCEEDED).count()
            per_intent, refunded_money = ledger(account_id)
            intents = set(Order.objects.values_list("payment_intent_id", flat=True))
            doubles = sum(1 for n in per_intent.values() if n > 1)
            missing = len(intents - set(per_intent))
            sustained = _sustained_rate(landed, orders)
            rate_limited = stats.get("rate_limited", 0) - stats_before.get("rate_limited", 0)
            requests = stats.get("api_requests", 0) - stats_before.get("api_requests", 0)

            print(f"event status at the end: {status} after {total:.1f} s")
            print(f"refunds succeeded (database): {refunded} of {orders}")
            print(
                f"simulator ledger: {sum(per_intent.values())} refunds on {len(per_intent)}"
                f" charges, £{refunded_money / 100:,.2f}; charges refunded twice or more:"
                f" {doubles}; charges never refunded: {missing}"
            )
            print(
                f"simulator: {requests} API requests during the refunds, {rate_limited} refused"
                f" by the rate limit; CPU per refund: consumer"
                f" {consumer_cpu / max(1, refunded) * 1000:.1f} ms, simulator"
                f" {sim_cpu / max(1, refunded) * 1000:.1f} ms"
            )
            report.figure(
                "refunds/s sustained (10th→90th percentile landed)",
                sustained,
                "/s",
                goal=args.rate_limit / 4,
                at_least=True,
                baseline=f"rate limit {args.rate_limit}/s",
                digits=1,
            )
            report.figure(
                "total time, cancel → CANCELLED",
                total,
                "s",
                goal=orders / (args.rate_limit / 4),
                at_least=False,
                baseline=f"{orders} orders",
                digits=1,
            )
            report.figure(
                "charges refunded more than once",
                doubles,
                "",
                goal=0,
                at_least=False,
                baseline="simulator ledger",
            )
            report.finish()
            if doubles or missing or status != Event.Status.CANCELLED:
                raise SystemExit(1)


def _queued_jobs() -> int:
    from huey.contrib.djhuey import HUEY

    return HUEY.pending_count()


def _sustained_rate(landed: list[tuple[float, int]], orders: int) -> float:
    """Refunds per second between the polls that saw 10 % and 90 % of them landed."""
    low = next((point for point in landed if point[1] >= orders * 0.1), None)
    high = next((point for point in landed if point[1] >= orders * 0.9), None)
    if low is None or high is None or high[0] <= low[0]:
        return 0.0
    return (high[1] - low[1]) / (high[0] - low[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="paid orders (N)")
    parser.add_argument(
        "--rate-limit", type=float, default=100, help="simulator requests/s (live mode: 100)"
    )
    parser.add_argument(
        "--setup-processes", type=int, default=2, help="processes making the orders"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="sqlite")
    args = parser.parse_args()
    if args.db == "both":
        extra = [
            *("--orders", str(args.orders), "--rate-limit", str(args.rate_limit)),
            *("--setup-processes", str(args.setup_processes), "--timeout", str(args.timeout)),
        ]
        run_per_database("bench.refunds", ["sqlite", "postgres"], extra)
        return
    run_database(args.db, args)


if __name__ == "__main__":
    main()
