"""Webhook delivery: Stripe's signature, retries with back-off, and delivery faults.

Deliveries run on one worker thread, never on the event loop: the receiving site may call
back into the simulator while it handles an event, and must find it free to answer.
"""

import dataclasses
import hashlib
import heapq
import hmac
import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from stripe_sim.clock import Clock
from stripe_sim.faults import Faults
from stripe_sim.protocol import encode_json
from stripe_sim.settings import WebhookEndpoint

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
# Out-of-order mode waits this long so events emitted together form one batch to shuffle.
BATCH_WINDOW_SECONDS = 0.05


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``, what stripe-python's
    ``WebhookSignature.verify_header`` checks (stripe/_webhook.py)."""
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclasses.dataclass(order=True)
class _Delivery:
    due: float  # time.monotonic() of the next attempt
    order: int
    event_id: str = dataclasses.field(compare=False)
    event_type: str = dataclasses.field(compare=False)
    payload: str = dataclasses.field(compare=False)  # fixed when the event was emitted
    connected: bool = dataclasses.field(compare=False)
    duplicate: bool = dataclasses.field(compare=False, default=False)
    attempts: int = dataclasses.field(compare=False, default=0)


class WebhookDispatcher:
    def __init__(
        self,
        *,
        endpoint: Callable[[], WebhookEndpoint | None],
        faults: Callable[[], Faults],
        clock: Clock,
        base_delay: float,
        max_attempts: int,
        timeout: float,
        on_delivered: Callable[[str], None],
    ) -> None:
        self._endpoint = endpoint
        self._faults = faults
        self._clock = clock
        self._base_delay = base_delay
        self._max_attempts = max_attempts
        self._timeout = timeout
        self._on_delivered = on_delivered
        self._queue: list[_Delivery] = []
        self._order = itertools.count()
        self._log: list[dict[str, Any]] = []
        self._in_flight = 0
        self._fast_forward = 0
        self._stopping = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # endpoints are local; never route them via a proxy

    # Producer side

    def listens_for(self, connected: bool) -> bool:
        endpoint = self._endpoint()
        return endpoint is not None and endpoint.target_for(connected) is not None

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue an emitted event, applying the delivery faults in force right now."""
        connected = "account" in event
        if not self.listens_for(connected):
            return
        faults = self._faults()
        payload = encode_json(event).decode()
        with self._condition:
            if faults.roll(faults.webhook_drop_rate):
                self._log.append(self._entry(event["id"], event["type"], 0, dropped=True))
                return
            due = time.monotonic() + faults.webhook_delay_seconds
            copies = 2 if faults.roll(faults.webhook_duplicate_rate) else 1
            for copy in range(copies):
                delivery = _Delivery(
                    due, next(self._order), event["id"], event["type"], payload, connected
                )
                delivery.duplicate = copy == 1
                heapq.heappush(self._queue, delivery)
            self._condition.notify_all()

    # Control side

    def flush(self, timeout: float, fast_forward: bool = False) -> dict[str, int]:
        """Block until every queued delivery has been attempted to the end (success or
        last retry). ``fast_forward`` skips waiting for back-off and delay faults."""
        deadline = time.monotonic() + timeout
        with self._condition:
            self._fast_forward += int(fast_forward)
            self._condition.notify_all()
            try:
                while self._queue or self._in_flight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
            finally:
                self._fast_forward -= int(fast_forward)
            return self._counts()

    def attempts(self) -> list[dict[str, Any]]:
        with self._condition:
            return [dict(entry) for entry in self._log]

    def reset(self) -> None:
        with self._condition:
            self._queue.clear()
            self._log.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="stripe-sim-webhooks")
            self._thread.daemon = True
            self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 5)
            self._thread = None

    # Worker side

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            for delivery in batch:
                self._attempt(delivery)
            with self._condition:
                self._in_flight -= len(batch)
                self._condition.notify_all()

    def _next_batch(self) -> list[_Delivery] | None:
        with self._condition:
            while not self._stopping:
                wait = self._seconds_until_due()
                if wait <= 0:
                    break
                self._condition.wait(wait)
            if self._stopping:
                return None
            shuffle = self._faults().webhook_out_of_order
            if shuffle:
                self._condition.wait(BATCH_WINDOW_SECONDS)
            now = time.monotonic()
            batch = []
            while self._queue and (self._queue[0].due <= now or self._fast_forward):
                batch.append(heapq.heappop(self._queue))
            self._in_flight += len(batch)
        if shuffle and len(batch) > 1:
            original = list(batch)
            random.shuffle(batch)
            if batch == original:
                batch.reverse()
        return batch

    def _seconds_until_due(self) -> float:
        if not self._queue:
            return 3600.0
        if self._fast_forward:
            return 0.0
        return self._queue[0].due - time.monotonic()

    def _attempt(self, delivery: _Delivery) -> None:
        delivery.attempts += 1
        endpoint = self._endpoint()
        target = endpoint.target_for(delivery.connected) if endpoint else None
        status, error = None, None
        if target is None:
            error = "no endpoint configured"
        else:
            status, error = self._post(delivery, *target)
        delivered = status is not None and 200 <= status < 300
        entry = self._entry(delivery.event_id, delivery.event_type, delivery.attempts)
        entry.update(status_code=status, error=error, delivered=delivered)
        entry.update(duplicate=delivery.duplicate, url=target[0] if target else None)
        with self._condition:
            self._log.append(entry)
        if delivered:
            self._on_delivered(delivery.event_id)
        elif target is not None and delivery.attempts < self._max_attempts:
            # Stripe retries failed deliveries with exponential back-off.
            delay = self._base_delay * 2 ** (delivery.attempts - 1)
            delivery.due = time.monotonic() + delay
            with self._condition:
                heapq.heappush(self._queue, delivery)

    def _post(self, delivery: _Delivery, url: str, secret: str) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(delivery.payload, secret, self._clock.timestamp()),
        }
        try:
            response = self._http.post(
                url, data=delivery.payload.encode(), headers=headers, timeout=self._timeout
            )
        except requests.RequestException as error:
            return None, f"{type(error).__name__}: {error}"
        return response.status_code, None

    def _entry(self, event_id: str, event_type: str, attempt: int, **extra) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "type": event_type,
            "attempt": attempt,
            "at": self._clock.timestamp(),
            "status_code": None,
            "delivered": False,
            "dropped": False,
            "duplicate": False,
            **extra,
        }

    def _counts(self) -> dict[str, int]:
        return {
            "pending": len(self._queue) + self._in_flight,
            "attempts": sum(1 for entry in self._log if not entry["dropped"]),
            "delivered": sum(1 for entry in self._log if entry["delivered"]),
            "failed": sum(
                1 for entry in self._log if not entry["delivered"] and not entry["dropped"]
            ),
            "dropped": sum(1 for entry in self._log if entry["dropped"]),
        }
