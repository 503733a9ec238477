"""Refunds of direct charges: full, partial, with the platform fee, and over-refunds."""

import pytest
import stripe

from stripe_sim.tests.conftest import create_session, make_account, paid_session


def test_full_refund_with_application_fee(sim, client, account_id, receiver):
    session, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id}
    refund = client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "refund_application_fee": True,
            "reason": "requested_by_customer",
            "metadata": {"ticket_id": "3"},
        },
        options=options,
    )
    assert refund.id.startswith("re_")
    assert (refund.status, refund.amount, refund.charge) == ("succeeded", 5000, charge.id)
    assert refund.payment_intent == intent.id
    charge = client.v1.charges.retrieve(charge.id, options=options)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (50, True)
    assert fee.refunds.data[0].amount == 50
    assert client.v1.refunds.retrieve(refund.id, options=options).metadata["ticket_id"] == "3"
    sim.deliver()
    refunded = [e for e in receiver.verified_events() if e.type == "charge.refunded"]
    assert refunded[0].account == account_id
    assert refunded[0].data.object.amount_refunded == 5000
    assert refunded[0].data.previous_attributes.amount_refunded == 0
    assert "refund.created" in receiver.types()


def test_partial_refunds_until_nothing_is_left(sim, client, account_id):
    _, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id}

    def refund(**params):
        return client.v1.refunds.create(
            params={"payment_intent": intent.id, "refund_application_fee": True, **params},
            options=options,
        )

    assert refund(amount=1000).amount == 1000
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount_refunded == 10  # 50 * 1000 / 5000: the fee's proportional share
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        refund(amount=4001)
    assert (too_much.value.param, too_much.value.code) == ("amount", "amount_too_large")
    assert refund().amount == 4000  # no amount: what remains
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (50, True)
    with pytest.raises(stripe.InvalidRequestError) as again:
        refund(amount=1)
    assert again.value.code == "charge_already_refunded"
    charge = client.v1.charges.retrieve(charge.id, params={"expand": ["refunds"]}, options=options)
    assert [item.amount for item in charge.refunds.data] == [4000, 1000]


def test_refund_without_fee_refund_leaves_the_fee(sim, client, account_id):
    _, _, charge = paid_session(sim, client, account_id)
    client.v1.refunds.create(params={"charge": charge.id}, options={"stripe_account": account_id})
    assert client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 0


def test_refunds_list_filters_by_payment_intent_and_stays_in_its_account(sim, client, account_id):
    options = {"stripe_account": account_id}
    _, first_intent, _ = paid_session(sim, client, account_id)
    _, second_intent, _ = paid_session(sim, client, account_id)
    first = client.v1.refunds.create(params={"payment_intent": first_intent.id}, options=options)
    client.v1.refunds.create(
        params={"payment_intent": second_intent.id, "amount": 100}, options=options
    )
    found = client.v1.refunds.list(params={"payment_intent": first_intent.id}, options=options)
    assert [refund.id for refund in found.data] == [first.id]
    assert len(client.v1.refunds.list(options=options).data) == 2
    assert client.v1.refunds.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.retrieve(first.id)
    assert caught.value.http_status == 404


def test_refund_needs_a_paid_charge_of_this_account(sim, client, account_id):
    options = {"stripe_account": account_id}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={}, options=options)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"payment_intent": "pi_nope"}, options=options)
    assert (missing.value.code, missing.value.param) == ("resource_missing", "payment_intent")
    session = create_session(client, account_id)
    sim.pay(session.id, card="4000000000000002")
    declined = client.v1.checkout.sessions.retrieve(session.id, options=options)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(
            params={"payment_intent": declined.payment_intent}, options=options
        )
    _, intent, _ = paid_session(sim, client, account_id)
    other = make_account(client)
    sim.complete_onboarding(other.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(
            params={"payment_intent": intent.id}, options={"stripe_account": other.id}
        )


def test_refund_of_card_5126_fails_later_with_refund_updated(sim, client, account_id, receiver):
    options = {"stripe_account": account_id}
    session = create_session(client, account_id)
    sim.pay(session.id, card="4000000000005126")
    intent_id = client.v1.checkout.sessions.retrieve(session.id, options=options).payment_intent
    refund = client.v1.refunds.create(params={"payment_intent": intent_id}, options=options)
    assert refund.status == "succeeded"
    sim.advance_clock(2)
    failed = client.v1.refunds.retrieve(refund.id, options=options)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    charge = client.v1.charges.retrieve(refund.charge, options=options)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    sim.deliver()
    (updated,) = [e for e in receiver.verified_events() if e.type == "refund.updated"]
    assert updated.data.previous_attributes.status == "succeeded"


def test_refund_metadata_update_emits_refund_updated(sim, client, account_id, receiver):
    _, intent, _ = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id}
    refund = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    updated = client.v1.refunds.update(
        refund.id, params={"metadata": {"audit": "1"}}, options=options
    )
    assert updated.metadata["audit"] == "1"
    sim.deliver()
    assert "refund.updated" in receiver.types()


def test_partial_refunds_of_chosen_tickets_add_up_to_the_whole_charge(
    sim, client, account_id, receiver
):
    """Three tickets refunded one by one (1000 + 1500 + 2500 of 5000), each with its share
    of the 50 fee: the charge ends fully refunded, the fee too, and every charge.refunded
    event carries the running amount_refunded."""
    _, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id}
    fee_refunded = []
    for amount in (1000, 1500):
        refund = client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": amount, "refund_application_fee": True},
            options=options,
        )
        assert (refund.status, refund.amount) == ("succeeded", amount)
        fee_refunded.append(client.v1.application_fees.retrieve(charge.application_fee))
    assert [fee.amount_refunded for fee in fee_refunded] == [10, 25]  # 50 * 1000/5000, + 15
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 2501}, options=options
        )
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    assert "£25.00" in str(too_much.value)  # what is left, as Stripe words it
    last = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 2500, "refund_application_fee": True},
        options=options,
    )
    assert last.status == "succeeded"
    charge = client.v1.charges.retrieve(charge.id, options=options)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (50, True)
    assert [item.amount for item in fee.refunds.data] == [25, 15, 10]
    sim.deliver()
    refunded = [e for e in receiver.verified_events() if e.type == "charge.refunded"]
    assert [e.data.object.amount_refunded for e in refunded] == [1000, 2500, 5000]
    assert [e.data.previous_attributes.amount_refunded for e in refunded] == [0, 1000, 2500]
    assert [e.data.object.refunded for e in refunded] == [False, False, True]
    assert [e.account for e in refunded] == [account_id] * 3
    listed = client.v1.refunds.list(params={"charge": charge.id}, options=options)
    assert [refund.amount for refund in listed.data] == [2500, 1500, 1000]


def test_the_same_idempotency_key_returns_the_same_refund(sim, client, account_id, receiver):
    _, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id, "idempotency_key": "cancel-event-3-order-9"}
    params = {"payment_intent": intent.id, "amount": 2000, "refund_application_fee": True}
    first = client.v1.refunds.create(params=params, options=options)
    again = client.v1.refunds.create(params=params, options=options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    account_options = {"stripe_account": account_id}
    assert [r.id for r in client.v1.refunds.list(options=account_options).data] == [first.id]
    assert client.v1.charges.retrieve(charge.id, options=account_options).amount_refunded == 2000
    assert client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 20
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params={**params, "amount": 3000}, options=options)
    sim.deliver()
    assert receiver.types().count("refund.created") == 1
    assert receiver.types().count("charge.refunded") == 1


def test_a_refund_whose_answer_was_lost_is_not_made_twice(sim, account_id):
    client = sim.client()
    _, intent, charge = paid_session(sim, client, account_id)
    options = {"stripe_account": account_id, "idempotency_key": "cancel-event-3-order-10"}
    sim.set_faults(timeout_rate=1.0, timeout_seconds=5, timeout_mode="after")
    with pytest.raises(stripe.APIConnectionError):
        sim.client(timeout=0.5).v1.refunds.create(
            params={"payment_intent": intent.id}, options=options
        )
    sim.set_faults()
    retried = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    account_options = {"stripe_account": account_id}
    assert [r.id for r in client.v1.refunds.list(options=account_options).data] == [retried.id]
    assert client.v1.charges.retrieve(charge.id, options=account_options).amount_refunded == 5000
