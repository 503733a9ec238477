"""One simulator instance: its state, clock, faults, webhook worker and expiry ticker."""

import collections
import dataclasses
import logging
import threading

from stripe_sim.clock import Clock
from stripe_sim.faults import Faults
from stripe_sim.protocol import new_id
from stripe_sim.ratelimit import RateLimiter
from stripe_sim.settings import SimulatorSettings, WebhookEndpoint
from stripe_sim.store import Store
from stripe_sim.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)


class Simulator:
    """Everything one running simulator owns. Several can live in one process (each app
    made by ``create_app`` has its own), since nothing here is global."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.store = Store(settings.state_file)
        self.clock = Clock(self.store.meta("clock_offset", 0.0))
        self.faults: Faults = settings.faults
        self.rate_limiter = RateLimiter(settings.rate_limit)
        self.webhook: WebhookEndpoint | None = _copy(settings.webhook)
        self.dispatcher = WebhookDispatcher(
            endpoint=lambda: self.webhook,
            faults=lambda: self.faults,
            clock=self.clock,
            base_delay=settings.webhook_base_delay,
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout,
            on_delivered=self._mark_delivered,
        )
        self._ticker_stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.stats: collections.Counter[str] = collections.Counter()

    @property
    def application_id(self) -> str:
        """The platform's Connect application (``ca_…``), named in application fees."""
        with self.store.lock:
            application = self.store.meta("application_id")
            if application is None:
                application = new_id("ca_", 24)
                self.store.set_meta("application_id", application)
            return application

    def start(self) -> None:
        self.dispatcher.start()
        if self._ticker is None:
            self._ticker_stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="stripe-sim-expiry")
            self._ticker.daemon = True
            self._ticker.start()

    def stop(self) -> None:
        self._ticker_stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self.dispatcher.stop()
        self.store.close()

    def reset(self) -> None:
        """Back to a fresh start: no objects, clock at wall time, configured faults and
        webhook endpoint from the settings (environment) again."""
        with self.store.lock:
            self.store.clear()
            self.clock.set_offset(0.0)
            self.faults = self.settings.faults
            self.rate_limiter = RateLimiter(self.settings.rate_limit)
            self.webhook = _copy(self.settings.webhook)
            self.dispatcher.reset()
            self.stats.clear()

    def count(self, name: str) -> None:
        self.stats[name] += 1

    def advance_clock(self, seconds: float) -> None:
        with self.store.lock:
            self.clock.advance(seconds)
            self.store.set_meta("clock_offset", self.clock.offset)
        self.run_due_work()

    def run_due_work(self) -> None:
        """Expire sessions past ``expires_at`` and settle delayed refund failures."""
        from stripe_sim.services.scheduled import run_due_work

        with self.store.lock:
            run_due_work(self)

    def _tick(self) -> None:
        while not self._ticker_stop.wait(self.settings.expiry_interval):
            try:
                self.run_due_work()
            except Exception:  # a bug here must not stop expiry for good
                logger.exception("stripe_sim: scheduled work failed")

    def _mark_delivered(self, event_id: str) -> None:
        # pending_webhooks counts endpoints still waiting for a successful delivery.
        with self.store.lock:
            record = self.store.find("event", event_id)
            if record is not None and record.body["pending_webhooks"]:
                record.body["pending_webhooks"] = 0
                self.store.save(record)


def _copy(endpoint: WebhookEndpoint | None) -> WebhookEndpoint | None:
    return dataclasses.replace(endpoint) if endpoint else None
