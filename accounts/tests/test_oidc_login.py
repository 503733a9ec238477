"""Signing in through an OpenID Connect provider, end to end over real HTTP.

Ticket Hub runs in ``live_server``; the provider is a django-oauth-toolkit project in a
subprocess (see conftest). allauth fetches the discovery document, exchanges the code and
reads the userinfo over HTTP, exactly as it would against a real provider.
"""

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from tickethub.settings import _openid_connect_apps


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class Page(HTMLParser):
    """The links and forms of an HTML response: enough to click and submit like a browser."""

    def __init__(self, response: requests.Response):
        super().__init__()
        self.url = response.url
        self.links: dict[str, str] = {}
        self.forms: list[Form] = []
        self._href: str | None = None
        self._form: Form | None = None
        self.feed(response.text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self._href = attrs["href"]
        elif tag == "form":
            self._form = Form(action=urljoin(self.url, attrs.get("action") or self.url))
            self.forms.append(self._form)
        elif tag == "input" and self._form and attrs.get("name"):
            self._form.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data):
        if self._href and data.strip():
            self.links[data.strip()] = urljoin(self.url, self._href)

    def form_with(self, field_name: str) -> Form:
        return next(form for form in self.forms if field_name in form.fields)


def configure_oidc(settings, oidc_provider, *, client_secret: str) -> None:
    """Point Ticket Hub at the provider the way OIDC_PROVIDERS does in production."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": _openid_connect_apps(
                json.dumps(
                    [
                        {
                            "id": oidc_provider.provider_id,
                            "name": oidc_provider.name,
                            "client_id": oidc_provider.client_id,
                            "secret": client_secret,
                            "server_url": oidc_provider.issuer_url,
                        }
                    ]
                )
            ),
        },
    }


@pytest.fixture
def oidc_configured(settings, oidc_provider, monkeypatch):
    # allauth's own requests to the provider must never go through a proxy, and get more
    # than allauth's default 5 s: CI machines running several suites at once are slow.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 30
    configure_oidc(settings, oidc_provider, client_secret=oidc_provider.client_secret)
    return oidc_provider


def new_browser() -> requests.Session:
    browser = requests.Session()
    browser.trust_env = False
    return browser


def sign_in_with_oidc(browser, site_url, oidc_provider) -> requests.Response:
    """Walk the journey: Ticket Hub's sign-in page, the provider's login form, back again."""
    sign_in = Page(browser.get(f"{site_url}/accounts/login/"))
    csrf_token = sign_in.form_with("csrfmiddlewaretoken").fields["csrfmiddlewaretoken"]
    # allauth starts a provider login only on POST; a GET shows a confirmation page.
    at_provider = browser.post(
        sign_in.links[oidc_provider.name], data={"csrfmiddlewaretoken": csrf_token}
    )
    assert at_provider.url.startswith(f"{oidc_provider.url}/accounts/login/")
    login_form = Page(at_provider).form_with("password")
    return browser.post(
        login_form.action,
        data={
            **login_form.fields,
            "username": oidc_provider.user_email,
            "password": oidc_provider.user_password,
        },
    )


def assert_signed_in_as(browser, site_url, email):
    home = browser.get(f"{site_url}/")
    assert home.status_code == 200
    assert email in home.text
    assert "Sign out" in home.text


def test_signing_in_with_oidc_creates_a_signed_in_user(live_server, oidc_configured):
    browser = new_browser()

    landed = sign_in_with_oidc(browser, live_server.url, oidc_configured)

    assert landed.status_code == 200
    assert landed.url == f"{live_server.url}/"
    assert_signed_in_as(browser, live_server.url, oidc_configured.user_email)
    user = get_user_model().objects.get(email=oidc_configured.user_email)
    assert SocialAccount.objects.filter(user=user, provider=oidc_configured.provider_id).exists()
    # The provider vouches for the address, so no confirmation e-mail is needed.
    assert EmailAddress.objects.get(user=user).verified


def test_signing_in_again_uses_the_same_account(live_server, oidc_configured):
    sign_in_with_oidc(new_browser(), live_server.url, oidc_configured)
    user = get_user_model().objects.get(email=oidc_configured.user_email)

    other_browser = new_browser()
    sign_in_with_oidc(other_browser, live_server.url, oidc_configured)

    assert_signed_in_as(other_browser, live_server.url, oidc_configured.user_email)
    assert list(get_user_model().objects.all()) == [user]
    assert SocialAccount.objects.get().user == user


def test_a_wrong_client_secret_ends_on_the_login_failure_page(
    live_server, oidc_configured, settings
):
    configure_oidc(settings, oidc_configured, client_secret="not-the-secret")
    browser = new_browser()

    landed = sign_in_with_oidc(browser, live_server.url, oidc_configured)

    assert landed.url.startswith(
        f"{live_server.url}/accounts/oidc/{oidc_configured.provider_id}/login/callback/"
    )
    assert "Third-Party Login Failure" in landed.text
    assert not get_user_model().objects.exists()
    home = browser.get(f"{live_server.url}/")
    assert "Sign out" not in home.text
    assert "Sign in" in home.text


def test_oidc_providers_are_read_with_their_defaults():
    apps = _openid_connect_apps(
        json.dumps(
            [
                {
                    "id": "staff",
                    "name": "Staff sign-in",
                    "client_id": "staff-client",
                    "secret": "staff-secret",
                    "server_url": "https://id.example.org/realms/staff",
                    "token_auth_method": "client_secret_basic",
                    "pkce": False,
                },
                {
                    "id": "partners",
                    "client_id": "partners-client",
                    "server_url": "https://partners.example.net",
                },
            ]
        )
    )

    assert apps == [
        {
            "provider_id": "staff",
            "name": "Staff sign-in",
            "client_id": "staff-client",
            "secret": "staff-secret",
            "settings": {
                "server_url": "https://id.example.org/realms/staff",
                "token_auth_method": "client_secret_basic",
                "oauth_pkce_enabled": False,
            },
        },
        {
            "provider_id": "partners",
            "name": "partners",
            "client_id": "partners-client",
            "secret": "",
            "settings": {
                "server_url": "https://partners.example.net",
                "token_auth_method": "client_secret_post",
                "oauth_pkce_enabled": True,
            },
        },
    ]


@pytest.mark.parametrize("raw", ["", "[]"])
def test_no_oidc_providers_when_none_are_configured(raw):
    assert _openid_connect_apps(raw) == []
