"""Faults on demand: slow, failing or rate-limited API answers and unreliable webhooks.

Set them with ``STRIPE_SIM_FAULTS`` (JSON) or ``POST /_sim/faults``. API faults apply to
``/v1/*`` only and are decided before the request reaches a handler, so a 500 or 429 never
changes state; ``timeout_mode="after"`` is the one exception, on purpose: the request takes
effect and only its answer is lost, which is what an idempotency key exists for.
"""

import asyncio
import dataclasses
import json
import random
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripe_sim.protocol import StripeError, error_response_parts, new_request_id


@dataclasses.dataclass(frozen=True)
class Faults:
    # API requests (/v1/* only)
    latency_ms: int = 0
    error_rate: float = 0.0  # share answered 500 api_error
    rate_limit_rate: float = 0.0  # share answered 429 rate_limit
    timeout_rate: float = 0.0  # share that hang until the client gives up
    timeout_seconds: float = 30.0  # how long a timed-out request hangs at most
    timeout_mode: str = "before"  # "before": nothing happens; "after": it happens, answer lost
    # Webhook deliveries
    webhook_duplicate_rate: float = 0.0  # share of events delivered twice
    webhook_out_of_order: bool = False  # deliver each batch of due events shuffled
    webhook_delay_seconds: float = 0.0  # hold every event this long before the first attempt
    webhook_drop_rate: float = 0.0  # share never delivered (still listed by /v1/events)
    # Payments
    late_payment: bool = False  # the checkout page accepts payment after expires_at

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "Faults":
        """Build from JSON-like input, refusing unknown names and out-of-range values."""
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            converted[name] = _convert(name, type(fields[name].default), value)
        faults = cls(**converted)
        faults._check_ranges()
        return faults

    @classmethod
    def from_json(cls, text: str | None) -> "Faults":
        return cls.from_mapping(json.loads(text)) if text and text.strip() else cls()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def _check_ranges(self) -> None:
        rates = ("error_rate", "rate_limit_rate", "timeout_rate", "webhook_duplicate_rate")
        for name in (*rates, "webhook_drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.error_rate + self.rate_limit_rate + self.timeout_rate > 1.0:
            raise ValueError("error_rate + rate_limit_rate + timeout_rate must not exceed 1")
        if self.timeout_mode not in ("before", "after"):
            raise ValueError('timeout_mode must be "before" or "after"')
        if self.latency_ms < 0 or self.timeout_seconds < 0 or self.webhook_delay_seconds < 0:
            raise ValueError("latency_ms, timeout_seconds and webhook_delay_seconds must be >= 0")

    def roll_api_fault(self) -> str | None:
        """One draw decides the fate of a request: "error", "rate_limit", "timeout" or None."""
        draw = random.random()
        for name, rate in (
            ("error", self.error_rate),
            ("rate_limit", self.rate_limit_rate),
            ("timeout", self.timeout_rate),
        ):
            if draw < rate:
                return name
            draw -= rate
        return None

    def roll(self, rate: float) -> bool:
        return rate > 0 and random.random() < rate


def _convert(name: str, kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        return kind(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


RATE_LIMITED = StripeError(
    429,
    "invalid_request_error",
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits.",
    code="rate_limit",
)
# Stripe's generic answer for an internal failure; the SDK turns any 5xx into APIError.
INTERNAL_ERROR = StripeError(
    500,
    "api_error",
    "An unknown error occurred. Please try again, or contact Stripe support if the problem "
    "persists.",
)


class FaultMiddleware:
    """ASGI middleware in front of the whole app; it only touches paths under /v1/."""

    def __init__(
        self,
        app: ASGIApp,
        faults_source: Callable[[], Faults],
        count: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.app = app
        self.faults_source = faults_source
        self.count = count  # tallies API requests and injected faults for /_sim/stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        faults = self.faults_source()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        fault = faults.roll_api_fault()
        self.count("api_requests")
        if fault is not None:
            self.count(f"injected_{fault}")
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "timeout":
            await self._time_out(faults, scope, receive, send)
        else:
            await send_error(send, INTERNAL_ERROR if fault == "error" else RATE_LIMITED)

    async def _time_out(self, faults: Faults, scope: Scope, receive: Receive, send: Send) -> None:
        if faults.timeout_mode == "after":
            await self.app(scope, receive, _discard)
        disconnected = await _wait_for_disconnect(receive, faults.timeout_seconds)
        if not disconnected:
            # The client waited longer than we hang: answer as a gateway would have to.
            await send_error(send, INTERNAL_ERROR)


async def _discard(message: Message) -> None:
    """The response of a request whose answer the network 'lost'."""


async def _wait_for_disconnect(receive: Receive, seconds: float) -> bool:
    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(until_disconnect(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def send_error(send: Send, error: StripeError) -> None:
    status, headers, body = error_response_parts(error, new_request_id())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
