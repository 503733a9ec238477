"""Stripe's basic rate limiter: at most N API requests per second per API key.

Stripe's test mode allows 25 requests a second (https://docs.stripe.com/rate-limits); over
it the answer is a 429 ``rate_limit`` error, which stripe-python raises as
``stripe.RateLimitError``. Stripe sends no ``Stripe-Should-Retry: true`` with it (only with
429 lock timeouts), so the SDK's own retries never repeat a rate-limited request: backing
off is the caller's job, and this simulator answers the same way so that the caller's code
is tested.

The window slides: a request is let through when fewer than N requests of the same key
were let through in the second before it. Refused requests do not count, so a client that
keeps trying still gets N requests a second through. Only ``/v1/*`` is limited, never the
hosted pages or the control API; a request without a usable key is left for the API to
answer 401.
"""

import collections
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_sim.faults import RATE_LIMITED, send_error
from stripe_sim.protocol import api_key_of

# Stripe's limit in test mode (live mode allows 100).
STRIPE_TEST_MODE_REQUESTS_PER_SECOND = 25.0
WINDOW_SECONDS = 1.0


class RateLimiter:
    """A sliding one-second window of admitted requests, one per API key."""

    def __init__(
        self, requests_per_second: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.requests_per_second = requests_per_second
        self._now = now
        self._admitted: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.requests_per_second > 0

    def admit(self, key: str) -> bool:
        """Whether a request of ``key`` may run now (and if so, count it)."""
        if not self.enabled:
            return True
        now = self._now()
        with self._lock:
            admitted = self._admitted.setdefault(key, collections.deque())
            while admitted and admitted[0] <= now - WINDOW_SECONDS:
                admitted.popleft()
            if len(admitted) >= self.requests_per_second:
                return False
            admitted.append(now)
            return True


def check_requests_per_second(value: object) -> float:
    """A limit from JSON or the environment: a number >= 0, where 0 (or null) means none."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("requests_per_second must be a number (0 or null: no limit)")
    if value < 0:
        raise ValueError("requests_per_second must be >= 0")
    return float(value)


class RateLimitMiddleware:
    """ASGI middleware in front of the whole app; it only touches paths under /v1/."""

    def __init__(
        self,
        app: ASGIApp,
        limiter_source: Callable[[], RateLimiter],
        count: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.app = app
        self.limiter_source = limiter_source
        self.count = count  # tallies API requests and refused ones for /_sim/stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            limiter = self.limiter_source()
            key = api_key_of(_header(scope, b"authorization"))
            if limiter.enabled and key and not limiter.admit(key):
                self.count("api_requests")
                self.count("rate_limited")
                await send_error(send, RATE_LIMITED)
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return value.decode("latin-1")
    return None
