"""Contract tests: the simulator's answers and webhook payloads against Stripe's spec.

One scenario walks every operation of the bundled OpenAPI subset through the real SDK and
keeps each raw JSON answer; each operation is then checked on its own (every field the
spec requires is present with its type, and no field is one the spec does not know).
"""

import collections
from typing import Any

import pytest
import requests

from stripe_sim import spec
from stripe_sim.tests.conftest import (
    CONNECT_SECRET,
    PLATFORM_SECRET,
    WebhookReceiver,
    create_session,
    make_account,
)
from stripe_sim.tests.spec_check import check_operation, problems

ALL_OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in spec.load_spec()["paths"].items()
    for method in operations
    if method in ("get", "post", "delete")
)
EVENT_OBJECTS = {
    "checkout.session",
    "account",
    "charge",
    "refund",
    "payment_intent",
    "application_fee",
}


class Recorder:
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)

    def __call__(self, method: str, path: str, stripe_object: Any) -> Any:
        self.answers[(method, path)].append(stripe_object.last_response.data)
        return stripe_object


def walk_every_operation(server, record: Recorder) -> None:
    client = server.client()
    account = record("POST", "/v1/accounts", make_account(client, metadata={"organiser_id": "1"}))
    record("GET", "/v1/accounts/{account}", client.v1.accounts.retrieve(account.id))
    record(
        "POST",
        "/v1/accounts/{account}",
        client.v1.accounts.update(account.id, params={"metadata": {"tier": "gold"}}),
    )
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://tickets.example/refresh",
            "return_url": "https://tickets.example/return",
        }
    )
    record("POST", "/v1/account_links", link)
    server.complete_onboarding(account.id)
    record("GET", "/v1/accounts/{account}", client.v1.accounts.retrieve(account.id))
    record("GET", "/v1/accounts", client.v1.accounts.list())
    record(
        "POST",
        "/v1/accounts/{account}/login_links",
        client.v1.accounts.login_links.create(account.id),
    )
    doomed = make_account(client)
    record("DELETE", "/v1/accounts/{account}", client.v1.accounts.delete(doomed.id))
    _walk_checkout(server, client, record, account.id)
    _walk_money(server, client, record, account.id)


def _walk_checkout(server, client, record: Recorder, account_id: str) -> None:
    options = {"stripe_account": account_id}
    session = record("POST", "/v1/checkout/sessions", create_session(client, account_id))
    spare = record("POST", "/v1/checkout/sessions", create_session(client, account_id))
    record(
        "GET",
        "/v1/checkout/sessions/{session}/line_items",
        client.v1.checkout.sessions.line_items.list(session.id, options=options),
    )
    record(
        "POST",
        "/v1/checkout/sessions/{session}/expire",
        client.v1.checkout.sessions.expire(spare.id, options=options),
    )
    server.pay(session.id, card="4000000000009995")
    declined = client.v1.checkout.sessions.retrieve(session.id, options=options)
    record(
        "GET",
        "/v1/payment_intents/{intent}",
        client.v1.payment_intents.retrieve(declined.payment_intent, options=options),
    )
    failed_charge = client.v1.payment_intents.retrieve(
        declined.payment_intent, options=options
    ).latest_charge
    record(
        "GET", "/v1/charges/{charge}", client.v1.charges.retrieve(failed_charge, options=options)
    )
    server.pay(session.id)
    for expand in ([], ["payment_intent.latest_charge", "line_items"]):
        record(
            "GET",
            "/v1/checkout/sessions/{session}",
            client.v1.checkout.sessions.retrieve(
                session.id, params={"expand": expand}, options=options
            ),
        )
    record("GET", "/v1/checkout/sessions", client.v1.checkout.sessions.list(options=options))


def _walk_money(server, client, record: Recorder, account_id: str) -> None:
    options = {"stripe_account": account_id}
    session = create_session(client, account_id)
    server.pay(session.id, card="4000000000005126")  # its refunds fail later
    intent_id = client.v1.checkout.sessions.retrieve(session.id, options=options).payment_intent
    intent = record(
        "GET",
        "/v1/payment_intents/{intent}",
        client.v1.payment_intents.retrieve(intent_id, options=options),
    )
    record(
        "POST",
        "/v1/payment_intents/{intent}",
        client.v1.payment_intents.update(
            intent_id, params={"metadata": {"seen": "1"}}, options=options
        ),
    )
    record(
        "POST",
        "/v1/charges/{charge}",
        client.v1.charges.update(
            intent.latest_charge, params={"metadata": {"seen": "1"}}, options=options
        ),
    )
    refund = record(
        "POST",
        "/v1/refunds",
        client.v1.refunds.create(
            params={"payment_intent": intent_id, "amount": 1000, "refund_application_fee": True},
            options=options,
        ),
    )
    record(
        "POST",
        "/v1/refunds/{refund}",
        client.v1.refunds.update(refund.id, params={"metadata": {"why": "test"}}, options=options),
    )
    server.advance_clock(5)  # the 5126 refund turns failed
    record("GET", "/v1/refunds/{refund}", client.v1.refunds.retrieve(refund.id, options=options))
    server.set_available_balance(account_id, 0)
    held = record(
        "POST",
        "/v1/refunds",
        client.v1.refunds.create(
            params={"payment_intent": intent_id, "amount": 500}, options=options
        ),
    )
    assert held.status == "pending"
    record("GET", "/v1/refunds/{refund}", client.v1.refunds.retrieve(held.id, options=options))
    record("GET", "/v1/refunds", client.v1.refunds.list(options=options))
    charge = record(
        "GET",
        "/v1/charges/{charge}",
        client.v1.charges.retrieve(
            intent.latest_charge, params={"expand": ["refunds"]}, options=options
        ),
    )
    record(
        "GET",
        "/v1/application_fees/{id}",
        client.v1.application_fees.retrieve(charge.application_fee),
    )
    record("GET", "/v1/balance", client.v1.balance.retrieve(options=options))
    record("GET", "/v1/balance", client.v1.balance.retrieve())
    events = record("GET", "/v1/events", client.v1.events.list(options=options))
    record("GET", "/v1/events", client.v1.events.list())
    record("GET", "/v1/events/{id}", client.v1.events.retrieve(events.data[0].id, options=options))


@pytest.fixture(scope="module")
def contract_run(sim_server):
    sim_server.reset()
    receiver = WebhookReceiver()
    try:
        sim_server.configure_webhook(receiver.url, PLATFORM_SECRET, CONNECT_SECRET)
        record = Recorder()
        walk_every_operation(sim_server, record)
        sim_server.deliver()
        yield record.answers, receiver.payloads()
    finally:
        receiver.close()
        sim_server.reset()


def test_the_scenario_covers_every_operation_of_the_spec(contract_run):
    answers, _ = contract_run
    assert sorted(answers) == ALL_OPERATIONS


@pytest.mark.parametrize(("method", "path"), ALL_OPERATIONS)
def test_answers_fit_the_spec(contract_run, method, path):
    answers, _ = contract_run
    found = [
        problem
        for body in answers[(method, path)]
        for problem in check_operation(method, path, body)
    ]
    assert found == []


def test_webhook_payloads_fit_the_event_schema_and_their_objects_schema(contract_run):
    _, payloads = contract_run
    kinds = {payload["data"]["object"]["object"] for payload in payloads}
    assert kinds == EVENT_OBJECTS
    found = []
    for payload in payloads:
        found += problems("event", payload, payload["type"])
        data_object = payload["data"]["object"]
        found += problems(data_object["object"], data_object, f"{payload['type']}.data.object")
    assert found == []


def test_emitted_event_types(contract_run):
    _, payloads = contract_run
    assert {payload["type"] for payload in payloads} >= {
        "account.updated",
        "checkout.session.completed",
        "checkout.session.expired",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refund.updated",
    }


def test_error_answers_fit_the_error_schema(sim):
    answers = [
        requests.get(f"{sim.url}/v1/balance", timeout=10),
        requests.get(f"{sim.url}/v1/charges/ch_nope", auth=("sk_test_x", ""), timeout=10),
        requests.post(
            f"{sim.url}/v1/accounts", data={"colour": "red"}, auth=("sk_test_x", ""), timeout=10
        ),
    ]
    sim.set_rate_limit(1)
    answers += [
        requests.get(f"{sim.url}/v1/balance", auth=("sk_test_x", ""), timeout=10) for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [401, 404, 400, 200, 429]
    for answer in answers[:3] + answers[4:]:
        assert problems("error", answer.json()) == []
