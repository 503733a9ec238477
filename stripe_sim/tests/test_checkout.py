"""Checkout Sessions: creation rules, the hosted payment page, expiry."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from stripe_sim.tests.conftest import create_session, make_account, session_params


def test_new_session_is_open_and_unpaid(sim, client, account_id):
    before = int(time.time())
    session = create_session(client, account_id)
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.payment_intent is None
    assert session.url == f"{sim.url}/hosted/checkout/{session.id}"
    assert (session.amount_subtotal, session.amount_total, session.currency) == (5000, 5000, "gbp")
    assert session.client_reference_id == "offer-7"
    assert session.livemode is False
    assert before <= session.created <= int(time.time())
    assert session.expires_at == session.created + 24 * 3600


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"expires_at": "lifetime+1799"}, "expires_at"),
        ({"expires_at": "lifetime+86401"}, "expires_at"),
        (
            {"payment_intent_data": {"application_fee_amount": 5001}},
            "payment_intent_data[application_fee_amount]",
        ),
        ({"line_items": []}, "line_items"),
        ({"success_url": "not a url"}, "success_url"),
        ({"customer_email": "buyer-at-example"}, "customer_email"),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "gbp",
                            "unit_amount": 100,
                            "product_data": {"name": "x"},
                        }
                    }
                ]
            },
            "line_items[0][quantity]",
        ),
        ({"line_items": [{"price": "price_123", "quantity": 1}]}, "line_items[0][price]"),
    ],
)
def test_session_parameters_outside_stripes_limits_are_refused(
    client, account_id, overrides, param
):
    if isinstance(overrides.get("expires_at"), str):
        overrides["expires_at"] = int(time.time()) + int(overrides["expires_at"].split("+")[1])
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, account_id, **overrides)
    assert caught.value.http_status == 400
    assert caught.value.param == param


def test_expires_at_within_limits_is_kept(client, account_id):
    wanted = int(time.time()) + 3600
    assert create_session(client, account_id, expires_at=wanted).expires_at == wanted


def test_at_most_100_line_items(client, account_id):
    item = {
        "price_data": {"currency": "gbp", "unit_amount": 100, "product_data": {"name": "x"}},
        "quantity": 1,
    }
    assert create_session(client, account_id, line_items=[item] * 100).amount_total == 10000
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, account_id, line_items=[item] * 101)
    assert caught.value.param == "line_items"


def test_total_below_the_currency_minimum_is_refused(client, account_id):
    item = {
        "price_data": {"currency": "gbp", "unit_amount": 29, "product_data": {"name": "x"}},
        "quantity": 1,
    }
    with pytest.raises(stripe.InvalidRequestError, match="at least £0.30") as caught:
        create_session(client, account_id, line_items=[item], payment_intent_data={})
    assert caught.value.code == "amount_too_small"


def test_account_that_cannot_take_charges_is_refused(client):
    fresh = make_account(client)
    with pytest.raises(stripe.InvalidRequestError, match="card_payments"):
        create_session(client, fresh.id)


def test_application_fee_needs_a_connected_account(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, None)
    assert caught.value.param == "payment_intent_data[application_fee_amount]"
    platform = create_session(client, None, payment_intent_data={})
    assert platform.status == "open"


def test_unsimulated_parameters_are_refused_loudly(client, account_id):
    with pytest.raises(stripe.InvalidRequestError, match="does not simulate"):
        create_session(client, account_id, payment_intent_data={"capture_method": "manual"})


def pay_form(visitor, url: str, card: str, **fields: str):
    data = {"email": "buyer@example.com", "card_number": card, "expiry": "12 / 34", "cvc": "123"}
    return visitor.post(url, data={**data, **fields}, allow_redirects=False, timeout=10)


def test_checkout_page_shows_items_total_and_labelled_fields(client, visitor, account_id):
    session = create_session(client, account_id)
    page = visitor.get(session.url, timeout=10)
    assert page.status_code == 200
    assert "Stripe simulator — TEST MODE" in page.text
    assert "General admission" in page.text
    assert "£50.00" in page.text
    for label in ("Card number", "Expiry date (MM / YY)", "CVC", "Email"):
        assert f">{label}</label>" in page.text
    assert '<button type="submit">Pay</button>' in page.text
    assert 'href="https://tickets.example/cancelled">Cancel</a>' in page.text


def test_paying_with_4242_completes_the_session(sim, client, visitor, receiver, account_id):
    session = create_session(client, account_id)
    answer = pay_form(visitor, session.url, "4242 4242 4242 4242")
    assert answer.status_code == 303
    location = urlsplit(answer.headers["Location"])
    assert parse_qs(location.query) == {"session_id": [session.id]}
    options = {"stripe_account": account_id}
    paid = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}, options=options
    )
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    intent = paid.payment_intent
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 5000, "gbp")
    assert intent.application_fee_amount == 50
    assert intent.metadata.to_dict() == {"offer_id": "7"}
    charge = client.v1.charges.retrieve(intent.latest_charge, options=options)
    assert (charge.paid, charge.captured, charge.status, charge.amount) == (
        True,
        True,
        "succeeded",
        5000,
    )
    assert charge.application_fee.startswith("fee_")
    assert charge.payment_method_details.card.last4 == "4242"
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount, fee.account, fee.charge) == (50, account_id, charge.id)
    sim.deliver()
    completed = [e for e in receiver.verified_events() if e.type == "checkout.session.completed"]
    assert len(completed) == 1
    assert completed[0].account == account_id
    assert completed[0].data.object.payment_intent == intent.id
    assert "payment_intent.succeeded" in receiver.types()


@pytest.mark.parametrize(
    ("card", "message", "decline_code"),
    [
        ("4000 0000 0000 0002", "Your card was declined.", "generic_decline"),
        ("4000000000009995", "Your card has insufficient funds.", "insufficient_funds"),
    ],
)
def test_declined_card_leaves_the_session_open(
    sim, client, visitor, receiver, account_id, card, message, decline_code
):
    session = create_session(client, account_id)
    answer = pay_form(visitor, session.url, card)
    assert answer.status_code == 402
    assert message in answer.text
    assert 'role="alert"' in answer.text
    options = {"stripe_account": account_id}
    still = client.v1.checkout.sessions.retrieve(session.id, options=options)
    assert (still.status, still.payment_status) == ("open", "unpaid")
    intent = client.v1.payment_intents.retrieve(still.payment_intent, options=options)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    sim.deliver()
    (failed,) = [e for e in receiver.verified_events() if e.type == "payment_intent.payment_failed"]
    assert failed.account == account_id
    # Another card on the same page then pays, reusing the PaymentIntent.
    assert pay_form(visitor, session.url, "4242424242424242").status_code == 303
    assert client.v1.payment_intents.retrieve(intent.id, options=options).status == "succeeded"


def test_mistyped_card_number_is_refused_without_a_payment_attempt(client, visitor, account_id):
    session = create_session(client, account_id)
    answer = pay_form(visitor, session.url, "4242 4242 4242 4241")
    assert answer.status_code == 402
    assert "Your card number is incorrect." in answer.text
    still = client.v1.checkout.sessions.retrieve(session.id, options={"stripe_account": account_id})
    assert still.payment_intent is None


def test_completed_or_expired_session_cannot_be_paid_again(sim, client, visitor, account_id):
    session = create_session(client, account_id)
    sim.pay(session.id)
    again = pay_form(visitor, session.url, "4242424242424242")
    assert again.status_code == 400
    assert "already been paid" in again.text
    other = create_session(client, account_id)
    client.v1.checkout.sessions.expire(other.id, options={"stripe_account": account_id})
    late = pay_form(visitor, other.url, "4242424242424242")
    assert late.status_code == 400
    assert "expired" in late.text
    charges = [e for e in sim.events() if e["type"] == "charge.succeeded"]
    assert len(charges) == 1


def test_unknown_session_page_is_404(sim, visitor):
    assert visitor.get(f"{sim.url}/hosted/checkout/cs_test_nope", timeout=10).status_code == 404


def test_expire_endpoint_expires_only_open_sessions(sim, client, account_id, receiver):
    options = {"stripe_account": account_id}
    session = create_session(client, account_id)
    expired = client.v1.checkout.sessions.expire(session.id, options=options)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError, match='status of "expired"'):
        client.v1.checkout.sessions.expire(session.id, options=options)
    sim.deliver()
    (event,) = receiver.verified_events()
    assert (event.type, event.account, event.data.object.status) == (
        "checkout.session.expired",
        account_id,
        "expired",
    )


def test_sessions_expire_by_themselves_when_the_clock_passes_expires_at(
    sim, client, account_id, receiver
):
    # A minute over Stripe's 30-minute minimum: exactly 30 is refused when the second
    # turns between this line and the simulator's clock.
    session = create_session(client, account_id, expires_at=int(time.time()) + 1860)
    # Up to a minute before expires_at by the simulator's own clock: on a loaded machine
    # seconds pass between creating the session and asking about it.
    sim.advance_clock(session.expires_at - sim.simulator.clock.timestamp() - 60)
    options = {"stripe_account": account_id}
    assert client.v1.checkout.sessions.retrieve(session.id, options=options).status == "open"
    sim.advance_clock(61)
    assert client.v1.checkout.sessions.retrieve(session.id, options=options).status == "expired"
    sim.deliver()
    assert receiver.types() == ["checkout.session.expired"]


def test_the_ticker_expires_sessions_without_being_asked(sim, client, account_id):
    session = create_session(client, account_id)
    sim.simulator.clock.advance(24 * 3600)  # behind the control API's back: no sweep now
    deadline = time.monotonic() + 5
    options = {"stripe_account": account_id}
    while client.v1.checkout.sessions.retrieve(session.id, options=options).status == "open":
        assert time.monotonic() < deadline, "the ticker never expired the session"
        time.sleep(0.05)


def test_list_sessions_filters_by_payment_intent(sim, client, account_id):
    options = {"stripe_account": account_id}
    first = create_session(client, account_id)
    create_session(client, account_id)
    intent = sim.pay(first.id)["session"]["payment_intent"]
    found = client.v1.checkout.sessions.list(params={"payment_intent": intent}, options=options)
    assert [session.id for session in found.data] == [first.id]
    assert len(client.v1.checkout.sessions.list(options=options).data) == 2
    assert client.v1.checkout.sessions.list().data == []


def test_platform_session_without_stripe_account(sim, client):
    session = create_session(client, None, payment_intent_data={"metadata": {"k": "v"}})
    result = sim.pay(session.id)
    assert result["paid"] is True
    intent = client.v1.payment_intents.retrieve(result["session"]["payment_intent"])
    assert intent.application is None
    events = [event for event in sim.events() if event["type"] == "checkout.session.completed"]
    assert "account" not in events[0]


def test_session_params_helper_is_valid_for_the_spec():
    assert session_params()["mode"] == "payment"
