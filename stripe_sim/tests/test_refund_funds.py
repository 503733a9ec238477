"""Refunds on a connected account whose available balance does not cover them: held
pending, released when funds arrive, failed with insufficient_funds after 45 days, and
each change announced by refund.updated / charge.refund.updated."""

import pytest
import requests
import stripe

from stripe_sim.tests.conftest import create_session, make_account, paid_session

FORTY_FIVE_DAYS = 45 * 24 * 60 * 60


def available(client: stripe.StripeClient, account_id: str) -> int:
    balance = client.v1.balance.retrieve(options={"stripe_account": account_id})
    (gbp,) = [funds for funds in balance.available if funds.currency == "gbp"]
    return gbp.amount


def events_of(receiver, event_type: str) -> list[stripe.Event]:
    return [event for event in receiver.verified_events() if event.type == event_type]


def test_refunds_are_covered_by_default(sim, client, account_id):
    _, intent, _ = paid_session(sim, client, account_id)
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id}, options={"stripe_account": account_id}
    )
    assert refund.status == "succeeded"
    assert available(client, account_id) == 0


def test_a_refund_the_balance_does_not_cover_is_pending_until_funds_arrive(
    sim, client, account_id, receiver
):
    options = {"stripe_account": account_id}
    _, intent, charge = paid_session(sim, client, account_id)
    sim.set_available_balance(account_id, 1000)
    assert available(client, account_id) == 1000
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "refund_application_fee": True}, options=options
    )
    assert (refund.status, refund.amount) == ("pending", 5000)
    assert client.v1.refunds.retrieve(refund.id, options=options).status == "pending"
    # As on Stripe, a pending refund already counts on the charge.
    charge = client.v1.charges.retrieve(charge.id, options=options)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    assert client.v1.application_fees.retrieve(charge.application_fee).refunded is True
    assert available(client, account_id) == 1000  # nothing was taken
    sim.deliver()
    (created,) = events_of(receiver, "refund.created")
    assert created.data.object.status == "pending"

    answer = sim.set_available_balance(account_id, 4000)
    assert answer == {"available": {"gbp": 4000}, "released": []}  # not all of it: still held
    answer = sim.set_available_balance(account_id, 6000)
    assert answer == {"available": {"gbp": 1000}, "released": [refund.id]}
    assert client.v1.refunds.retrieve(refund.id, options=options).status == "succeeded"
    assert available(client, account_id) == 1000
    sim.deliver()
    for event_type in ("refund.updated", "charge.refund.updated"):
        (updated,) = events_of(receiver, event_type)
        assert updated.account == account_id
        assert updated.data.object.status == "succeeded"
        assert updated.data.previous_attributes.status == "pending"


def test_covered_refunds_draw_on_the_balance_and_releases_go_oldest_first(sim, client, account_id):
    options = {"stripe_account": account_id}
    _, intent, _ = paid_session(sim, client, account_id)
    sim.set_available_balance(account_id, 3000)

    def refund(amount: int) -> stripe.Refund:
        params = {"payment_intent": intent.id, "amount": amount}
        return client.v1.refunds.create(params=params, options=options)

    assert refund(2000).status == "succeeded"
    assert available(client, account_id) == 1000
    older = refund(1500)
    newer = refund(500)
    assert (older.status, newer.status) == ("pending", "succeeded")  # 500 fits, 1500 not
    assert available(client, account_id) == 500
    remaining = refund(1000)
    assert remaining.status == "pending"
    assert sim.set_available_balance(account_id, 1600)["released"] == [older.id]
    assert sim.set_available_balance(account_id, None)["released"] == [remaining.id]
    statuses = {r.id: r.status for r in client.v1.refunds.list(options=options).data}
    assert set(statuses.values()) == {"succeeded"}


def test_a_pending_refund_fails_with_insufficient_funds_after_45_days(
    sim, client, account_id, receiver
):
    options = {"stripe_account": account_id}
    _, intent, charge = paid_session(sim, client, account_id)
    sim.set_available_balance(account_id, 0)
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 3000}, options=options
    )
    sim.advance_clock(FORTY_FIVE_DAYS - 60)
    assert client.v1.refunds.retrieve(refund.id, options=options).status == "pending"
    sim.advance_clock(61)
    failed = client.v1.refunds.retrieve(refund.id, options=options)
    assert (failed.status, failed.failure_reason) == ("failed", "insufficient_funds")
    assert failed.failure_balance_transaction.startswith("txn_")
    assert failed.failure_balance_transaction != failed.balance_transaction
    charge = client.v1.charges.retrieve(charge.id, options=options)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    # Listed with either filter, on the connected account only.
    for name, value in (("charge", charge.id), ("payment_intent", intent.id)):
        found = client.v1.refunds.list(params={name: value}, options=options)
        assert [(r.id, r.status) for r in found.data] == [(refund.id, "failed")]
    assert client.v1.refunds.list(params={"charge": charge.id}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.retrieve(refund.id)

    sim.deliver()
    (failed_event,) = events_of(receiver, "refund.failed")
    assert (failed_event.account, failed_event.data.object.status) == (account_id, "failed")
    for event_type in ("refund.updated", "charge.refund.updated"):
        (updated,) = events_of(receiver, event_type)
        assert updated.account == account_id
        assert updated.data.object.id == refund.id
        assert (updated.data.object.status, updated.data.object.failure_reason) == (
            "failed",
            "insufficient_funds",
        )
        assert updated.data.previous_attributes.status == "pending"
    # Topping up later sends nothing: the failed refund is over; the whole amount can be
    # refunded again.
    assert sim.set_available_balance(account_id, 10_000)["released"] == []
    again = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    assert (again.status, again.amount) == ("succeeded", 5000)


def test_a_released_refund_of_card_5126_still_fails_at_the_card(sim, client, account_id):
    options = {"stripe_account": account_id}
    session = create_session(client, account_id)
    sim.pay(session.id, card="4000000000005126")
    intent_id = client.v1.checkout.sessions.retrieve(session.id, options=options).payment_intent
    sim.set_available_balance(account_id, 0)
    refund = client.v1.refunds.create(params={"payment_intent": intent_id}, options=options)
    assert refund.status == "pending"
    sim.set_available_balance(account_id, 5500)
    assert client.v1.refunds.retrieve(refund.id, options=options).status == "succeeded"
    assert available(client, account_id) == 500
    sim.advance_clock(2)
    failed = client.v1.refunds.retrieve(refund.id, options=options)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert available(client, account_id) == 5500  # the failed refund's funds came back


def test_the_limit_is_per_account_and_per_currency(sim, client, account_id):
    other = make_account(client)
    sim.complete_onboarding(other.id)
    sim.set_available_balance(account_id, 0)
    sim.set_available_balance(other.id, 0, currency="eur")  # no limit in gbp
    _, mine, _ = paid_session(sim, client, account_id)
    _, theirs, _ = paid_session(sim, client, other.id)
    pending = client.v1.refunds.create(
        params={"payment_intent": mine.id}, options={"stripe_account": account_id}
    )
    sent = client.v1.refunds.create(
        params={"payment_intent": theirs.id}, options={"stripe_account": other.id}
    )
    assert (pending.status, sent.status) == ("pending", "succeeded")


def test_control_api_for_the_balance(sim, client, account_id):
    url = f"{sim.url}/_sim/accounts/{account_id}/balance"
    assert requests.get(url, timeout=10).json() == {"available": {}, "released": []}
    for body in ({"available": -1}, {"available": "lots"}, {"amount": 5}, {"available": True}):
        assert requests.post(url, json=body, timeout=10).status_code == 400, body
    answer = requests.post(url, data={"available": "250", "currency": "GBP"}, timeout=10)
    assert answer.json()["available"] == {"gbp": 250}
    assert requests.get(url, timeout=10).json()["available"] == {"gbp": 250}
    missing = requests.post(f"{sim.url}/_sim/accounts/acct_nope/balance", json={"available": 0})
    assert missing.status_code == 404
