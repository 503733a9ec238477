"""Fixtures for the simulator's own tests: a running simulator, a client, a webhook
receiver. No database: these are plain pytest tests."""

import collections
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from stripe_sim.settings import SimulatorSettings
from stripe_sim.testing import SimulatorServer

PLATFORM_SECRET = "whsec_platform_test"
CONNECT_SECRET = "whsec_connect_test"
# Short back-off and a fast ticker keep the whole run quick.
FAST = {
    "webhook_base_delay": 0.02,
    "webhook_max_attempts": 4,
    "webhook_timeout": 5.0,
    "expiry_interval": 0.2,
}


@pytest.fixture(scope="session")
def sim_server():
    with SimulatorServer(SimulatorSettings(**FAST)) as server:
        yield server


@pytest.fixture
def sim(sim_server):
    """The shared simulator, emptied: no objects, no faults, no webhook endpoint."""
    sim_server.reset()
    yield sim_server
    sim_server.reset()


@pytest.fixture
def client(sim) -> stripe.StripeClient:
    return sim.client()


@pytest.fixture
def visitor():
    """A plain HTTP client standing in for a person's browser on the hosted pages."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


class WebhookReceiver:
    """A tiny webhook endpoint: records every request and answers with the statuses it is
    told to (200 once the list runs out)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._statuses: collections.deque[int] = collections.deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    status = receiver._statuses.popleft() if receiver._statuses else 200
                    receiver.received.append({"body": body, "headers": dict(self.headers)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def respond_with(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(request["body"]) for request in self.received]

    def types(self) -> list[str]:
        return [payload["type"] for payload in self.payloads()]

    def verified_events(self) -> list[stripe.Event]:
        """Every delivery, checked with stripe-python's own signature verification and the
        secret of the endpoint its kind goes to (Connect events: the Connect secret)."""
        with self._lock:
            received = list(self.received)
        events = []
        for request in received:
            secret = CONNECT_SECRET if "account" in json.loads(request["body"]) else PLATFORM_SECRET
            signature = request["headers"]["Stripe-Signature"]
            events.append(stripe.Webhook.construct_event(request["body"], signature, secret))
        return events

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver(sim):
    endpoint = WebhookReceiver()
    sim.configure_webhook(endpoint.url, PLATFORM_SECRET, CONNECT_SECRET)
    yield endpoint
    endpoint.close()


def make_account(client: stripe.StripeClient, **params: Any) -> stripe.Account:
    defaults = {
        "type": "express",
        "country": "GB",
        "email": "organiser@example.com",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
    }
    return client.v1.accounts.create(params={**defaults, **params})


@pytest.fixture
def account_id(sim, client) -> str:
    """A connected account that finished onboarding and can take payments."""
    account = make_account(client)
    sim.complete_onboarding(account.id)
    return account.id


def session_params(**overrides: Any) -> dict[str, Any]:
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 2500,
                    "product_data": {"name": "General admission"},
                },
                "quantity": 2,
            }
        ],
        "payment_intent_data": {"application_fee_amount": 50, "metadata": {"offer_id": "7"}},
        "metadata": {"offer_id": "7"},
        "client_reference_id": "offer-7",
        "customer_email": "buyer@example.com",
        "success_url": "https://tickets.example/paid?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://tickets.example/cancelled",
    }
    params.update(overrides)
    return params


def create_session(client: stripe.StripeClient, account_id: str | None, **overrides: Any):
    options = {"stripe_account": account_id} if account_id else {}
    return client.v1.checkout.sessions.create(params=session_params(**overrides), options=options)


def paid_session(sim, client, account_id: str):
    """A session paid with 4242 (5000 minor units, fee 50): returns (session, intent, charge)."""
    session = create_session(client, account_id)
    sim.pay(session.id)
    options = {"stripe_account": account_id}
    session = client.v1.checkout.sessions.retrieve(session.id, options=options)
    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=options)
    charge = client.v1.charges.retrieve(intent.latest_charge, options=options)
    return session, intent, charge
