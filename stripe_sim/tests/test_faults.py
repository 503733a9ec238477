"""Faults on demand: they hit /v1 only, a refused request changes nothing, and webhook
deliveries can be duplicated, reordered, delayed or dropped."""

import time

import pytest
import requests
import stripe

from stripe_sim.settings import SimulatorSettings
from stripe_sim.testing import SimulatorServer
from stripe_sim.tests.conftest import FAST, create_session, make_account, paid_session


def test_latency_slows_the_api_but_not_the_control_api(sim, client):
    sim.set_faults(latency_ms=300)
    started = time.monotonic()
    client.v1.balance.retrieve()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    requests.get(f"{sim.url}/_sim/faults", timeout=10)
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("fault", "exception", "status"),
    [("error_rate", stripe.APIError, 500), ("rate_limit_rate", stripe.RateLimitError, 429)],
)
def test_refused_requests_change_nothing(sim, client, fault, exception, status):
    sim.set_faults(**{fault: 1.0})
    with pytest.raises(exception) as caught:
        make_account(client)
    assert caught.value.http_status == status
    assert caught.value.headers["Request-Id"].startswith("req_")
    sim.set_faults()
    assert client.v1.accounts.list().data == []


def test_faults_leave_hosted_pages_and_control_api_alone(sim, client, account_id, visitor):
    session = create_session(client, account_id)
    sim.set_faults(error_rate=1.0)
    assert visitor.get(session.url, timeout=10).status_code == 200
    assert sim.pay(session.id)["paid"] is True
    assert len(sim.events()) > 0


def test_a_share_of_requests_fails(sim, client):
    sim.set_faults(error_rate=0.5)
    outcomes = set()
    for _ in range(40):
        try:
            client.v1.balance.retrieve()
            outcomes.add("ok")
        except stripe.APIError:
            outcomes.add("error")
    assert outcomes == {"ok", "error"}


def test_sdk_retries_a_500_when_asked_to(sim):
    sim.set_faults(error_rate=1.0)
    with pytest.raises(stripe.APIError):
        sim.client(max_network_retries=2).v1.balance.retrieve()
    assert sim.stats() == {"api_requests": 3, "injected_error": 3}


def test_timeout_before_processing_changes_nothing(sim):
    sim.set_faults(timeout_rate=1.0, timeout_seconds=5)
    impatient = sim.client(timeout=0.5)
    with pytest.raises(stripe.APIConnectionError):
        make_account(impatient)
    sim.set_faults()
    assert sim.client().v1.accounts.list().data == []


def test_timeout_after_processing_is_what_idempotency_keys_are_for(sim):
    sim.set_faults(timeout_rate=1.0, timeout_seconds=5, timeout_mode="after")
    options = {"idempotency_key": "create-organiser-1"}
    params = {"type": "express", "email": "o1@example.com"}
    with pytest.raises(stripe.APIConnectionError):
        sim.client(timeout=0.5).v1.accounts.create(params=params, options=options)
    sim.set_faults()
    client = sim.client()
    retried = client.v1.accounts.create(params=params, options=options)
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert [account.id for account in client.v1.accounts.list().data] == [retried.id]


def test_duplicate_deliveries_repeat_the_same_event(sim, client, account_id, receiver):
    sim.set_faults(webhook_duplicate_rate=1.0)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    sim.deliver()
    payloads = receiver.payloads()
    assert len(payloads) == 2
    assert payloads[0] == payloads[1]
    assert sorted(a["duplicate"] for a in sim.deliveries()) == [False, True]
    receiver.verified_events()  # both copies carry a valid signature


def test_out_of_order_delivery_shuffles_a_batch(sim, client, account_id, receiver):
    sim.set_faults(webhook_out_of_order=True)
    paid_session(sim, client, account_id)
    sim.deliver()
    emitted = [event["id"] for event in sim.events() if event["type"] != "account.updated"]
    received = [payload["id"] for payload in receiver.payloads()]
    assert sorted(received) == sorted(emitted)
    assert received != emitted


def test_delayed_delivery_waits_before_the_first_attempt(sim, client, account_id, receiver):
    sim.set_faults(webhook_delay_seconds=0.5)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    time.sleep(0.2)
    assert receiver.received == []
    sim.deliver()
    assert receiver.types() == ["checkout.session.expired"]


def test_dropped_events_are_never_delivered_but_still_listed(sim, client, account_id, receiver):
    sim.set_faults(webhook_drop_rate=1.0)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    sim.deliver()
    assert receiver.received == []
    assert [a["dropped"] for a in sim.deliveries()] == [True]
    listed = client.v1.events.list(options={"stripe_account": account_id})
    assert listed.data[0].type == "checkout.session.expired"
    assert listed.data[0].pending_webhooks == 1


def test_late_payment_completes_an_expired_session(sim, client, account_id, receiver):
    session = create_session(client, account_id)
    sim.advance_clock(24 * 3600 + 1)
    with pytest.raises(RuntimeError, match="expired"):
        sim.pay(session.id)
    result = sim.pay(session.id, ignore_expiry=True)
    assert result["paid"] is True
    assert result["session"]["status"] == "complete"
    sim.deliver()
    session_events = [t for t in receiver.types() if t.startswith("checkout.session.")]
    assert session_events == ["checkout.session.expired", "checkout.session.completed"]


def test_late_payment_fault_lets_the_hosted_page_take_payment(sim, client, account_id, visitor):
    # Over Stripe's 30-minute minimum (exactly 30 is refused if the second turns meanwhile).
    session = create_session(client, account_id, expires_at=int(time.time()) + 1860)
    sim.advance_clock(1861)
    sim.set_faults(late_payment=True)
    page = visitor.get(session.url, timeout=10)
    assert page.status_code == 200
    paid = visitor.post(
        session.url, data={"card_number": "4242424242424242"}, allow_redirects=False, timeout=10
    )
    assert paid.status_code == 303


def test_faults_from_the_environment_survive_reset():
    settings = SimulatorSettings.from_env({"STRIPE_SIM_FAULTS": '{"rate_limit_rate": 1}'}, **FAST)
    with SimulatorServer(settings) as server:
        with pytest.raises(stripe.RateLimitError):
            server.client().v1.balance.retrieve()
        server.set_faults()
        server.client().v1.balance.retrieve()
        server.reset()
        assert requests.get(f"{server.url}/_sim/faults", timeout=10).json()["rate_limit_rate"] == 1


def test_control_api_refuses_unknown_faults(sim):
    answer = requests.post(f"{sim.url}/_sim/faults", json={"error_rat": 1}, timeout=10)
    assert answer.status_code == 400
    assert "error_rat" in answer.json()["error"]
