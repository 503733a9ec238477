"""Stripe's rate limit: N requests a second per API key, 429 rate_limit over it, never on
the hosted pages or the control API, and off in test servers unless asked for."""

import time

import pytest
import requests
import stripe

from stripe_sim.ratelimit import RateLimiter
from stripe_sim.settings import SimulatorSettings
from stripe_sim.testing import SimulatorServer
from stripe_sim.tests.conftest import FAST, create_session, paid_session


def burst(client: stripe.StripeClient, count: int) -> list[str]:
    """``count`` cheap requests one after another: "ok" or "limited" for each."""
    outcomes = []
    for _ in range(count):
        try:
            client.v1.balance.retrieve()
            outcomes.append("ok")
        except stripe.RateLimitError:
            outcomes.append("limited")
    return outcomes


def test_the_window_slides_over_one_second_per_key():
    now = [100.0]
    limiter = RateLimiter(3, now=lambda: now[0])
    assert [limiter.admit("sk_a") for _ in range(4)] == [True, True, True, False]
    assert limiter.admit("sk_b")  # another key has its own window
    now[0] += 0.5
    assert not limiter.admit("sk_a")  # refused requests do not count, but 3 are still recent
    now[0] += 0.5
    assert [limiter.admit("sk_a") for _ in range(4)] == [True, True, True, False]
    assert all(RateLimiter(0).admit("sk_a") for _ in range(1000))  # 0: no limit


def test_over_the_limit_the_sdk_raises_rate_limit_error(sim):
    sim.set_rate_limit(5)
    outcomes = burst(sim.client(), 20)
    assert outcomes[:5] == ["ok"] * 5  # a fresh window lets the first five through
    assert "limited" in outcomes
    with pytest.raises(stripe.RateLimitError) as caught:
        for _ in range(20):
            sim.client().v1.balance.retrieve()
    error = caught.value
    assert error.http_status == 429
    assert (error.error.code, error.error.type) == ("rate_limit", "invalid_request_error")
    assert error.headers["Request-Id"].startswith("req_")
    # Stripe asks no retry of a rate-limited request (only of a 429 lock timeout), so the
    # SDK's own retries leave it alone: the caller has to back off.
    assert "Stripe-Should-Retry" not in error.headers
    assert sim.stats()["rate_limited"] >= 1


def test_the_sdk_does_not_retry_a_rate_limited_request(sim):
    sim.set_rate_limit(1)
    client = sim.client(max_network_retries=3)
    client.v1.balance.retrieve()
    with pytest.raises(stripe.RateLimitError):
        client.v1.balance.retrieve()
    assert sim.stats() == {"api_requests": 2, "rate_limited": 1}


def test_requests_pass_again_once_the_second_is_over(sim):
    sim.set_rate_limit(2)
    client = sim.client()
    assert burst(client, 4)[-1] == "limited"
    time.sleep(1.05)
    assert burst(client, 2) == ["ok", "ok"]


def test_each_api_key_has_its_own_limit(sim):
    sim.set_rate_limit(2)
    assert burst(sim.client("sk_test_first"), 4)[-1] == "limited"
    assert burst(sim.client("sk_test_second"), 2) == ["ok", "ok"]


def test_calls_on_connected_accounts_count_against_the_platform_key(sim, client, account_id):
    sim.set_rate_limit(2)
    options = {"stripe_account": account_id}
    client.v1.balance.retrieve()
    client.v1.balance.retrieve(options=options)
    with pytest.raises(stripe.RateLimitError):
        client.v1.refunds.list(options=options)


def test_a_rate_limited_refund_changes_nothing(sim, client, account_id, receiver):
    _, intent, _ = paid_session(sim, client, account_id)
    sim.deliver()
    delivered_before = len(receiver.received)
    sim.set_rate_limit(1)  # a new limit starts with a fresh window
    options = {"stripe_account": account_id, "idempotency_key": "cancel-event-7-order-1"}
    client.v1.balance.retrieve()  # uses up the second
    with pytest.raises(stripe.RateLimitError):
        client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    sim.set_rate_limit(0)
    assert client.v1.refunds.list(options={"stripe_account": account_id}).data == []
    sim.deliver()
    assert len(receiver.received) == delivered_before
    # The same key then runs the refund: nothing was stored for the refused attempt.
    refund = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    assert refund.status == "succeeded"
    assert "Idempotent-Replayed" not in refund.last_response.headers


def test_hosted_pages_and_the_control_api_are_not_limited(sim, client, account_id, visitor):
    session = create_session(client, account_id)
    sim.set_rate_limit(1)
    # Even with the API key the client uses: only /v1 counts.
    visitor.headers["Authorization"] = "Bearer sk_test_sim"
    for _ in range(5):
        assert visitor.get(session.url, timeout=10).status_code == 200
        assert visitor.get(f"{sim.url}/_sim/rate_limit", timeout=10).status_code == 200
    assert sim.pay(session.id)["paid"] is True


def test_reset_restores_the_servers_own_limit(sim):
    assert requests.get(f"{sim.url}/_sim/rate_limit", timeout=10).json() == {
        "requests_per_second": 0
    }
    sim.set_rate_limit(3)
    sim.reset()
    assert burst(sim.client(), 30) == ["ok"] * 30


def test_control_api_refuses_a_bad_limit(sim):
    for body in ({"requests_per_second": -1}, {"requests_per_second": "many"}, {"rps": 3}):
        answer = requests.post(f"{sim.url}/_sim/rate_limit", json=body, timeout=10)
        assert answer.status_code == 400, body
    answer = requests.post(f"{sim.url}/_sim/rate_limit", data={"requests_per_second": "7"})
    assert answer.json() == {"requests_per_second": 7}


def test_stripes_test_mode_limit_is_the_default_outside_test_servers():
    assert SimulatorSettings().rate_limit == 25
    assert SimulatorSettings.from_env({}).rate_limit == 25
    assert SimulatorSettings.from_env({"STRIPE_SIM_RATE_LIMIT": "0"}).rate_limit == 0
    with pytest.raises(ValueError):
        SimulatorSettings.from_env({"STRIPE_SIM_RATE_LIMIT": "-5"})


def test_a_test_server_started_with_a_limit_keeps_it_across_reset():
    settings = SimulatorSettings.from_env({"STRIPE_SIM_RATE_LIMIT": "3"}, **FAST)
    with SimulatorServer(settings, rate_limit=3) as server:
        assert "limited" in burst(server.client(), 10)
        server.reset()
        time.sleep(1.05)
        outcomes = burst(server.client(), 10)
        assert outcomes[:3] == ["ok"] * 3
        assert "limited" in outcomes
    with SimulatorServer(settings) as server:  # the environment's limit does not apply
        assert burst(server.client(), 30) == ["ok"] * 30
