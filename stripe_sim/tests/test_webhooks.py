"""Events and their delivery: Stripe's signature, both secrets, retries, /v1/events."""

import json

import pytest
import stripe

from stripe_sim.tests.conftest import (
    CONNECT_SECRET,
    PLATFORM_SECRET,
    WebhookReceiver,
    create_session,
    paid_session,
)


def test_connect_and_platform_events_are_signed_with_their_own_secret(
    sim, client, account_id, receiver
):
    connected = create_session(client, account_id)
    platform = create_session(client, None, payment_intent_data={})
    client.v1.checkout.sessions.expire(connected.id, options={"stripe_account": account_id})
    client.v1.checkout.sessions.expire(platform.id)
    sim.deliver()
    by_session = {}
    for request in receiver.received:
        payload = json.loads(request["body"])
        by_session[payload["data"]["object"]["id"]] = request
    connect_request, platform_request = by_session[connected.id], by_session[platform.id]
    event = stripe.Webhook.construct_event(
        connect_request["body"], connect_request["headers"]["Stripe-Signature"], CONNECT_SECRET
    )
    assert (event.type, event.account) == ("checkout.session.expired", account_id)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            connect_request["body"], connect_request["headers"]["Stripe-Signature"], PLATFORM_SECRET
        )
    event = stripe.Webhook.construct_event(
        platform_request["body"], platform_request["headers"]["Stripe-Signature"], PLATFORM_SECRET
    )
    assert "account" not in event
    assert platform_request["headers"]["Content-Type"].startswith("application/json")


def test_event_has_stripes_shape(sim, client, account_id, receiver):
    paid_session(sim, client, account_id)
    sim.deliver()
    completed = next(p for p in receiver.payloads() if p["type"] == "checkout.session.completed")
    assert completed["id"].startswith("evt_")
    assert completed["object"] == "event"
    assert completed["livemode"] is False
    assert completed["api_version"] == "2024-04-10"
    assert completed["pending_webhooks"] == 1
    assert completed["account"] == account_id
    assert completed["data"]["object"]["status"] == "complete"
    assert set(completed["request"]) == {"id", "idempotency_key"}


def test_failed_deliveries_are_retried_until_the_endpoint_answers_2xx(
    sim, client, account_id, receiver
):
    receiver.respond_with(500, 503)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    counts = sim.deliver()
    assert counts["pending"] == 0
    attempts = [(a["attempt"], a["status_code"], a["delivered"]) for a in sim.deliveries()]
    assert attempts == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert len({json.loads(r["body"])["id"] for r in receiver.received}) == 1
    event_id = sim.deliveries()[0]["event_id"]
    event = client.v1.events.retrieve(event_id, options={"stripe_account": account_id})
    assert event.pending_webhooks == 0


def test_delivery_gives_up_after_max_attempts(sim, client, account_id, receiver):
    receiver.respond_with(*[500] * 10)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    sim.deliver()
    assert [a["status_code"] for a in sim.deliveries()] == [500, 500, 500, 500]  # 4 in tests
    event = client.v1.events.list(options={"stripe_account": account_id}).data[0]
    assert event.pending_webhooks == 1


def test_unreachable_endpoint_counts_as_a_failed_attempt(sim, client, account_id):
    sim.configure_webhook("http://127.0.0.1:9/nothing-listens", PLATFORM_SECRET, CONNECT_SECRET)
    session = create_session(client, account_id)
    client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
    sim.deliver()
    attempts = sim.deliveries()
    assert len(attempts) == 4
    assert all(a["status_code"] is None and a["error"] for a in attempts)


def test_connect_events_need_a_connect_secret(sim, client, account_id):
    receiver = WebhookReceiver()
    try:
        sim.configure_webhook(receiver.url, PLATFORM_SECRET)
        session = create_session(client, account_id)
        client.v1.checkout.sessions.expire(session.id, options={"stripe_account": account_id})
        sim.deliver()
        assert receiver.received == []
        event = client.v1.events.list(options={"stripe_account": account_id}).data[0]
        assert event.pending_webhooks == 0
    finally:
        receiver.close()


def test_connect_events_can_go_to_their_own_url(sim, client, account_id):
    platform, connect = WebhookReceiver(), WebhookReceiver()
    try:
        sim.configure_webhook(
            platform.url, PLATFORM_SECRET, CONNECT_SECRET, connect_url=connect.url
        )
        paid_session(sim, client, account_id)
        sim.deliver()
        assert platform.types() == ["application_fee.created"]
        assert "checkout.session.completed" in connect.types()
        assert all(event.account == account_id for event in connect.verified_events())
        platform.verified_events()
    finally:
        platform.close()
        connect.close()


def test_events_list_newest_first_with_cursor_and_type_filter(sim, client, account_id):
    options = {"stripe_account": account_id}
    sessions = [create_session(client, account_id) for _ in range(3)]
    for session in sessions:
        client.v1.checkout.sessions.expire(session.id, options=options)
    events = client.v1.events.list(params={"type": "checkout.session.expired"}, options=options)
    assert [e.data.object.id for e in events.data] == [s.id for s in reversed(sessions)]
    page = client.v1.events.list(params={"limit": 1, "type": "checkout.session.*"}, options=options)
    assert page.has_more is True
    rest = client.v1.events.list(
        params={"starting_after": page.data[0].id, "type": "checkout.session.expired"},
        options=options,
    )
    assert [e.data.object.id for e in rest.data] == [sessions[1].id, sessions[0].id]
    assert client.v1.events.list(params={"type": "charge.refunded"}, options=options).data == []
    # Connect events belong to the account: the platform's own list does not show them.
    assert all(e.type != "checkout.session.expired" for e in client.v1.events.list().data)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve(events.data[0].id)


def test_event_data_is_a_snapshot_of_that_moment(sim, client, account_id):
    _, intent, _ = paid_session(sim, client, account_id)
    client.v1.refunds.create(
        params={"payment_intent": intent.id}, options={"stripe_account": account_id}
    )
    succeeded = next(e for e in sim.events() if e["type"] == "charge.succeeded")
    refunded = next(e for e in sim.events() if e["type"] == "charge.refunded")
    assert succeeded["data"]["object"]["amount_refunded"] == 0
    assert refunded["data"]["object"]["amount_refunded"] == 5000
