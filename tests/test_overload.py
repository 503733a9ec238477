"""The request limit (tickethub/overload.py): a crowd queues in the event loop, a request
that waits too long gets a 503 with Retry-After, and open live streams never count."""

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import psycopg
import pytest
from django.db import OperationalError, connections
from django.test import RequestFactory

from tickethub.overload import RequestLimit, server_error
from waitlist.live import hub, stream_token


class AsgiCall:
    """One HTTP request to an ASGI application, driven in the running event loop; the
    client stays connected until ``disconnect()``."""

    def __init__(self, app, path: str, query: str = ""):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        self.sent: asyncio.Queue = asyncio.Queue()
        self._disconnected = asyncio.Event()
        self._body_read = False
        self.task = asyncio.get_running_loop().create_task(app(scope, self._receive, self.sent.put))

    async def _receive(self) -> dict:
        if not self._body_read:
            self._body_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def response(self, timeout: float = 10) -> tuple[int, dict[bytes, bytes]]:
        """The status and headers, once the application has started its response."""
        start = await asyncio.wait_for(self.sent.get(), timeout)
        assert start["type"] == "http.response.start"
        return start["status"], dict(start["headers"])

    async def body(self, timeout: float = 10) -> bytes:
        chunks = []
        while True:
            message = await asyncio.wait_for(self.sent.get(), timeout)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def disconnect(self) -> None:
        self._disconnected.set()
        await asyncio.wait_for(self.task, 10)


def run_in_own_loop(coroutine) -> None:
    """asyncio.run in a thread of its own: a browser test earlier in the same worker may have
    left Playwright's event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, coroutine).result()


def held_application():
    """An ASGI application that answers 200 once its request's release event is set."""
    releases: dict[str, asyncio.Event] = {}
    entered: list[str] = []

    async def app(scope, receive, send):
        entered.append(scope["path"])
        await releases.setdefault(scope["path"], asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def release(path: str) -> None:
        releases.setdefault(path, asyncio.Event()).set()

    return app, entered, release


def test_a_request_that_waits_past_the_queue_timeout_gets_503_with_retry_after():
    async def scenario():
        app, entered, release = held_application()
        limited = RequestLimit(app, limit=1, queue_timeout=0.2)
        first = AsgiCall(limited, "/first")
        await asyncio.sleep(0.05)
        second = AsgiCall(limited, "/second")
        status, headers = await second.response(timeout=5)
        assert (status, headers[b"retry-after"]) == (503, b"5")
        assert b"Very busy right now" in await second.body()
        assert entered == ["/first"]  # the refused request never reached the application

        release("/first")
        assert (await first.response())[0] == 200
        await first.disconnect()
        release("/third")
        third = AsgiCall(limited, "/third")
        assert (await third.response(timeout=1))[0] == 200  # the slot was given back
        await third.disconnect()

    run_in_own_loop(scenario())


def test_waiting_requests_are_let_in_one_at_a_time_in_the_order_they_came():
    async def scenario():
        app, entered, release = held_application()
        limited = RequestLimit(app, limit=1, queue_timeout=5)
        calls = []
        for path in ("/a", "/b", "/c"):
            calls.append(AsgiCall(limited, path))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert entered == ["/a"]
        for path, call in zip(("/a", "/b", "/c"), calls, strict=True):
            release(path)
            assert (await call.response())[0] == 200
            await call.disconnect()
        assert entered == ["/a", "/b", "/c"]

    run_in_own_loop(scenario())


@pytest.mark.django_db(transaction=True)
def test_open_live_streams_do_not_count_towards_the_limit(settings):
    from tickethub.asgi import application

    settings.MAX_CONCURRENT_REQUESTS = 1
    settings.REQUEST_QUEUE_TIMEOUT = 1
    token = quote(stream_token(topics=["event:1"]))

    async def scenario():
        streams = [AsgiCall(application, "/live/events", f"token={token}") for _ in range(3)]
        for stream in streams:
            status, headers = await stream.response()
            assert (status, headers[b"content-type"]) == (200, b"text/event-stream; charset=utf-8")
        # Three streams are open and the limit is one: a page is still served at once.
        for _ in range(2):
            page = AsgiCall(application, "/")
            assert (await page.response(timeout=10))[0] == 200
            await page.body()
            await page.disconnect()
        for stream in streams:
            await stream.disconnect()

    try:
        run_in_own_loop(scenario())
    finally:
        # The hub's thread keeps its connection; close it before the tables are flushed.
        hub.database.submit(connections.close_all).result(timeout=10)


def _answer_to(error: Exception):
    try:
        raise error
    except Exception:
        return server_error(RequestFactory().get("/"))


@pytest.mark.parametrize(
    "message",
    [
        "connection failed: FATAL:  sorry, too many clients already",
        'connection failed: FATAL:  too many connections for role "tickethub"',
        "connection failed: FATAL:  remaining connection slots are reserved for roles with"
        " the SUPERUSER attribute",
    ],
)
def test_a_database_that_refuses_connections_is_a_503_not_a_500(message):
    response = _answer_to(OperationalError(message))
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert b"Very busy right now" in response.content


def _sqlite_busy() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    "cause",
    [psycopg.errors.LockNotAvailable(), psycopg.errors.DeadlockDetected(), _sqlite_busy()],
    ids=["lock timeout", "deadlock", "sqlite busy"],
)
def test_a_lock_wait_that_ran_out_outside_a_view_is_a_503_not_a_500(cause):
    error = OperationalError("any message")
    error.__cause__ = cause
    response = _answer_to(error)
    assert (response.status_code, response["Retry-After"]) == (503, "5")


def test_other_errors_stay_500():
    for error in (OperationalError("no such table: events_event"), ValueError("bug")):
        response = _answer_to(error)
        assert response.status_code == 500
        assert not response.has_header("Retry-After")
