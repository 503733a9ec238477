"""The webhook endpoint: signatures, storing each event once, processing in any order."""

import json
import time

import pytest
import stripe
from django.urls import reverse

from payments.models import ConnectedAccount, Order, StripeEvent
from payments.services.webhooks import process_stripe_event
from payments.tests.conftest import checkout
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/stripe/webhook/"


def signed(payload: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """A delivery signed exactly as Stripe signs (stripe-python's WebhookSignature)."""
    body = json.dumps(payload).encode()
    timestamp = timestamp or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return body, f"t={timestamp},v1={signature}"


def post(client, body: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature else {}
    return client.post(URL, data=body, content_type="application/json", **headers)


def event_payload(event_id: str, event_type: str, obj: dict, account: str | None = None) -> dict:
    payload = {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}
    if account:
        payload["account"] = account
    return payload


def test_the_endpoint_is_where_the_urlconf_says():
    assert reverse("stripe_webhook") == URL


@pytest.mark.parametrize(
    "signature",
    [None, "t=1,v1=deadbeef", "garbage"],
    ids=["missing", "forged", "malformed"],
)
def test_a_bad_or_missing_signature_is_400_and_stores_nothing(client, stripe_sim, signature):
    body = json.dumps(event_payload("evt_1", "account.updated", {"id": "acct_1"})).encode()
    response = post(client, body, signature)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_signature_with_the_wrong_secret_or_too_old_is_refused(client, stripe_sim, settings):
    payload = event_payload("evt_1", "account.updated", {"id": "acct_1"})
    assert post(client, *signed(payload, "whsec_someone_else")).status_code == 400
    old = int(time.time()) - 3600
    stale = signed(payload, settings.STRIPE_WEBHOOK_SECRET, timestamp=old)
    assert post(client, *stale).status_code == 400
    assert not StripeEvent.objects.exists()


def test_each_event_is_stored_once_and_a_replay_is_acknowledged(client, stripe_sim, settings, jobs):
    payload = event_payload("evt_42", "payment_intent.created", {"id": "pi_1"})
    for secret in (settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_CONNECT_WEBHOOK_SECRET):
        assert post(client, *signed(payload, secret)).status_code == 200
    assert StripeEvent.objects.count() == 1
    assert jobs.pending_names() == ["process_stripe_event_task"]  # once, not twice
    jobs.run_due()
    assert StripeEvent.objects.get().processed_at is not None


def test_an_expired_event_after_completed_changes_nothing(stripe_sim, offer, buyers):
    order = checkout(buyers[0], offer)
    stripe_sim.pay(order.checkout_session_id)
    session = (
        stripe_sim.client()
        .v1.checkout.sessions.retrieve(
            order.checkout_session_id, options={"stripe_account": order.stripe_account_id}
        )
        .to_dict()
    )
    account = order.stripe_account_id
    completed = StripeEvent.objects.create(
        stripe_event_id="evt_c",
        type="checkout.session.completed",
        payload=event_payload("evt_c", "checkout.session.completed", session, account),
    )
    expired_session = {**session, "status": "expired", "payment_status": "unpaid"}
    expired = StripeEvent.objects.create(
        stripe_event_id="evt_e",
        type="checkout.session.expired",
        payload=event_payload("evt_e", "checkout.session.expired", expired_session, account),
    )

    process_stripe_event(event_pk=completed.pk)
    process_stripe_event(event_pk=expired.pk)
    process_stripe_event(event_pk=completed.pk)  # processed already: nothing happens

    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED
    assert Ticket.objects.filter(order=order).count() == 2


def test_account_updated_takes_the_status_from_stripe_not_from_the_event(stripe_sim, seller):
    account = ConnectedAccount.objects.get(organiser=seller)
    ConnectedAccount.objects.filter(pk=account.pk).update(charges_enabled=False)
    # An old, out-of-order event claims the account cannot charge; Stripe says it can.
    stale = {"id": account.stripe_account_id, "object": "account", "charges_enabled": False}
    event = StripeEvent.objects.create(
        stripe_event_id="evt_a",
        type="account.updated",
        payload=event_payload("evt_a", "account.updated", stale, account.stripe_account_id),
    )
    process_stripe_event(event_pk=event.pk)
    assert ConnectedAccount.objects.get(pk=account.pk).charges_enabled


def test_a_payment_reaches_the_site_by_signed_webhook_and_issues_the_tickets(
    asgi_server, stripe_sim, offer, buyers, jobs, settings
):
    stripe_sim.configure_webhook(
        asgi_server.url + URL,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
    )
    order = checkout(buyers[0], offer)
    stripe_sim.pay(order.checkout_session_id)  # the buyer never comes back to the site
    stripe_sim.deliver()

    completed = StripeEvent.objects.get(type="checkout.session.completed")
    assert completed.account == order.stripe_account_id  # a Connect event
    assert {d["status_code"] for d in stripe_sim.deliveries()} == {200}
    jobs.run_due()
    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED
    assert Ticket.objects.filter(order=order).count() == 2
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0


SESSION_TYPE = "checkout.session.completed"
MALFORMED_DATA = {
    "no data": (SESSION_TYPE, None),
    "data a list": (SESSION_TYPE, [1, 2]),
    "no object": (SESSION_TYPE, {}),
    "object a list": (SESSION_TYPE, {"object": ["cs_test_1"]}),
    "object a string": (SESSION_TYPE, {"object": "cs_test_1"}),
    "session without id": (SESSION_TYPE, {"object": {"payment_status": "paid"}}),
    "session id a number": (SESSION_TYPE, {"object": {"id": 7, "payment_status": "paid"}}),
    "status a list": (SESSION_TYPE, {"object": {"id": "cs_test_1", "status": ["expired"]}}),
    "payment intent a list": (
        SESSION_TYPE,
        {"object": {"id": "cs_test_1", "payment_status": "paid", "payment_intent": [1]}},
    ),
    "account without id": ("account.updated", {"object": {"charges_enabled": True}}),
    "account id a dict": ("account.updated", {"object": {"id": {"id": "acct_1"}}}),
    "refund intent a dict without id": (
        "charge.refunded",
        {"object": {"payment_intent": {"amount": 1}}},
    ),
}


@pytest.mark.parametrize("event_type, data", MALFORMED_DATA.values(), ids=MALFORMED_DATA.keys())
def test_a_signed_event_of_a_malformed_shape_is_stored_as_unprocessable_and_never_retried(
    client, stripe_sim, settings, jobs, event_type, data
):
    payload = {"id": "evt_bad", "object": "event", "type": event_type}
    if data is not None:
        payload["data"] = data
    response = post(client, *signed(payload, settings.STRIPE_WEBHOOK_SECRET))

    # 2xx: Stripe would redeliver the same body for days after any other answer.
    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert event.unprocessable and event.processed_at is None
    assert event.last_error.startswith("Unprocessable")
    assert jobs.pending_names() == []
    # An event stored before the check existed: its job and the sweep mark it, not raise.
    StripeEvent.objects.filter(pk=event.pk).update(unprocessable=False, last_error="")
    process_stripe_event(event_pk=event.pk)
    event.refresh_from_db()
    assert event.unprocessable and event.attempts == 0


@pytest.mark.parametrize(
    "payload",
    [
        [{"id": "evt_1", "type": "account.updated"}],
        {"type": "account.updated", "data": {"object": {"id": "acct_1"}}},
        {"id": 12, "type": "account.updated", "data": {"object": {"id": "acct_1"}}},
        {"id": "evt_" + "x" * 300, "type": "account.updated"},
        {"id": "evt_1", "type": {"name": "account.updated"}},
        {"id": "evt_1", "type": "account.updated", "data": {"object": {"id": "acct\u00001"}}},
        {"id": "evt_1", "type": "account.updated", "account": "acct_" + "x" * 100},
    ],
    ids=["a list", "no id", "id a number", "id too long", "type a dict", "nul", "long account"],
)
def test_a_signed_event_that_cannot_be_stored_by_its_id_is_refused(
    client, stripe_sim, settings, payload
):
    response = post(client, *signed(payload, settings.STRIPE_WEBHOOK_SECRET))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
