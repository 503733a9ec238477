"""What a web process does when more buyers arrive than it can serve at once.

Under ASGI, Django runs each request in flight in its own thread, holding its own database
connection, so a crowd of a few hundred once opened more connections than PostgreSQL
allows and got 500s. Two guards keep a crowd waiting instead:

- ``RequestLimit`` lets at most ``MAX_CONCURRENT_REQUESTS`` requests into Django at once;
  the others wait in the event loop (no thread, no connection) and get a 503 with
  Retry-After if their turn has not come within ``REQUEST_QUEUE_TIMEOUT`` seconds. The
  limit sits below the pool's size, so requests never wait on the pool and the live-update
  hub always finds a connection.
- ``server_error`` (handler500) answers a database that refused a connection (the pool's
  wait ran out, PostgreSQL's connection limit reached) with the same 503, never a 500.
"""

import asyncio
import logging
import sys
import weakref

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader

from tickethub.locks import is_busy_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# PostgreSQL's "too_many_connections" and "cannot_connect_now" (starting, shutting down).
REFUSED_CONNECTION_SQLSTATES = {"53300", "57P03"}
# A refusal at connection time comes as a message from the server, without a SQLSTATE.
REFUSED_CONNECTION_MESSAGES = (
    "too many clients already",
    "too many connections for",
    "remaining connection slots are reserved",
    "the database system is starting up",
    "the database system is shutting down",
)


def is_connection_refused(error: BaseException) -> bool:
    """True when ``error`` (or the driver error behind Django's) says that no connection to
    the database could be had right now, as opposed to a fault in a query."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if type(cause).__name__ == "PoolTimeout":  # psycopg_pool: the pool's wait ran out
        return True
    if getattr(cause, "sqlstate", None) in REFUSED_CONNECTION_SQLSTATES:
        return True
    message = str(error).lower()
    return any(text in message for text in REFUSED_CONNECTION_MESSAGES)


def overloaded_page() -> str:
    # A standalone page: base.html's context (the signed-in user) would need the database.
    return loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})


def overloaded_response() -> HttpResponse:
    response = HttpResponse(overloaded_page(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an uncaught error anywhere in Django (a view or a middleware). A
    database that refused a connection, or a lock wait that ran out outside any view (the
    session middleware's BEGIN IMMEDIATE on SQLite), is a busy site, answered 503 +
    Retry-After. (DomainErrorMiddleware answers those a view raises.)"""
    error = sys.exc_info()[1]
    if error is not None and (is_connection_refused(error) or is_busy_error(error)):
        return overloaded_response()
    return HttpResponseServerError(loader.render_to_string("500.html"))


class RequestLimit:
    """ASGI middleware: at most ``limit`` HTTP requests inside ``app`` at once per event
    loop (one loop per web process; tests may run several servers in threads), served in
    the order they came; a request that waits longer than ``queue_timeout`` seconds gets a
    503 with Retry-After. ``limit`` 0 turns the limit off.

    Both are read from settings (MAX_CONCURRENT_REQUESTS, REQUEST_QUEUE_TIMEOUT) unless
    given, when a loop first needs them.
    """

    def __init__(self, app, *, limit: int | None = None, queue_timeout: float | None = None):
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore | None
        ] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore | None:
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            limit = settings.MAX_CONCURRENT_REQUESTS if self.limit is None else self.limit
            self._semaphores[loop] = asyncio.Semaphore(limit) if limit > 0 else None
        return self._semaphores[loop]

    async def __call__(self, scope, receive, send) -> None:
        semaphore = self._semaphore() if scope["type"] == "http" else None
        if semaphore is None:
            await self.app(scope, receive, send)
            return
        timeout = (
            settings.REQUEST_QUEUE_TIMEOUT if self.queue_timeout is None else self.queue_timeout
        )
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout)
        except TimeoutError:
            logger.warning("Request to %s waited %.1f s for a turn: 503.", scope["path"], timeout)
            await self._refuse(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            semaphore.release()

    async def _refuse(self, send) -> None:
        body = overloaded_page().encode()  # a template, no database: fine in the loop
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
