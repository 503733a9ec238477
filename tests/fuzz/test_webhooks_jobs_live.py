"""The other ways in: signed Stripe events of any shape, the live stream's Last-Event-ID,
and the e-mails and jobs that fuzzed names reach."""

import contextlib
import http.client
import json
import os
import time
from urllib.parse import quote, urlsplit

import pytest
import stripe
from django.core import mail
from huey.signals import SIGNAL_CANCELED, SIGNAL_ERROR
from hypothesis import given
from hypothesis import strategies as st

from payments.models import StripeEvent
from payments.services.webhooks import HANDLERS, process_stripe_event
from tests.fuzz import world
from tests.fuzz.strategies import awkward_text
from tests.fuzz.test_urls import EXAMPLES, Checker, fuzz_settings

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(awkward_text(), children, max_size=3)
    ),
    max_leaves=8,
)


def sign(body: bytes, secret: str) -> str:
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(
        f"{timestamp}.{body.decode('utf-8', 'replace')}", secret
    )
    return f"t={timestamp},v1={signature}"


@st.composite
def stripe_events(draw, site):
    """An event as Stripe would sign it, its parts real, missing, or of the wrong shape."""
    session = {
        "id": site.order.checkout_session_id,
        "object": "checkout.session",
        "payment_status": draw(st.sampled_from(["paid", "unpaid"]) | JSON),
        "status": draw(st.sampled_from(["complete", "expired", "open"]) | JSON),
        "payment_intent": draw(st.sampled_from(["pi_fuzz", None, {"id": "pi_fuzz"}]) | JSON),
    }
    for key in draw(st.lists(st.sampled_from(sorted(session)), max_size=2)):
        if draw(st.booleans()):
            session.pop(key, None)
        else:
            session[key] = draw(JSON)
    account = {"id": site.organiser.connected_account.stripe_account_id}
    obj = draw(st.sampled_from([session, account]) | JSON)
    event = {
        "id": draw(st.text("abcXYZ019_", min_size=1, max_size=10).map("evt_".__add__) | JSON),
        "object": "event",
        "type": draw(st.sampled_from(sorted(HANDLERS)) | awkward_text()),
        "data": draw(st.just({"object": obj}) | JSON),
    }
    if draw(st.booleans()):
        event["account"] = draw(st.just(account["id"]) | JSON)
    for key in draw(st.lists(st.sampled_from(["id", "type", "data"]), max_size=1)):
        event.pop(key, None)
    body = json.dumps(draw(st.just(event) | JSON)).encode()
    return draw(st.just(body) | st.binary(max_size=200))


def test_signed_stripe_events_of_any_shape_never_crash_the_endpoint_or_the_job(
    fuzz_site, client, settings
):
    checker = Checker()

    @fuzz_settings(EXAMPLES * 2)
    @given(body=stripe_events(fuzz_site))
    def check(body):
        signature = sign(body, settings.STRIPE_WEBHOOK_SECRET)
        response = client.post(
            "/stripe/webhook/",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        assert response.status_code in (200, 400), body
        checker.check(response, repr(body[:3000]))
        for event in StripeEvent.objects.filter(processed_at=None, unprocessable=False):
            # What the job does; Stripe refusing a made-up id is for the job's retries.
            with contextlib.suppress(stripe.StripeError):
                process_stripe_event(event_pk=event.pk)
        checker.state = world.fingerprint()

    check()


LAST_EVENT_IDS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
    st.integers(min_value=4000, max_value=6000).map(lambda n: b"9" * n),
    awkward_text().map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=30),
)


@pytest.mark.django_db(transaction=True)
def test_any_last_event_id_leaves_the_live_stream_open(asgi_server):
    from waitlist import live

    address = urlsplit(asgi_server.url)
    token = quote(live.stream_token(topics=["event:1"]))

    @fuzz_settings(max(5, EXAMPLES // 2))
    @given(last_event_id=LAST_EVENT_IDS)
    def check(last_event_id):
        # Control bytes are refused by the HTTP parser (400) before the site sees them.
        value = bytes(byte for byte in last_event_id if byte >= 0x20 and byte != 0x7F)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        try:
            connection.putrequest("GET", f"/live/events?token={token}")
            connection.putheader("Last-Event-ID", value)
            connection.endheaders()
            response = connection.getresponse()
            assert response.status == 200
            assert response.readline() == b"retry: 3000\n"
            response.readline()
            connection.sock.settimeout(0.3)
            try:
                line = response.readline()
            except TimeoutError:
                line = b"(still open)"
            assert line != b"", f"the stream closed after Last-Event-ID {value!r}"
        finally:
            connection.close()

    check()


@pytest.mark.django_db(transaction=True)
def test_events_named_anything_publish_and_their_e_mails_and_jobs_run(
    client, stripe_sim, jobs, organiser
):
    from events.models import Event
    from events.tests.test_views import event_post
    from tests.factories import ConnectedAccountFactory, UserFactory

    ConnectedAccountFactory(organiser=organiser)
    failures = []

    def record(signal, task, exc=None):
        failures.append((signal, task.name, repr(exc)))

    jobs.huey.signal(SIGNAL_ERROR, SIGNAL_CANCELED)(record)
    try:

        @fuzz_settings(max(3, EXAMPLES // 4))
        @given(name=awkward_text(), venue=awkward_text())
        def check(name, venue):
            client.force_login(organiser)
            before = Event.objects.count()
            overrides = {"name": name, "venue_name": venue, "types-0-price": "0"}
            overrides |= {"types-0-capacity": "1", "types-TOTAL_FORMS": "1"}
            created = client.post("/organiser/events/new/", event_post(**overrides))
            assert created.status_code in (302, 400)
            if created.status_code == 400:
                assert Event.objects.count() == before
                return
            event = Event.objects.latest("pk")
            assert client.post(f"/organiser/events/{event.pk}/publish/").status_code == 302
            ticket_type = event.ticket_types.order_by("pk").first()
            for _ in range(2):
                client.force_login(UserFactory())
                joined = client.post(
                    "/waitlist/join/", {"ticket_type_id": ticket_type.pk, "quantity": 1}
                )
                assert joined.status_code < 400

        check()
        jobs.run_due()
    finally:
        jobs.huey.disconnect_signal(record, SIGNAL_ERROR, SIGNAL_CANCELED)
    assert not failures
    for message in mail.outbox:
        message.message().as_bytes()  # renders: headers encode, no line breaks in them


def test_examples_setting_is_read_from_the_environment():
    assert int(os.environ.get("FUZZ_EXAMPLES", "20")) == EXAMPLES
