"""Live updates over a real ASGI server (uvicorn in a thread, the site's own application)."""

import http.client
import re
import threading
import time
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse

from waitlist import live, services
from waitlist.models import LiveEvent

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> dict:
    """The Cookie header of a browser signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}"}


class Stream:
    """A raw text/event-stream reader, as a browser's EventSource would see it."""

    def __init__(
        self,
        base_url: str,
        topics: list[str] | None = None,
        headers: dict | None = None,
        path: str | None = None,
    ):
        address = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        if path is None:
            path = f"/live/events?token={quote(live.stream_token(topics=topics or []))}"
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()

    def next_event(self, timeout: float = 8.0) -> dict:
        """The next dispatched event's fields (keep-alive comments skipped)."""
        deadline = time.monotonic() + timeout
        fields: dict = {}
        while time.monotonic() < deadline:
            line = self.response.readline().decode().rstrip("\n")
            if line == "":
                if "event" in fields:
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("no event arrived in time")

    def close(self):
        self.connection.close()


def test_a_stream_starts_with_a_retry_hint_and_refuses_a_forged_token(asgi_server):
    stream = Stream(asgi_server.url, ["event:1"])
    assert stream.response.status == 200
    assert stream.response.getheader("content-type").startswith("text/event-stream")
    assert stream.response.readline() == b"retry: 3000\n"
    stream.close()

    address = urlsplit(asgi_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("GET", "/live/events?token=forged")
    assert connection.getresponse().status == 403


def test_an_offer_made_elsewhere_reaches_the_buyer_s_open_stream(asgi_server, buyers, paid_type):
    holder = services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=4)
    services.join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1)
    stream = Stream(asgi_server.url, headers=signed_in(buyers[1]))
    stream.response.readline()  # retry hint
    time.sleep(0.2)  # let the stream subscribe before the change (a page opens first, too)

    started = time.monotonic()
    services.decline_offer(user=buyers[0], entry_id=holder.entry.pk)  # another connection
    event = stream.next_event()

    assert event["event"] == "entry"
    assert time.monotonic() - started < 5
    stream.close()


def test_everyone_watching_an_event_hears_the_queue_move(asgi_server, buyers, paid_type):
    watchers = [Stream(asgi_server.url, [live.event_topic(paid_type.event_id)]) for _ in range(3)]
    time.sleep(0.2)
    services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=1)
    assert [watcher.next_event()["event"] for watcher in watchers] == ["queue"] * 3
    for watcher in watchers:
        watcher.close()


def test_a_reconnecting_stream_gets_what_it_missed(asgi_server, buyers, paid_type):
    topic = live.user_topic(buyers[0].pk)
    services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=1)
    first, *later = LiveEvent.objects.filter(topic=topic).order_by("id")
    entry = services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=1)
    services.decline_offer(user=buyers[0], entry_id=entry.entry.pk)
    missed = list(
        LiveEvent.objects.filter(topic=topic, id__gt=first.pk).values_list("id", flat=True)
    )

    stream = Stream(
        asgi_server.url, headers={"Last-Event-ID": str(first.pk), **signed_in(buyers[0])}
    )
    replayed = [int(stream.next_event()["id"]) for _ in missed]

    assert replayed == missed
    stream.close()


def stream_path_of_event_page(client, event_id: int) -> str:
    page = client.get(reverse("event_detail", args=[event_id])).content.decode()
    return unescape(re.search(r'sse-connect="([^"]+)"', page)[1])


def test_a_buyer_s_offer_reaches_only_streams_of_their_own_session(asgi_server, buyers, paid_type):
    owner, other = buyers[0], buyers[1]
    browser = Client()
    browser.force_login(owner)
    path = stream_path_of_event_page(browser, paid_type.event_id)
    # What reaches an access log names the event only, never the buyer.
    token = parse_qs(urlsplit(path).query)["token"][0]
    assert live.topics_from_token(token) == [live.event_topic(paid_type.event_id)]

    streams = {
        "owner": Stream(asgi_server.url, path=path, headers=signed_in(owner)),
        "no session": Stream(asgi_server.url, path=path),
        "another buyer": Stream(asgi_server.url, path=path, headers=signed_in(other)),
        "forged session": Stream(
            asgi_server.url, path=path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}=x"}
        ),
    }
    time.sleep(0.2)  # let the streams subscribe
    live.publish(topic=live.user_topic(owner.pk), kind="entry")
    live.publish(topic=live.event_topic(paid_type.event_id), kind="queue")

    heard = {name: stream.next_event()["event"] for name, stream in streams.items()}

    assert heard == {
        "owner": "entry",
        "no session": "queue",
        "another buyer": "queue",
        "forged session": "queue",
    }
    for stream in streams.values():
        stream.close()


def test_a_token_naming_a_private_topic_gets_only_its_public_topics(asgi_server, buyers):
    # As signed before private topics came from the session: a copied one gives no offers.
    old_token = signing.dumps(
        sorted([live.user_topic(buyers[0].pk), "event:1"]), salt=live.TOKEN_SALT, compress=True
    )
    stream = Stream(asgi_server.url, path=f"/live/events?token={quote(old_token)}")
    time.sleep(0.2)
    live.publish(topic=live.user_topic(buyers[0].pk), kind="entry")
    live.publish(topic="event:1", kind="queue")

    assert stream.next_event()["event"] == "queue"
    stream.close()
    with pytest.raises(ValueError):
        live.stream_token(topics=[live.user_topic(buyers[0].pk)])


def test_a_signed_out_session_s_stream_hears_no_private_topic(asgi_server, buyers):
    browser = Client()
    browser.force_login(buyers[0])
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.session.session_key}"}
    browser.post(reverse("account_logout"))
    stream = Stream(asgi_server.url, ["event:1"], headers=cookie)
    time.sleep(0.2)
    live.publish(topic=live.user_topic(buyers[0].pk), kind="entry")
    live.publish(topic="event:1", kind="queue")

    assert stream.next_event()["event"] == "queue"
    stream.close()


def test_waiting_streams_hold_no_thread(asgi_server):
    threads_before = threading.active_count()
    streams = [Stream(asgi_server.url, [f"event:{n}"]) for n in range(25)]
    for stream in streams:
        assert stream.response.status == 200
    assert threading.active_count() - threads_before <= 2  # the hub's one database thread
    for stream in streams:
        stream.close()


def test_pushes_are_written_once_per_topic_after_commit_and_never_after_a_rollback(db):
    from django.db import transaction

    with transaction.atomic():
        live.publish(topic="event:1", kind="queue")
        live.publish(topic="event:1", kind="queue")
        live.publish(topic="user:7", kind="entry")
        assert not LiveEvent.objects.exists()  # nothing a stream could read before commit
    assert sorted(LiveEvent.objects.values_list("topic", "kind")) == [
        ("event:1", "queue"),
        ("user:7", "entry"),
    ]

    with pytest.raises(RuntimeError), transaction.atomic():
        live.publish(topic="event:2", kind="queue")
        raise RuntimeError("the change is rolled back")
    with transaction.atomic():
        live.publish(topic="user:8", kind="entry")
    assert not LiveEvent.objects.filter(topic="event:2").exists()
    assert LiveEvent.objects.filter(topic="user:8").exists()


@pytest.mark.parametrize(
    "last_event_id",
    ["²", "٣".encode(), "9" * 5000, "99999999999999999999", "-1", "1_0"],
    ids=["superscript", "arabic-indic", "5000-digits", "past-64-bit", "negative", "underscore"],
)
def test_a_malformed_last_event_id_is_ignored_and_the_stream_still_works(
    asgi_server, buyers, paid_type, last_event_id
):
    stream = Stream(
        asgi_server.url, headers={**signed_in(buyers[0]), "Last-Event-ID": last_event_id}
    )
    assert stream.response.status == 200
    assert stream.response.readline() == b"retry: 3000\n"
    time.sleep(0.2)
    services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=1)
    assert stream.next_event(timeout=5)["event"] == "entry"
    stream.close()
