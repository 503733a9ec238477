"""Live updates over server-sent events, served beside Django by a plain ASGI route.

Django's ASGI handler keeps an executor thread alive for every open response, so a page
waiting on a stream would pin a thread (shared/notes/design.md measured 49 KB and one OS
thread per stream). Streams are therefore served by ``live_events_app`` (dispatched in
tickethub/asgi.py before Django): a waiting stream is one asyncio queue, no thread and no
database connection.

How a change reaches a stream, in any process layout:
1. a service publishes a topic inside the transaction that makes the change; the topics of
   one transaction are written as LiveEvent rows by one INSERT once it commits;
2. each web process runs one LiveHub poller that reads recent rows every half second
   through a single dedicated thread (so one database connection per process);
3. the hub hands (id, kind) to the queues of streams subscribed to the row's topic;
4. the page's htmx panel, triggered by the event, fetches its fresh HTML.
A reconnecting EventSource sends Last-Event-ID and gets the rows it missed replayed.

Which topics a stream hears: the public ones (an event's queue and availability) named in
the URL's signed token, and the private one (the buyer's own entries and offers) taken
from the session cookie the stream request carries, never from the URL. A stream URL copied
to another browser, or left in an access log, therefore hears only public topics.
"""

import asyncio
import logging
import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from importlib import import_module
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib import auth
from django.core import signing
from django.db import DatabaseError, close_old_connections, transaction
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import timezone

from waitlist.models import LiveEvent

logger = logging.getLogger(__name__)

TOKEN_SALT = "tickethub.live-events"
TOKEN_MAX_AGE = 12 * 3600
POLL_SECONDS = 0.5
# Rows are read again for this long, so a row whose transaction committed after a row with
# a higher id (possible on PostgreSQL) is still seen; ids already dispatched are skipped.
LOOKBACK = timedelta(seconds=10)
KEEPALIVE_SECONDS = 15
REPLAY_LIMIT = 200
MAX_PENDING = 64


# --- publishing (sync, inside the service's transaction) -----------------------------------


class _PendingLiveEvents:
    """The topics one transaction published, written once it commits.

    Writing after commit keeps these rows out of the ticket type's lock (where every
    statement costs queue throughput) and never tells a page about a change that was rolled
    back. A crash between commit and write loses only the push: pages also poll.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], None] = {}

    def __call__(self) -> None:
        items, self.items = list(self.items), {}
        LiveEvent.objects.bulk_create(LiveEvent(topic=topic, kind=kind) for topic, kind in items)


def publish(*, topic: str, kind: str) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        LiveEvent.objects.create(topic=topic, kind=kind)
        return
    # Django drops the callbacks of a rolled-back savepoint from run_on_commit, so a pending
    # batch found there belongs to a transaction that is still going to commit.
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _PendingLiveEvents):
            callback.items[(topic, kind)] = None
            return
    pending = _PendingLiveEvents()
    pending.items[(topic, kind)] = None
    transaction.on_commit(pending, robust=True)


def event_topic(event_id: int) -> str:
    return f"event:{event_id}"


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


def is_public_topic(topic: str) -> bool:
    return topic.startswith("event:")


def stream_token(*, topics: list[str]) -> str:
    """A signed list of the public topics a page may listen to (it goes into the stream's
    URL, so never a private one: the stream adds those from the session)."""
    if not all(is_public_topic(topic) for topic in topics):
        raise ValueError("A stream token names public topics only.")
    return signing.dumps(sorted(set(topics)), salt=TOKEN_SALT, compress=True)


def topics_from_token(token: str) -> list[str]:
    """The token's public topics; a private topic (in a token signed before private topics
    came from the session) is dropped, not trusted."""
    topics = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    if not isinstance(topics, list) or not all(isinstance(topic, str) for topic in topics):
        raise signing.BadSignature("Malformed topics.")
    return [topic for topic in topics if is_public_topic(topic)]


def private_topics_of_session(session_key: str | None) -> list[str]:
    """The private topics of the user signed in to this session, or none.

    The user is found as Django's AuthenticationMiddleware finds it (auth.get_user: the
    session's backend, an active user, the session hash that a password change or sign-out
    invalidates), so a stream hears exactly what the pages of that session may show.
    """
    close_old_connections()
    if not session_key:
        return []
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return [user_topic(user.pk)] if user.is_authenticated else []


def delete_old_live_events(*, older_than: timedelta = timedelta(hours=1)) -> int:
    deleted, _ = LiveEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- the per-process hub ---------------------------------------------------------------------


def _recent_rows(lookback: timedelta) -> list[tuple[int, str, str]]:
    close_old_connections()
    return list(
        LiveEvent.objects.filter(created_at__gte=timezone.now() - lookback)
        .order_by("id")
        .values_list("id", "topic", "kind")
    )


def _rows_after(topics: list[str], last_id: int) -> list[tuple[int, str, str]]:
    close_old_connections()
    return list(
        LiveEvent.objects.filter(topic__in=topics, id__gt=last_id)
        .order_by("id")
        .values_list("id", "topic", "kind")[:REPLAY_LIMIT]
    )


class LiveHub:
    """Fans LiveEvent rows out to this process's open streams."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.dispatched: dict[int, float] = {}
        self.database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-hub")
        self.poller: asyncio.Task | None = None

    def subscribe(self, topics: list[str], queue: asyncio.Queue) -> None:
        for topic in topics:
            self.subscribers[topic].add(queue)
        if self.poller is None or self.poller.done():
            self.poller = asyncio.get_running_loop().create_task(self._poll())

    def unsubscribe(self, topics: list[str], queue: asyncio.Queue) -> None:
        for topic in topics:
            self.subscribers[topic].discard(queue)
            if not self.subscribers[topic]:
                del self.subscribers[topic]

    @property
    def stream_count(self) -> int:
        return len({id(queue) for queues in self.subscribers.values() for queue in queues})

    async def private_topics(self, session_key: str | None) -> list[str]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.database, private_topics_of_session, session_key)

    async def replay(self, topics: list[str], last_id: int) -> list[tuple[int, str, str]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.database, _rows_after, topics, last_id)

    def dispatch(self, rows: list[tuple[int, str, str]]) -> None:
        now = time.monotonic()
        for row_id, topic, kind in rows:
            if row_id in self.dispatched:
                continue
            self.dispatched[row_id] = now
            for queue in list(self.subscribers.get(topic, ())):
                # A stream this far behind refetches its state on the next event anyway.
                if queue.qsize() < MAX_PENDING:
                    queue.put_nowait((row_id, kind))
        horizon = now - 2 * LOOKBACK.total_seconds()
        for row_id in [key for key, seen in self.dispatched.items() if seen < horizon]:
            del self.dispatched[row_id]

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while self.subscribers:
            try:
                rows = await loop.run_in_executor(self.database, _recent_rows, LOOKBACK)
            except Exception:  # the database is away: keep the streams, try again shortly
                logger.exception("Live hub could not read live events; retrying.")
                await asyncio.sleep(2)
                continue
            self.dispatch(rows)
            await asyncio.sleep(POLL_SECONDS)


hub = LiveHub()


# --- the ASGI route ----------------------------------------------------------------------------


async def _respond(send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _sse(row_id: int, kind: str) -> bytes:
    return f"id: {row_id}\nevent: {kind}\ndata: {kind}\n\n".encode()


# Row ids are 64-bit; 18 digits always fit, and a longer value cannot be one we sent.
_LAST_EVENT_ID = re.compile(rb"[0-9]{1,18}")


def _parse_last_event_id(value: bytes) -> int | None:
    """The id a reconnecting EventSource sends back, or None for anything we never sent
    (str.isdigit() and int() accept "²" and other Unicode digits, and int() refuses more
    than 4300 digits): the stream then starts without a replay."""
    value = value.strip()
    return int(value) if _LAST_EVENT_ID.fullmatch(value) else None


async def live_events_app(scope, receive, send) -> None:
    """GET /live/events?token=…: a text/event-stream of the token's public topics and the
    private topics of the session the request's cookie names."""
    if scope["method"] != "GET":
        await _respond(send, 405, b"Use GET.")
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        public_topics = topics_from_token(query.get("token", [""])[0])
    except signing.BadSignature:
        await _respond(send, 403, b"This live-update link is invalid or has expired.")
        return
    headers = dict(scope.get("headers", []))
    cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    try:
        private_topics = await hub.private_topics(cookies.get(settings.SESSION_COOKIE_NAME))
    except DatabaseError:  # the database is away: a public stream still helps the page
        logger.exception("Live stream could not read its session; serving public topics.")
        private_topics = []
    topics = [*public_topics, *private_topics]
    last_event_id = _parse_last_event_id(headers.get(b"last-event-id", b""))

    queue: asyncio.Queue = asyncio.Queue()
    hub.subscribe(topics, queue)
    disconnected = asyncio.get_running_loop().create_task(_wait_for_disconnect(receive, queue))
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache, no-store"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"retry: 3000\n\n", "more_body": True})
        if last_event_id is not None:
            for row_id, _topic, kind in await hub.replay(topics, last_event_id):
                await send(
                    {"type": "http.response.body", "body": _sse(row_id, kind), "more_body": True}
                )
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                item = KEEPALIVE
            if item is DISCONNECTED:
                break
            body = b": keep-alive\n\n" if item is KEEPALIVE else _sse(*item)
            await send({"type": "http.response.body", "body": body, "more_body": True})
    except OSError:
        pass  # the client went away mid-write
    finally:
        hub.unsubscribe(topics, queue)
        disconnected.cancel()


DISCONNECTED = object()
KEEPALIVE = object()


async def _wait_for_disconnect(receive, queue: asyncio.Queue) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            queue.put_nowait(DISCONNECTED)
            return
