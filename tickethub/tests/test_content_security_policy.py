"""The Content-Security-Policy on every kind of page, and pages that need nothing it forbids
(no inline script, style, event handler or javascript: URL). The browser journeys check the
same in chromium (tests/browser/conftest.py fails a journey on any violation)."""

import re

import pytest
from django.urls import reverse

from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self' {stripe}; "
    "base-uri 'none'; object-src 'none'"
)
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"  # inline script
    r"|<style\b|\sstyle=|\son[a-z]+=|\shx-on[:-]|javascript:",
    re.IGNORECASE,
)


def expected_policy(settings) -> str:
    return POLICY.format(stripe=settings.STRIPE_SIMULATOR_URL)


@pytest.fixture
def pages(organiser):
    event = EventFactory(organiser=organiser)
    return {
        "home": reverse("home"),
        "event": reverse("event_detail", args=[event.pk]),
        "search": reverse("search") + "?q=rock",
        "sign in": reverse("account_login"),
        "sign up": reverse("account_signup"),
        "my queue": reverse("my_queue"),
        "my events": reverse("my_events"),
        "edit event": reverse("event_edit", args=[event.pk]),
        "create event": reverse("event_create"),
        "get paid": reverse("payments_get_paid"),
        "account e-mail": reverse("account_email"),
        "not found": "/no-such-page/",
    }


@pytest.mark.parametrize("who", ["anonymous", "buyer", "organiser"])
def test_every_page_carries_the_policy_and_needs_no_inline_code(
    client, settings, pages, who, buyer, organiser
):
    if who != "anonymous":
        client.force_login(buyer if who == "buyer" else organiser)
    for name, url in pages.items():
        response = client.get(url)
        assert response["Content-Security-Policy"] == expected_policy(settings), name
        if response.status_code == 200 or name == "not found":
            html = response.content.decode()
            assert not INLINE_CODE.search(html), (name, INLINE_CODE.search(html))


def test_admin_pages_carry_the_policy_with_the_nonce_of_their_inline_blocks(client, staff):
    client.force_login(staff)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert index["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")

    changelist = client.get(reverse("admin:events_event_changelist"))
    nonces = set(re.findall(r'nonce="([^"]+)"', changelist.content.decode()))
    assert len(nonces) == 1, "one nonce per response, on every inline block"
    (nonce,) = nonces
    assert f"script-src 'self' 'nonce-{nonce}'" in changelist["Content-Security-Policy"]
    assert f"style-src 'self' 'nonce-{nonce}'" in changelist["Content-Security-Policy"]


def test_refusals_before_any_view_carry_the_policy_too(client, settings):
    # The 413 answer comes from the outermost body-size check, before Django's views.
    response = client.generic(
        "POST",
        reverse("home"),
        b"x",
        headers={"content-length": str(settings.MAX_REQUEST_BYTES + 1)},
    )
    assert response.status_code == 413
    assert response["Content-Security-Policy"] == expected_policy(settings)
    assert not INLINE_CODE.search(response.content.decode())


@pytest.mark.parametrize(
    "template", ["400.html", "403.html", "404.html", "413.html", "429.html", "500.html", "503.html"]
)
def test_error_pages_need_no_inline_code(template):
    # Some are rendered outside Django's middleware (the overload guard's 503), so they must
    # not rely on a nonce either.
    from django.template import loader

    html = loader.render_to_string(template, {"retry_after": 5})
    assert not INLINE_CODE.search(html), INLINE_CODE.search(html)
