"""Running the simulator: the state file, several instances, ``python -m stripe_sim``."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from stripe_sim.settings import SimulatorSettings
from stripe_sim.testing import SimulatorServer
from stripe_sim.tests.conftest import FAST, create_session, make_account, paid_session


def test_state_file_keeps_accounts_sessions_and_keys_across_restarts(tmp_path):
    state = str(tmp_path / "stripe-sim.sqlite3")
    with SimulatorServer(SimulatorSettings(state_file=state, **FAST)) as first:
        client = first.client()
        account = client.v1.accounts.create(
            params={
                "type": "express",
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
            },
            options={"idempotency_key": "organiser-1"},
        )
        first.complete_onboarding(account.id)
        session = create_session(client, account.id)
        first.advance_clock(600)
    with SimulatorServer(SimulatorSettings(state_file=state, **FAST)) as second:
        client = second.client()
        again = client.v1.accounts.retrieve(account.id)
        assert again.charges_enabled is True
        options = {"stripe_account": account.id}
        assert client.v1.checkout.sessions.retrieve(session.id, options=options).status == "open"
        replay = client.v1.accounts.create(
            params={
                "type": "express",
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
            },
            options={"idempotency_key": "organiser-1"},
        )
        assert replay.id == account.id
        assert second.simulator.clock.offset >= 600
        assert second.pay(session.id)["paid"] is True


def test_state_file_keeps_held_refunds_and_the_available_balance(tmp_path):
    state = str(tmp_path / "stripe-sim.sqlite3")
    with SimulatorServer(SimulatorSettings(state_file=state, **FAST)) as first:
        client = first.client()
        account = make_account(client)
        first.complete_onboarding(account.id)
        _, intent, _ = paid_session(first, client, account.id)
        first.set_available_balance(account.id, 1000)
        options = {"stripe_account": account.id}
        covered = client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 600}, options=options
        )
        held = client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 1000}, options=options
        )
        assert (covered.status, held.status) == ("succeeded", "pending")
    with SimulatorServer(SimulatorSettings(state_file=state, **FAST)) as second:
        balance = second.client().v1.balance.retrieve(options=options)
        assert [(funds.currency, funds.amount) for funds in balance.available] == [("gbp", 400)]
        answer = second.set_available_balance(account.id, 1000)
        assert answer["released"] == [held.id]
        refund = second.client().v1.refunds.retrieve(held.id, options=options)
        assert refund.status == "succeeded"


def test_two_simulators_in_one_process_are_independent():
    with SimulatorServer(**FAST) as one, SimulatorServer(**FAST) as two:
        make_account(one.client())
        assert len(one.client().v1.accounts.list().data) == 1
        assert two.client().v1.accounts.list().data == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_python_dash_m_runs_the_simulator(tmp_path):
    port = _free_port()
    command = [
        sys.executable, "-m", "stripe_sim", "--host", "127.0.0.1", "--port", str(port),
        "--public-url", "http://sim.test:8000", "--log-level", "warning",
    ]  # fmt: skip
    repository = Path(__file__).resolve().parents[2]
    environment = {k: v for k, v in os.environ.items() if k != "STRIPE_SIM_RATE_LIMIT"}
    process = subprocess.Popen(
        command, cwd=repository, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/_sim/faults", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "python -m stripe_sim did not start"
                time.sleep(0.1)
        answer = requests.post(
            f"{url}/v1/accounts", data={"type": "express"}, auth=("sk_test_x", ""), timeout=10
        )
        assert answer.status_code == 200
        link = requests.post(
            f"{url}/v1/account_links",
            data={
                "account": answer.json()["id"],
                "type": "account_onboarding",
                "refresh_url": "https://t.example/r",
                "return_url": "https://t.example/ok",
            },
            auth=("sk_test_x", ""),
            timeout=10,
        )
        assert link.json()["url"].startswith("http://sim.test:8000/hosted/onboarding/")
        # Stripe's test-mode rate limit, unlike the test servers: what bin/start runs with.
        limit = requests.get(f"{url}/_sim/rate_limit", timeout=10).json()
        assert limit == {"requests_per_second": 25}
    finally:
        process.terminate()
        process.wait(timeout=10)
