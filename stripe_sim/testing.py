"""Run a simulator inside a test process and drive it.

    with SimulatorServer() as sim:
        client = sim.client()
        account = client.v1.accounts.create(params={"type": "express"})
        sim.complete_onboarding(account.id)

Each server is independent (its own port, state and webhook worker), so tests can run in
parallel under pytest-xdist.
"""

import dataclasses
import threading
import time
from typing import Any

import requests
import stripe
import uvicorn

from stripe_sim.app import create_app
from stripe_sim.settings import SimulatorSettings


class SimulatorServer:
    """The simulator under uvicorn in a daemon thread on a free 127.0.0.1 port."""

    def __init__(
        self,
        settings: SimulatorSettings | None = None,
        *,
        rate_limit: float = 0,
        **overrides: Any,
    ) -> None:
        """``overrides`` are SimulatorSettings fields (``webhook_base_delay=0.01``, …) applied
        over ``settings`` or, without it, over the STRIPE_SIM_* environment.

        Unlike ``python -m stripe_sim``, a test server has no rate limit unless given
        ``rate_limit`` (requests per second per API key): test suites and load scripts
        fire requests far faster than Stripe's 25 a second, and only the tests about
        rate limiting should be refused for it (they can also call ``set_rate_limit``)."""
        overrides["rate_limit"] = rate_limit
        if settings is None:
            settings = SimulatorSettings.from_env(**overrides)
        else:
            settings = dataclasses.replace(settings, **overrides)
        self.settings = settings
        self.app = create_app(settings)
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # never send 127.0.0.1 through a proxy

    @property
    def simulator(self):
        """The in-process Simulator, for the rare test that needs to look inside."""
        return self.app.state.simulator

    def start(self) -> "SimulatorServer":
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, lifespan="on", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="stripe-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Stripe simulator did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        if self.settings.public_url is None:
            self.settings.public_url = self.url
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._http.close()

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(
        self,
        api_key: str = "sk_test_sim",
        *,
        stripe_account: str | None = None,
        max_network_retries: int = 0,
        timeout: float = 30,
    ) -> stripe.StripeClient:
        """A real stripe.StripeClient pointed at this simulator."""
        return stripe.StripeClient(
            api_key,
            stripe_account=stripe_account,
            base_addresses={"api": self.url, "connect": self.url, "files": self.url},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # The control API (/_sim/), one method per endpoint.

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"{self.url}/_sim/{path}", json=body, timeout=120)
        if response.status_code >= 500 or response.status_code in (400, 404):
            raise RuntimeError(f"{method} /_sim/{path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        self._control("POST", "reset")

    def configure_webhook(
        self,
        url: str,
        secret: str,
        connect_secret: str | None = None,
        connect_url: str | None = None,
    ) -> None:
        body = {"url": url, "secret": secret, "connect_secret": connect_secret}
        if connect_url:
            body["connect_url"] = connect_url
        self._control("POST", "webhook", body)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the faults in force (no arguments: none)."""
        return self._control("POST", "faults", faults)

    def set_rate_limit(self, requests_per_second: float) -> float:
        """Stripe's rate limit per API key from now on (0: none); ``reset`` restores the
        server's own (none, unless it was started with ``rate_limit``)."""
        body = {"requests_per_second": requests_per_second}
        return self._control("POST", "rate_limit", body)["requests_per_second"]

    def advance_clock(self, seconds: float) -> int:
        """Move the simulator's clock forward and run what fell due; returns its new now."""
        return self._control("POST", "clock", {"advance_seconds": seconds})["now"]

    def pay(
        self, session_id: str, card: str = "4242424242424242", ignore_expiry: bool = False
    ) -> dict[str, Any]:
        """Pay as the hosted page does: ``{"paid": True, "redirect_url", "session"}`` or
        ``{"paid": False, "error", "session"}``; raises when the session cannot be paid."""
        body = {"card": card, "ignore_expiry": ignore_expiry}
        answer = self._control("POST", f"checkout/sessions/{session_id}/pay", body)
        if "paid" not in answer:
            raise RuntimeError(answer["error"])
        return answer

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        return self._control("POST", f"accounts/{account_id}/complete_onboarding")

    def set_available_balance(
        self, account_id: str, available: int | None, currency: str | None = None
    ) -> dict[str, Any]:
        """Funds the account's refunds draw from (None: no limit, the default); a refund
        they do not cover stays pending. Answers ``{"available", "released"}``."""
        body: dict[str, Any] = {"available": available}
        if currency:
            body["currency"] = currency
        return self._control("POST", f"accounts/{account_id}/balance", body)

    def deliver(self, timeout: float = 30, fast_forward: bool = False) -> dict[str, int]:
        """Wait until every queued webhook delivery has been attempted to the end."""
        return self._control("POST", "deliver", {"timeout": timeout, "fast_forward": fast_forward})

    def deliveries(self) -> list[dict[str, Any]]:
        return self._control("GET", "deliveries")

    def stats(self) -> dict[str, int]:
        """API requests seen and faults injected (``injected_error``, …) since reset."""
        return self._control("GET", "stats")

    def events(self) -> list[dict[str, Any]]:
        """All events, platform and connected accounts, oldest first."""
        return self._control("GET", "events")
