"""Configuration of one simulator instance; every field can come from the environment."""

import dataclasses
import os
from collections.abc import Mapping

from stripe_sim.faults import Faults
from stripe_sim.ratelimit import STRIPE_TEST_MODE_REQUESTS_PER_SECOND, check_requests_per_second


@dataclasses.dataclass
class WebhookEndpoint:
    """Where events go. Real Stripe has two endpoints for a Connect platform, each with its
    own signing secret: one for the platform's events and one for its connected accounts'
    events (those with a top-level ``account``). Both share one URL unless ``connect_url``
    is given; without a ``connect_secret`` Connect events are not delivered, as with no
    Connect endpoint on real Stripe."""

    url: str
    secret: str
    connect_secret: str | None = None
    connect_url: str | None = None

    def target_for(self, connected: bool) -> tuple[str, str] | None:
        """(url, secret) for an event, or None when no endpoint listens for its kind."""
        if not connected:
            return self.url, self.secret
        if not self.connect_secret:
            return None
        return self.connect_url or self.url, self.connect_secret


@dataclasses.dataclass
class SimulatorSettings:
    public_url: str | None = None  # base of hosted-page URLs; None: the request's own base
    state_file: str | None = None  # SQLite file to keep state across restarts; None: memory
    webhook: WebhookEndpoint | None = None
    faults: Faults = dataclasses.field(default_factory=Faults)
    webhook_base_delay: float = 1.0  # first retry after this many seconds, then doubling
    webhook_max_attempts: int = 8
    webhook_timeout: float = 10.0  # seconds to wait for the endpoint's answer
    expiry_interval: float = 1.0  # how often sessions past expires_at are expired
    # API requests per second per API key, as Stripe's test mode allows; 0: no limit
    rate_limit: float = STRIPE_TEST_MODE_REQUESTS_PER_SECOND

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "SimulatorSettings":
        """Read ``STRIPE_SIM_*`` variables; keyword arguments win over the environment."""
        env = os.environ if environ is None else environ
        values: dict = {
            "public_url": env.get("STRIPE_SIM_PUBLIC_URL") or None,
            "state_file": env.get("STRIPE_SIM_STATE_FILE") or None,
            "faults": Faults.from_json(env.get("STRIPE_SIM_FAULTS")),
            "webhook": _webhook_from_env(env),
        }
        numbers = {
            "webhook_base_delay": ("STRIPE_SIM_WEBHOOK_BASE_DELAY", float),
            "webhook_max_attempts": ("STRIPE_SIM_WEBHOOK_MAX_ATTEMPTS", int),
            "webhook_timeout": ("STRIPE_SIM_WEBHOOK_TIMEOUT", float),
            "expiry_interval": ("STRIPE_SIM_EXPIRY_INTERVAL", float),
        }
        for field, (variable, convert) in numbers.items():
            if env.get(variable):
                values[field] = convert(env[variable])
        if env.get("STRIPE_SIM_RATE_LIMIT"):
            values["rate_limit"] = check_requests_per_second(float(env["STRIPE_SIM_RATE_LIMIT"]))
        values.update(overrides)
        return cls(**values)


def _webhook_from_env(env: Mapping[str, str]) -> WebhookEndpoint | None:
    url = env.get("STRIPE_SIM_WEBHOOK_URL")
    secret = env.get("STRIPE_SIM_WEBHOOK_SECRET")
    if not url or not secret:
        return None
    return WebhookEndpoint(
        url=url,
        secret=secret,
        connect_secret=env.get("STRIPE_SIM_CONNECT_WEBHOOK_SECRET") or None,
        connect_url=env.get("STRIPE_SIM_CONNECT_WEBHOOK_URL") or None,
    )
