"""The protocol through the real stripe SDK over HTTP: auth, Stripe-Account, idempotency,
errors and the Stripe exception each one becomes."""

import pytest
import requests
import stripe

from stripe_sim.tests.conftest import create_session, make_account, paid_session


def test_missing_or_wrong_api_key_is_401_authentication_error(sim):
    with pytest.raises(stripe.AuthenticationError) as caught:
        sim.client(api_key="sk_live_notatest").v1.balance.retrieve()
    assert caught.value.http_status == 401
    assert "sk_live_****" in caught.value.user_message
    answer = requests.get(f"{sim.url}/v1/balance", timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert answer.headers["Request-Id"].startswith("req_")


def test_basic_auth_as_curl_sends_it_is_accepted(sim):
    answer = requests.get(f"{sim.url}/v1/balance", auth=("sk_test_curl", ""), timeout=10)
    assert answer.status_code == 200


def test_bracket_parameters_arrive_nested_and_typed(client, account_id):
    session = create_session(
        client,
        account_id,
        line_items=[
            {
                "price_data": {
                    "currency": "GBP",
                    "unit_amount": 1250,
                    "product_data": {"name": "Seat A"},
                },
                "quantity": 3,
            },
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 500,
                    "product_data": {"name": "Programme"},
                },
                "quantity": 1,
            },
        ],
        metadata={"offer_id": "42", "event": "Concert & Co"},
    )
    assert session.amount_total == 3 * 1250 + 500
    assert session.currency == "gbp"
    assert session.metadata.to_dict() == {"offer_id": "42", "event": "Concert & Co"}
    items = client.v1.checkout.sessions.line_items.list(
        session.id, options={"stripe_account": account_id}
    )
    assert [(item.description, item.quantity) for item in items.data] == [
        ("Seat A", 3),
        ("Programme", 1),
    ]


def test_objects_of_a_connected_account_are_invisible_elsewhere(sim, client, account_id):
    other = make_account(client)
    sim.complete_onboarding(other.id)
    session, intent, charge = paid_session(sim, client, account_id)
    lookups = [
        (client.v1.checkout.sessions.retrieve, session.id),
        (client.v1.payment_intents.retrieve, intent.id),
        (client.v1.charges.retrieve, charge.id),
    ]
    for retrieve, object_id in lookups:
        assert retrieve(object_id, options={"stripe_account": account_id}).id == object_id
        for options in ({}, {"stripe_account": other.id}):
            with pytest.raises(stripe.InvalidRequestError) as caught:
                retrieve(object_id, options=options)
            assert caught.value.http_status == 404
            assert caught.value.code == "resource_missing"


def test_unknown_stripe_account_is_refused_as_stripe_does(client):
    with pytest.raises(stripe.PermissionError) as caught:
        client.v1.balance.retrieve(options={"stripe_account": "acct_doesnotexist"})
    assert caught.value.http_status == 403
    assert caught.value.json_body["error"]["code"] == "account_invalid"


def test_same_idempotency_key_and_body_replays_the_stored_answer(client):
    options = {"idempotency_key": "create-organiser-7"}
    params = {"type": "express", "email": "o7@example.com", "metadata": {"organiser": "7"}}
    first = client.v1.accounts.create(params=params, options=options)
    again = client.v1.accounts.create(params=params, options=options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(client.v1.accounts.list().data) == 1


def test_same_idempotency_key_with_another_body_is_an_idempotency_error(client):
    options = {"idempotency_key": "key-1"}
    client.v1.accounts.create(params={"type": "express"}, options=options)
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.accounts.create(
            params={"type": "express", "email": "x@example.com"}, options=options
        )
    assert caught.value.http_status == 400
    with pytest.raises(stripe.IdempotencyError):
        client.v1.account_links.create(
            params={"account": "acct_x", "type": "account_onboarding"}, options=options
        )


def test_idempotency_keys_are_scoped_to_the_account(sim, client, account_id):
    other = make_account(client)
    sim.complete_onboarding(other.id)
    options = {"idempotency_key": "checkout-offer-7"}
    first = client.v1.checkout.sessions.create(
        params={**_minimal_session()}, options={**options, "stripe_account": account_id}
    )
    second = client.v1.checkout.sessions.create(
        params={**_minimal_session()}, options={**options, "stripe_account": other.id}
    )
    assert first.id != second.id


def test_failed_validation_is_not_saved_under_the_key(client):
    options = {"idempotency_key": "retry-after-fix"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.create(params={"type": "express", "email": "nope"}, options=options)
    # Stripe saves no result for a request that failed validation: the fixed retry runs.
    fixed = client.v1.accounts.create(
        params={"type": "express", "email": "ok@example.com"}, options=options
    )
    assert fixed.email == "ok@example.com"


def test_invalid_request_names_the_parameter(client, account_id):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "https://x.example/ok"},
            options={"stripe_account": account_id},
        )
    assert caught.value.http_status == 400
    assert caught.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(params={"type": "express", "colour": "red"})
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "colour"


def test_card_error_is_402_with_decline_code(sim, client, account_id):
    session = create_session(client, account_id)
    # The control API answers a decline in Stripe's error shape, so the SDK reads it too.
    with pytest.raises(stripe.CardError) as caught:
        client.raw_request(
            "post", f"/_sim/checkout/sessions/{session.id}/pay", card="4000000000000002"
        )
    assert caught.value.http_status == 402
    assert caught.value.code == "card_declined"
    assert caught.value.error.decline_code == "generic_decline"


def test_rate_limit_and_server_error_map_to_their_exceptions(sim, client):
    sim.set_faults(rate_limit_rate=1.0)
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.balance.retrieve()
    assert limited.value.http_status == 429
    sim.set_faults(error_rate=1.0)
    with pytest.raises(stripe.APIError) as failed:
        client.v1.balance.retrieve()
    assert failed.value.http_status == 500


def test_unknown_url_or_method_is_a_stripe_404(sim, client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.raw_request("get", "/v1/customers")
    assert caught.value.http_status == 404
    assert "Unrecognized request URL" in caught.value.user_message
    answer = requests.delete(f"{sim.url}/v1/balance", auth=("sk_test_x", ""), timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_expand_replaces_ids_with_objects(sim, client, account_id):
    session, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id}
    expanded = client.v1.checkout.sessions.retrieve(
        session.id,
        params={"expand": ["payment_intent.latest_charge", "line_items"]},
        options=options,
    )
    assert expanded.payment_intent.id == intent.id
    assert expanded.payment_intent.latest_charge.id == charge.id
    assert expanded.line_items.data[0].quantity == 2
    plain = client.v1.checkout.sessions.retrieve(session.id, options=options)
    assert plain.payment_intent == intent.id
    assert "line_items" not in plain
    listed = client.v1.checkout.sessions.list(
        params={"expand": ["data.payment_intent"]}, options=options
    )
    assert listed.data[0].payment_intent.id == intent.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.retrieve(charge.id, params={"expand": ["nonsense"]}, options=options)


def _minimal_session() -> dict:
    return {
        "mode": "payment",
        "success_url": "https://tickets.example/ok",
        "line_items": [
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 1000,
                    "product_data": {"name": "T"},
                },
                "quantity": 1,
            }
        ],
    }
