"""Connected accounts, onboarding through the hosted page, account and login links."""

import re

import pytest
import stripe

from stripe_sim.tests.conftest import make_account

REFRESH = "https://tickets.example/organiser/stripe/refresh"
RETURN = "https://tickets.example/organiser/stripe/return"


def onboarding_link(client, account_id: str):
    return client.v1.account_links.create(
        params={
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": REFRESH,
            "return_url": RETURN,
        }
    )


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html)[1]


def test_new_express_account_cannot_take_payments_yet(client):
    account = make_account(client, metadata={"organiser_id": "7"})
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.country == "GB"
    assert account.default_currency == "gbp"
    assert (account.details_submitted, account.charges_enabled, account.payouts_enabled) == (
        False,
        False,
        False,
    )
    assert "external_account" in account.requirements.currently_due
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert account.metadata["organiser_id"] == "7"


def test_card_payments_without_transfers_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(
            params={"type": "express", "capabilities": {"card_payments": {"requested": True}}}
        )
    assert caught.value.param == "capabilities"


def test_account_retrieve_update_list_delete(client, receiver, sim):
    account = make_account(client)
    updated = client.v1.accounts.update(
        account.id, params={"metadata": {"organiser_id": "9", "gone": ""}}
    )
    assert updated.metadata.to_dict() == {"organiser_id": "9"}
    assert client.v1.accounts.retrieve(account.id).metadata["organiser_id"] == "9"
    second = make_account(client)
    listed = client.v1.accounts.list(params={"limit": 1})
    assert [item.id for item in listed.data] == [second.id]
    assert listed.has_more is True
    rest = client.v1.accounts.list(params={"starting_after": second.id})
    assert [item.id for item in rest.data] == [account.id]
    deleted = client.v1.accounts.delete(second.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.retrieve(second.id)
    sim.deliver()
    update_events = [e for e in receiver.verified_events() if e.type == "account.updated"]
    assert update_events[0].account == account.id
    # A key that did not exist before shows as null, as in Stripe's previous_attributes.
    assert update_events[0].data.previous_attributes.metadata.to_dict() == {"organiser_id": None}


def test_onboarding_through_the_hosted_page(sim, client, visitor, receiver):
    account = make_account(client)
    link = onboarding_link(client, account.id)
    assert link.url.startswith(f"{sim.url}/hosted/onboarding/")
    assert link.expires_at == link.created + 300
    page = visitor.get(link.url, timeout=10)
    assert page.status_code == 200
    assert "Stripe simulator — TEST MODE" in page.text
    assert '<label for="business_name">Business name</label>' in page.text
    assert ">Submit</button>" in page.text
    done = visitor.post(
        link.url,
        data={
            "form_token": form_token(page.text),
            "business_name": "Riverside Gigs",
            "business_type": "company",
            "email": "gigs@example.com",
            "tos": "accepted",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303
    assert done.headers["Location"] == RETURN
    ready = client.v1.accounts.retrieve(account.id)
    assert (ready.details_submitted, ready.charges_enabled, ready.payouts_enabled) == (
        True,
        True,
        True,
    )
    assert ready.requirements.currently_due == []
    assert ready.capabilities.card_payments == "active"
    assert ready.business_profile.name == "Riverside Gigs"
    sim.deliver()
    (event,) = [e for e in receiver.verified_events() if e.type == "account.updated"]
    assert event.account == account.id
    assert event.data.object.charges_enabled is True
    assert event.data.previous_attributes.charges_enabled is False


def test_used_link_sends_the_browser_to_refresh_url(client, visitor):
    account = make_account(client)
    link = onboarding_link(client, account.id)
    first = visitor.get(link.url, timeout=10)
    assert first.status_code == 200
    again = visitor.get(link.url, allow_redirects=False, timeout=10)
    assert again.status_code == 303
    assert again.headers["Location"] == REFRESH
    submitted = visitor.post(
        link.url,
        data={"form_token": "forged", "tos": "accepted"},
        allow_redirects=False,
        timeout=10,
    )
    assert submitted.headers["Location"] == REFRESH
    assert client.v1.accounts.retrieve(account.id).charges_enabled is False


def test_expired_link_sends_the_browser_to_refresh_url(sim, client, visitor):
    account = make_account(client)
    link = onboarding_link(client, account.id)
    sim.advance_clock(301)
    answer = visitor.get(link.url, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["Location"] == REFRESH


def test_submitting_twice_does_not_onboard_twice(client, visitor, sim, receiver):
    account = make_account(client)
    link = onboarding_link(client, account.id)
    token = form_token(visitor.get(link.url, timeout=10).text)
    data = {"form_token": token, "tos": "accepted"}
    first = visitor.post(link.url, data=data, allow_redirects=False, timeout=10)
    second = visitor.post(link.url, data=data, allow_redirects=False, timeout=10)
    assert (first.headers["Location"], second.headers["Location"]) == (RETURN, REFRESH)
    sim.deliver()
    assert receiver.types().count("account.updated") == 1


def test_account_link_rules(client):
    account = make_account(client)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.account_links.create(
            params={
                "account": "acct_nope",
                "type": "account_onboarding",
                "refresh_url": REFRESH,
                "return_url": RETURN,
            }
        )
    assert (missing.value.code, missing.value.param) == ("resource_missing", "account")
    with pytest.raises(stripe.InvalidRequestError) as update:
        client.v1.account_links.create(
            params={
                "account": account.id,
                "type": "account_update",
                "refresh_url": REFRESH,
                "return_url": RETURN,
            }
        )
    assert update.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as no_return:
        client.v1.account_links.create(
            params={"account": account.id, "type": "account_onboarding", "refresh_url": REFRESH}
        )
    assert no_return.value.param == "return_url"


def test_login_link_opens_the_express_dashboard_once(sim, client, visitor, account_id):
    link = client.v1.accounts.login_links.create(account_id)
    assert link.object == "login_link"
    page = visitor.get(link.url, timeout=10)
    assert page.status_code == 200
    assert account_id in page.text
    assert "Express dashboard" in page.text
    assert visitor.get(link.url, timeout=10).status_code == 410


def test_login_link_needs_finished_onboarding(client):
    account = make_account(client)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.login_links.create(account.id)
