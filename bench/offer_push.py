"""Time from an offer's expiry to the next buyer's offer arriving on their open SSE stream.

The site runs as in production: uvicorn (tickethub.asgi, live route and hub) and a Huey
consumer (`manage.py run_huey`) against a scratch database. Each of N ticket types has one
place, held by an offer that expires a few seconds from now, and one buyer waiting behind
it. The offers are made through join_waiting_list with ``now`` set one offer window (5
minutes) back, so their expires_at, and the expire_offer_task job scheduled for it, fall
due during the run, staggered. Each waiting buyer's stream is open (/live/events with the
buyer's session cookie, which brings their user topic), read line by line with http.client; the
figure is the time from expires_at to the `event: entry` line. Split into: expires_at →
offered_at (the job queue) and offered_at → arrival (commit, hub poll, push). Baseline: a
LiveEvent row written straight on each buyer's topic (no job), commit → arrival.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.offer_push [--quick] [--db sqlite]

SQLite: database cache, Huey on SQLite (embedded default). PostgreSQL: Redis db 12 for the
cache and Huey.
"""

import argparse
import http.client
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bench.common import (
    Report,
    free_port,
    huey_consumer,
    make_event,
    make_users,
    percentile,
    run_per_database,
    scratch,
    uvicorn,
    wait_for_site,
)

OFFER_WINDOW_MINUTES = 5
SPACING_SECONDS = 0.4


class BuyerStream(threading.Thread):
    """One waiting buyer's open stream; notes when `event: entry` lines (newer than
    ``after_id``) arrive."""

    def __init__(self, port: int, token: str, session_cookie: str, after_id: int):
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = f"/live/events?token={quote(token)}"
        self.session_cookie = session_cookie
        self.after_id = after_id
        self.opened = threading.Event()
        self.arrivals: list[float] = []
        self.stopping = False

    def run(self) -> None:
        self.connection.request(
            "GET",
            self.path,
            headers={"Accept": "text/event-stream", "Cookie": self.session_cookie},
        )
        response = self.connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"stream answered {response.status}")
        self.opened.set()
        row_id = 0
        try:
            while not self.stopping and len(self.arrivals) < 2:
                line = response.readline()
                if not line:
                    return
                if line.startswith(b"id: "):
                    row_id = int(line[4:])
                elif line.startswith(b"event: entry") and row_id > self.after_id:
                    self.arrivals.append(time.time())
        except OSError:
            pass  # closed by stop()

    def stop(self) -> None:
        self.stopping = True
        self.connection.close()


def session_cookie(user_id: int) -> str:
    """A Cookie header signing the user in, as their browser would send it."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def make_offers(count: int, first_expiry: float) -> tuple[list[int], list[int]]:
    """``count`` sold-out-by-offer ticket types with a waiting buyer behind each offer;
    returns (holder entry ids, waiting buyer ids)."""
    from django.contrib.auth.models import User

    from waitlist.services import join_waiting_list

    _, type_ids = make_event(
        name="push", capacities=[1] * count, offer_window_minutes=OFFER_WINDOW_MINUTES
    )
    holders = User.objects.in_bulk(make_users(count, "holder-"))
    waiters = User.objects.in_bulk(make_users(count, "waiter-"))
    window = timedelta(minutes=OFFER_WINDOW_MINUTES)
    offers, waiting = [], []
    for index, (type_id, holder, waiter) in enumerate(
        zip(type_ids, holders.values(), waiters.values(), strict=True)
    ):
        expires_at = datetime.fromtimestamp(first_expiry + index * SPACING_SECONDS, UTC)
        offer = join_waiting_list(
            user=holder, ticket_type_id=type_id, quantity=1, now=expires_at - window
        ).entry
        queued = join_waiting_list(user=waiter, ticket_type_id=type_id, quantity=1).entry
        if offer.status != "offered" or queued.status != "waiting":
            raise AssertionError(f"fixture: {offer.status} / {queued.status}")
        offers.append(offer.pk)
        waiting.append(waiter.pk)
    return offers, waiting


def run_database(database: str, count: int) -> None:
    with scratch(name="offer-push", database=database, redis=database == "postgres") as db:
        from waitlist import live
        from waitlist.models import LiveEvent, WaitingListEntry

        report = Report(f"bench/offer_push.py on {database}")
        report.start(
            f"database: scratch {database}; cache: {db.cache}; jobs: {db.jobs} (consumer:"
            f" `manage.py run_huey`); web: one uvicorn process; {count} offers,"
            f" {SPACING_SECONDS} s apart"
        )
        port = free_port()
        with (
            uvicorn(port, db.var_dir / "uvicorn.log") as server,
            huey_consumer(db.var_dir / "huey.log") as consumer,
        ):
            wait_for_site(port, server)
            if consumer.poll() is not None:
                raise RuntimeError((db.var_dir / "huey.log").read_text()[-2000:])
            begun = time.time()
            # Room for making the offers (~0.2 s each here) and opening the streams.
            first_expiry = begun + 8 + 0.3 * count
            offer_ids, buyer_ids = make_offers(count, first_expiry)
            after_id = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
            # A buyer's own topic reaches a stream from their session, never from the URL.
            no_public_topics = live.stream_token(topics=[])
            streams = [
                BuyerStream(port, no_public_topics, session_cookie(b), after_id) for b in buyer_ids
            ]
            for stream in streams:
                stream.start()
            for stream in streams:
                stream.opened.wait(timeout=30)
            spare = first_expiry - time.time()
            print(f"offers made and {count} streams open; first expiry in {spare:.1f} s")
            if spare < 0:
                raise RuntimeError("setup overran the first expiry; lower --offers")
            deadline = first_expiry + count * SPACING_SECONDS + 40
            while time.time() < deadline and any(not s.arrivals for s in streams):
                time.sleep(0.2)
            # Baseline: a row written straight on each buyer's topic, no job in between.
            published = []
            for buyer_id in buyer_ids:
                live.publish(topic=live.user_topic(buyer_id), kind="entry")
                published.append(time.time())
                time.sleep(0.05)
            deadline = time.time() + 10
            while time.time() < deadline and any(len(s.arrivals) < 2 for s in streams):
                time.sleep(0.2)
            for stream in streams:
                stream.stop()

        offers = WaitingListEntry.objects.in_bulk(offer_ids)
        next_buyers = {e.user_id: e for e in WaitingListEntry.objects.filter(user_id__in=buyer_ids)}
        total, job, push, baseline, missing = [], [], [], [], 0
        for offer_id, buyer_id, stream, sent in zip(
            offer_ids, buyer_ids, streams, published, strict=True
        ):
            expired_at = offers[offer_id].expires_at.timestamp()
            offered = next_buyers[buyer_id]
            if not stream.arrivals or offered.status != "offered":
                missing += 1
                continue
            total.append(stream.arrivals[0] - expired_at)
            job.append(offered.offered_at.timestamp() - expired_at)
            push.append(stream.arrivals[0] - offered.offered_at.timestamp())
            if len(stream.arrivals) > 1:
                baseline.append(stream.arrivals[1] - sent)

        def shown(values: list[float]) -> str:
            return (
                f"p50 {percentile(values, 50):.2f} s, p99 {percentile(values, 99):.2f} s,"
                f" max {max(values, default=float('nan')):.2f} s"
            )

        report.note(f"{len(total)} of {count} offers passed on and pushed; {missing} missing")
        report.note(f"expires_at → next offer made (job queue): {shown(job)}")
        report.note(f"offer made → `event: entry` read (commit, hub poll, push): {shown(push)}")
        report.figure(
            f"{database} expiry → next buyer's push, p99",
            percentile(total, 99) if not missing else float("inf"),
            "s",
            goal=5,
            at_least=False,
            baseline=f"a LiveEvent row written directly, commit → read: {shown(baseline)}",
            digits=2,
        )
        report.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 offers")
    parser.add_argument("--offers", type=int, default=50)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    args = parser.parse_args()
    count = 20 if args.quick else args.offers
    if args.db == "both":
        run_per_database("bench.offer_push", ["sqlite", "postgres"], ["--offers", str(count)])
        return
    run_database(args.db, count)


if __name__ == "__main__":
    main()
