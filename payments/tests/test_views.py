"""The pages: Get paid (onboarding), Buy, the success page; over Django's test client with
the simulator answering as Stripe."""

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.urls import reverse

from payments.models import ConnectedAccount, Order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def submit_hosted_onboarding(link: str) -> str:
    """What an organiser does on Stripe's onboarding form; returns where Stripe sends them."""
    with requests.Session() as browser:
        form = browser.get(link, timeout=10)
        token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
        done = browser.post(
            link,
            data={
                "form_token": token,
                "business_name": "Hart Events",
                "business_type": "individual",
                "email": "seller@example.com",
                "website": "https://example.com",
                "sort_code": "10-88-00",
                "account_number": "00012345",
                "tos": "accepted",
            },
            allow_redirects=False,
            timeout=10,
        )
    assert done.status_code in (302, 303), done.text[:500]
    return done.headers["Location"]


def test_an_organiser_connects_stripe_and_comes_back_ready_to_sell(client, stripe_sim, settings):
    organiser = UserFactory(email="new-organiser@example.com")
    client.force_login(organiser)
    page = client.get(reverse("payments_get_paid"))
    assert b"Connect with Stripe" in page.content

    started = client.post(reverse("payments_start_onboarding"))
    again = client.post(reverse("payments_start_onboarding"))  # a second click, a second tab

    assert started.status_code == 302 and started["Location"].startswith(stripe_sim.url)
    assert ConnectedAccount.objects.filter(organiser=organiser).count() == 1
    assert len(stripe_sim.client().v1.accounts.list().data) == 1
    back = submit_hosted_onboarding(again["Location"])
    assert back == "http://testserver" + reverse("payments_onboarding_return")
    page = client.get(back, follow=True)
    assert b"Active: you can sell paid tickets" in page.content
    account = ConnectedAccount.objects.get(organiser=organiser)
    assert (account.charges_enabled, account.payouts_enabled, account.requirements_due) == (
        True,
        True,
        [],
    )
    for secret in (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
    ):
        assert secret.encode() not in page.content


def test_a_used_onboarding_link_sends_the_organiser_for_a_new_one(client, stripe_sim):
    organiser = UserFactory(email="twice@example.com")
    client.force_login(organiser)
    link = client.post(reverse("payments_start_onboarding"))["Location"]
    submit_hosted_onboarding(link)
    reused = requests.get(link, allow_redirects=False, timeout=10)
    assert reused.headers["Location"].endswith(reverse("payments_onboarding_refresh"))
    fresh = client.get(reverse("payments_onboarding_refresh"))
    assert fresh.status_code == 302 and fresh["Location"] != link


def test_the_express_dashboard_opens_only_for_the_organiser_s_own_account(client, seller):
    client.force_login(seller)
    response = client.post(reverse("payments_dashboard"))
    assert response.status_code == 302 and "/hosted/express/" in response["Location"]
    client.force_login(UserFactory(email="no-account@example.com"))
    assert client.post(reverse("payments_dashboard")).status_code == 409


@pytest.mark.parametrize("name", ["payments_get_paid", "checkout_success"])
def test_pages_need_a_signed_in_user(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_buy_redirects_to_stripe_checkout_and_twice_to_the_same_session(
    client, stripe_sim, offer, buyers
):
    client.force_login(buyers[0])
    first = client.post(reverse("checkout", args=[offer.pk]))
    second = client.post(reverse("checkout", args=[offer.pk]))
    assert first.status_code == 302 and "/hosted/checkout/cs_test_" in first["Location"]
    assert second["Location"] == first["Location"]
    assert client.get(reverse("checkout", args=[offer.pk])).status_code == 405


def test_buying_someone_else_s_or_an_expired_offer_changes_nothing(
    client, stripe_sim, offer, buyers
):
    client.force_login(buyers[1])
    assert client.post(reverse("checkout", args=[offer.pk])).status_code == 404
    assert client.post(reverse("checkout", args=[10**12])).status_code == 404
    client.force_login(buyers[0])
    with time_machine.travel(offer.expires_at + timedelta(seconds=1)):
        response = client.post(reverse("checkout", args=[offer.pk]))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not Order.objects.exists()


def test_the_success_page_shows_the_tickets_once_paid_and_only_to_the_buyer(
    client, stripe_sim, offer, buyers
):
    client.force_login(buyers[0])
    client.post(reverse("checkout", args=[offer.pk]))
    order = Order.objects.get()
    url = reverse("checkout_success") + f"?session_id={order.checkout_session_id}"

    waiting = client.get(url)
    assert b"Processing your payment" in waiting.content
    assert b'hx-trigger="every 2s"' in waiting.content

    stripe_sim.pay(order.checkout_session_id)
    done = client.get(url, headers={"HX-Request": "true"})
    assert b"your tickets are ready" in done.content
    assert b"<html" not in done.content  # the fragment the polling swaps in

    client.force_login(buyers[1])
    assert client.get(url).status_code == 404
    assert client.get(reverse("checkout_success") + "?session_id=cs_test_nope").status_code == 404


def test_cancelling_checkout_keeps_the_offer(client, stripe_sim, offer, buyers):
    client.force_login(buyers[0])
    response = client.get(reverse("checkout_cancelled", args=[offer.pk]), follow=True)
    assert b"Your tickets stay held" in response.content
    offer.refresh_from_db()
    assert offer.status == "offered"


@pytest.mark.parametrize(
    "session_id",
    ["cs_test_\x00", "\x00", "cs test", "cs_\u202etest", "ٮ" * 10, "x" * 300],
    ids=["nul", "only-nul", "space", "rtl-override", "arabic", "too-long"],
)
def test_a_session_id_stripe_could_not_have_sent_is_not_found(client, buyers, session_id):
    client.force_login(buyers[0])
    response = client.get(reverse("checkout_success"), {"session_id": session_id})
    assert response.status_code == 404
