"""Unit tests of the wire protocol pieces, without a server."""

import time

import pytest
import stripe
from stripe._encode import _api_encode

from stripe_sim.faults import Faults
from stripe_sim.params import validate_params
from stripe_sim.protocol import StripeError, authenticate, parse_form, redact_key
from stripe_sim.settings import SimulatorSettings
from stripe_sim.webhooks import signature_header


def sdk_encoded(params: dict) -> str:
    """The body stripe-python sends for ``params``, from its own encoder."""
    from urllib.parse import urlencode

    return urlencode(list(_api_encode(params)))


def test_parse_form_reads_what_the_sdk_encodes():
    params = {
        "line_items": [
            {"price_data": {"currency": "gbp", "unit_amount": 2500}, "quantity": 2},
            {"price_data": {"currency": "gbp", "unit_amount": 100}, "quantity": 1},
        ],
        "metadata": {"offer_id": "7", "note": "a&b=c"},
        "expand": ["payment_intent"],
        "capabilities": {"transfers": {"requested": True}},
    }
    parsed = parse_form(sdk_encoded(params))
    assert parsed == {
        "line_items": [
            {"price_data": {"currency": "gbp", "unit_amount": "2500"}, "quantity": "2"},
            {"price_data": {"currency": "gbp", "unit_amount": "100"}, "quantity": "1"},
        ],
        "metadata": {"offer_id": "7", "note": "a&b=c"},
        "expand": ["payment_intent"],
        "capabilities": {"transfers": {"requested": "true"}},
    }


def test_parse_form_accepts_empty_brackets_for_lists():
    assert parse_form("expand[]=a&expand[]=b.c") == {"expand": ["a", "b.c"]}


def test_parse_form_orders_list_indexes_numerically():
    query = "&".join(f"items[{i}]=v{i}" for i in (10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9))
    assert parse_form(query)["items"] == [f"v{i}" for i in range(11)]


def test_parse_form_refuses_a_value_and_children_for_one_key():
    with pytest.raises(StripeError) as caught:
        parse_form("metadata=x&metadata[a]=b")
    assert caught.value.status == 400


def test_params_are_converted_by_the_spec_types():
    raw = parse_form(
        sdk_encoded(
            {
                "mode": "payment",
                "expires_at": 1_900_000_000,
                "line_items": [
                    {
                        "price_data": {
                            "currency": "gbp",
                            "unit_amount": 5,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 3,
                    }
                ],
                "payment_intent_data": {"application_fee_amount": 1},
            }
        )
    )
    params = validate_params("POST", "/v1/checkout/sessions", raw)
    assert params["expires_at"] == 1_900_000_000
    assert params["line_items"][0]["quantity"] == 3
    assert params["line_items"][0]["price_data"]["unit_amount"] == 5
    assert params["payment_intent_data"]["application_fee_amount"] == 1


def test_unknown_parameter_is_refused_with_its_bracket_path():
    raw = parse_form("line_items[0][quantity]=1&line_items[0][colour]=red")
    with pytest.raises(StripeError) as caught:
        validate_params("POST", "/v1/checkout/sessions", raw)
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "line_items[0][colour]"


def test_bad_integer_boolean_and_enum_are_refused():
    cases = [
        ("POST", "/v1/checkout/sessions", "expires_at=soon", "expires_at"),
        ("POST", "/v1/refunds", "refund_application_fee=yes", "refund_application_fee"),
        ("POST", "/v1/checkout/sessions", "mode=rent", "mode"),
        ("GET", "/v1/events", "limit=ten", "limit"),
    ]
    for method, path, query, param in cases:
        with pytest.raises(StripeError) as caught:
            validate_params(method, path, parse_form(query))
        assert caught.value.param == param, query


def test_required_parameter_of_the_spec_is_enforced():
    with pytest.raises(StripeError) as caught:
        validate_params("POST", "/v1/account_links", parse_form("account=acct_1"))
    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "type"


def test_created_range_and_exact_value_both_fit_the_spec():
    assert validate_params("GET", "/v1/events", parse_form("created[gte]=5"))["created"] == {
        "gte": 5
    }
    assert validate_params("GET", "/v1/events", parse_form("created=5"))["created"] == 5


def test_signature_is_accepted_by_stripe_python():
    payload = '{"id": "evt_1", "object": "event"}'
    header = signature_header(payload, "whsec_abc", int(time.time()))
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_abc")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other")


def test_signature_matches_stripe_pythons_own_generator():
    payload = '{"a": 1}'
    expected = stripe.WebhookSignature.generate_signature_header(payload, "whsec_k", 1700000000)
    assert signature_header(payload, "whsec_k", 1700000000) == expected


def test_only_test_mode_secret_keys_authenticate():
    assert authenticate("Bearer sk_test_123") == "sk_test_123"
    assert authenticate("Basic c2tfdGVzdF8xMjM6") == "sk_test_123"  # curl -u sk_test_123:
    for header in (None, "", "Bearer ", "Bearer sk_live_123456", "Bearer pk_test_1", "Token x"):
        with pytest.raises(StripeError) as caught:
            authenticate(header)
        assert caught.value.status == 401


def test_redacted_key_keeps_only_prefix_and_last_four():
    assert redact_key("sk_live_abcdefgh1234") == "sk_live_********1234"


def test_faults_refuse_unknown_names_and_bad_values():
    assert Faults.from_json('{"error_rate": 0.5, "latency_ms": 20}').error_rate == 0.5
    for text in (
        '{"eror_rate": 1}',
        '{"error_rate": 2}',
        '{"late_payment": 1}',
        '{"latency_ms": "x"}',
    ):
        with pytest.raises(ValueError):
            Faults.from_json(text)


def test_settings_come_from_the_environment():
    settings = SimulatorSettings.from_env(
        {
            "STRIPE_SIM_WEBHOOK_URL": "http://site/webhooks",
            "STRIPE_SIM_WEBHOOK_SECRET": "whsec_p",
            "STRIPE_SIM_CONNECT_WEBHOOK_SECRET": "whsec_c",
            "STRIPE_SIM_FAULTS": '{"rate_limit_rate": 0.25}',
            "STRIPE_SIM_WEBHOOK_MAX_ATTEMPTS": "3",
        }
    )
    assert settings.webhook is not None
    assert settings.webhook.target_for(connected=True) == ("http://site/webhooks", "whsec_c")
    assert settings.webhook.target_for(connected=False) == ("http://site/webhooks", "whsec_p")
    assert settings.faults.rate_limit_rate == 0.25
    assert settings.webhook_max_attempts == 3
