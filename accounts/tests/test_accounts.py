"""Sign-up, sign-in, password reset, rate limits and two-factor sign-in, driven through
django-allauth's real views with the test client, the real database and locmem e-mail."""

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse
from django.utils.crypto import get_random_string
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from tests.factories import PASSWORD, EventFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "purple-lantern-orchard-41"
WRONG_CREDENTIALS = "The email address and/or password you specified are not correct."
TOO_MANY_FAILED_LOGINS = "Too many failed login attempts. Try again later."


# --- Helpers: what the user does and sees ---------------------------------------------------


def sign_in(client, email: str, password: str = PASSWORD, **query):
    url = reverse("account_login")
    if query:
        url += f"?{urlencode(query)}"
    return client.post(url, {"login": email, "password": password})


def reauthenticate(client, next_url: str):
    """allauth asks for the password again before sign-in security is changed or shown."""
    url = f"{reverse('account_reauthenticate')}?{urlencode({'next': next_url})}"
    return client.post(url, {"password": PASSWORD})


def assert_signed_in_as(client, email: str) -> None:
    page = client.get(reverse("home"))
    assertContains(page, "Sign out")
    assertContains(page, email)
    assert page.context["user"].email == email


def assert_signed_out(client) -> None:
    page = client.get(reverse("home"))
    assertContains(page, "Sign in")
    assertNotContains(page, "Sign out")
    assert not page.context["user"].is_authenticated


def code_in(message) -> str:
    """The one-time code allauth puts on its own line in verification and sign-in mails."""
    match = re.search(r"open browser window\.\s+(\S+)", message.body)
    assert match, message.body
    return match.group(1)


def a_different_code(code: str) -> str:
    return "BCDF-GHJK" if code.replace("-", "").upper() != "BCDFGHJK" else "LMNP-QRST"


def current_totp(secret: str) -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def sign_up(client, email: str):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


# --- Sign-up and e-mail verification --------------------------------------------------------


def test_sign_up_sends_a_code_and_entering_it_verifies_the_address_and_signs_in(client, mailoutbox):
    response = sign_up(client, "newcomer@example.com")

    assertRedirects(
        response, reverse("account_email_verification_sent"), fetch_redirect_response=False
    )
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newcomer@example.com"]
    assert mailoutbox[0].subject.startswith("[Ticket Hub] ")
    assert not EmailAddress.objects.get(email="newcomer@example.com").verified
    assert_signed_out(client)

    code_page = client.get(reverse("account_email_verification_sent"))
    assertContains(code_page, "newcomer@example.com")
    response = client.post(
        reverse("account_email_verification_sent"), {"code": code_in(mailoutbox[0])}
    )

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert EmailAddress.objects.get(email="newcomer@example.com").verified
    assert_signed_in_as(client, "newcomer@example.com")


def test_a_wrong_verification_code_shows_an_error_and_leaves_the_address_unverified(
    client, mailoutbox
):
    sign_up(client, "newcomer@example.com")
    wrong_code = a_different_code(code_in(mailoutbox[0]))

    response = client.post(reverse("account_email_verification_sent"), {"code": wrong_code})

    assertContains(response, "Incorrect code.")
    assert not EmailAddress.objects.get(email="newcomer@example.com").verified
    assert_signed_out(client)


def test_an_unverified_address_signing_in_with_its_password_gets_a_fresh_code_to_enter(
    client, mailoutbox, time_machine
):
    time_machine.move_to(time.time(), tick=True)
    sign_up(client, "newcomer@example.com")
    client.post(reverse("account_logout"))
    mailoutbox.clear()
    # A new verification code may be sent to one address once every 10 seconds.
    time_machine.shift(timedelta(seconds=11))

    response = sign_in(client, "newcomer@example.com", NEW_PASSWORD)

    assertRedirects(
        response, reverse("account_email_verification_sent"), fetch_redirect_response=False
    )
    assert len(mailoutbox) == 1
    assert_signed_out(client)
    response = client.post(
        reverse("account_email_verification_sent"), {"code": code_in(mailoutbox[0])}
    )
    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "newcomer@example.com")


# --- Password sign-in and sign-out ----------------------------------------------------------


def test_sign_in_with_email_and_password_then_sign_out(client):
    UserFactory(email="ada@example.com")

    response = sign_in(client, "ada@example.com")

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "ada@example.com")

    response = client.post(reverse("account_logout"))

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_out(client)


def test_sign_out_by_get_only_asks_for_confirmation(client):
    UserFactory(email="ada@example.com")
    sign_in(client, "ada@example.com")

    page = client.get(reverse("account_logout"))

    assertContains(page, "Are you sure you want to sign out?")
    assert_signed_in_as(client, "ada@example.com")


def test_sign_in_with_a_wrong_password_shows_an_error_and_does_not_sign_in(client):
    UserFactory(email="ada@example.com")

    response = sign_in(client, "ada@example.com", "not-my-password")

    assertContains(response, WRONG_CREDENTIALS)
    assert_signed_out(client)


# --- Sign-in by a code sent by e-mail -------------------------------------------------------


def test_sign_in_with_a_one_time_code_sent_by_email(client, mailoutbox):
    UserFactory(email="ada@example.com")

    response = client.post(reverse("account_request_login_code"), {"email": "ada@example.com"})

    assertRedirects(response, reverse("account_confirm_login_code"), fetch_redirect_response=False)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@example.com"]
    assert_signed_out(client)

    response = client.post(reverse("account_confirm_login_code"), {"code": code_in(mailoutbox[0])})

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "ada@example.com")


def test_a_wrong_sign_in_code_is_refused(client, mailoutbox):
    UserFactory(email="ada@example.com")
    client.post(reverse("account_request_login_code"), {"email": "ada@example.com"})

    response = client.post(
        reverse("account_confirm_login_code"), {"code": a_different_code(code_in(mailoutbox[0]))}
    )

    assertContains(response, "Incorrect code.")
    assert_signed_out(client)


# --- Password reset -------------------------------------------------------------------------


def test_password_reset_by_emailed_link_replaces_the_old_password(client, mailoutbox):
    UserFactory(email="ada@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "ada@example.com"})

    assertRedirects(response, reverse("account_reset_password_done"), fetch_redirect_response=False)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@example.com"]
    link = re.search(r"https?://\S+/password/reset/key/\S+", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    reset_path = urlsplit(link.group(0)).path

    # The link stores its key in the session and moves to a URL without it.
    set_password_page = client.get(reset_path, follow=True)
    assertContains(set_password_page, "New Password")
    response = client.post(
        set_password_page.redirect_chain[-1][0],
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assertRedirects(
        response, reverse("account_reset_password_from_key_done"), fetch_redirect_response=False
    )
    assert_signed_out(client)  # ACCOUNT_LOGIN_ON_PASSWORD_RESET is off
    assertContains(sign_in(client, "ada@example.com", PASSWORD), WRONG_CREDENTIALS)
    assertRedirects(
        sign_in(client, "ada@example.com", NEW_PASSWORD),
        reverse("home"),
        fetch_redirect_response=False,
    )
    assert_signed_in_as(client, "ada@example.com")


def test_a_password_reset_link_works_only_once(client, mailoutbox):
    UserFactory(email="ada@example.com")
    client.post(reverse("account_reset_password"), {"email": "ada@example.com"})
    reset_path = urlsplit(
        re.search(r"https?://\S+/password/reset/key/\S+", mailoutbox[0].body).group(0)
    ).path
    set_password_url = client.get(reset_path)["Location"]
    client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    page = client.get(reset_path)

    assertContains(page, "Bad Token")


# --- Rate limits ----------------------------------------------------------------------------


def test_after_five_failed_sign_ins_for_one_address_even_the_right_password_is_refused(client):
    UserFactory(email="ada@example.com")
    for _ in range(5):
        assertContains(sign_in(client, "ada@example.com", "not-my-password"), WRONG_CREDENTIALS)

    response = sign_in(client, "ada@example.com", PASSWORD)

    # allauth refuses the attempt with a form error on the sign-in page (HTTP 200), not a 429.
    assertContains(response, TOO_MANY_FAILED_LOGINS, status_code=200)
    assert_signed_out(client)


def test_the_failed_sign_in_limit_is_per_address(client):
    UserFactory(email="ada@example.com")
    UserFactory(email="grace@example.com")
    for _ in range(5):
        sign_in(client, "ada@example.com", "not-my-password")

    response = sign_in(client, "grace@example.com")

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "grace@example.com")


def test_the_failed_sign_in_limit_lifts_after_five_minutes(client, time_machine):
    time_machine.move_to(time.time(), tick=True)
    UserFactory(email="ada@example.com")
    for _ in range(5):
        sign_in(client, "ada@example.com", "not-my-password")
    assertContains(sign_in(client, "ada@example.com", PASSWORD), TOO_MANY_FAILED_LOGINS)

    time_machine.shift(timedelta(minutes=5, seconds=1))
    response = sign_in(client, "ada@example.com", PASSWORD)

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "ada@example.com")


def test_more_than_thirty_sign_in_posts_a_minute_from_one_ip_get_the_429_page(client):
    UserFactory(email="ada@example.com")
    for attempt in range(30):
        response = sign_in(client, f"guess{attempt}@example.com", "not-my-password")
        assert response.status_code == 200

    response = sign_in(client, "ada@example.com", PASSWORD)

    assertContains(
        response,
        "Too many attempts, please wait a few minutes and try again.",
        status_code=429,
    )
    assert_signed_out(client)


def test_the_sign_in_429_says_in_retry_after_when_the_oldest_attempt_leaves_the_minute(
    client, time_machine
):
    started = time.time()
    time_machine.move_to(started, tick=False)
    sign_in(client, "guess@example.com", "not-my-password")
    time_machine.move_to(started + 20, tick=False)
    for attempt in range(29):
        sign_in(client, f"guess{attempt}@example.com", "not-my-password")

    time_machine.move_to(started + 35, tick=False)
    response = sign_in(client, "ada@example.com", PASSWORD)

    # 30 sign-ins a minute per IP: the first (at 0) leaves the window at 60, 25 s from now.
    assert response.status_code == 429
    assert response["Retry-After"] == "25"


# --- Two-factor authentication: TOTP and recovery codes -------------------------------------


@pytest.fixture
def totp_clock(time_machine):
    """Start at the beginning of a TOTP period so a code computed in the test is still the
    current one when the server checks it (allauth allows no clock drift by default)."""
    period = mfa_settings.TOTP_PERIOD
    time_machine.move_to((int(time.time()) // period + 1) * period, tick=True)


def activate_totp(client) -> tuple[str, list[str]]:
    """Walk the activation pages as a signed-in user; return the secret and recovery codes."""
    activate_url = reverse("mfa_activate_totp")

    # Changing how the account signs in needs the password again, even just after sign-in.
    response = client.get(activate_url)
    assertRedirects(
        response,
        f"{reverse('account_reauthenticate')}?{urlencode({'next': activate_url})}",
        fetch_redirect_response=False,
    )
    assertRedirects(
        reauthenticate(client, activate_url), activate_url, fetch_redirect_response=False
    )

    page = client.get(activate_url)
    secret = page.context["form"].secret
    assertContains(page, secret)  # shown so it can be typed into an authenticator app
    response = client.post(activate_url, {"code": current_totp(secret)})

    assertRedirects(response, reverse("mfa_view_recovery_codes"), fetch_redirect_response=False)
    codes_page = client.get(reverse("mfa_view_recovery_codes"))
    recovery_codes = list(codes_page.context["unused_codes"])
    for code in recovery_codes:
        assertContains(codes_page, code)
    return secret, recovery_codes


@pytest.fixture
def totp_user(client, totp_clock):
    """ada@example.com with TOTP activated through the pages, signed out again."""
    UserFactory(email="ada@example.com")
    sign_in(client, "ada@example.com")
    secret, recovery_codes = activate_totp(client)
    client.post(reverse("account_logout"))
    return secret, recovery_codes


def test_signed_in_user_activates_totp_and_gets_ten_recovery_codes(client, totp_clock):
    user = UserFactory(email="ada@example.com")
    sign_in(client, "ada@example.com")

    _, recovery_codes = activate_totp(client)

    assert len(recovery_codes) == 10
    assert len(set(recovery_codes)) == 10
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }


def test_a_wrong_code_does_not_activate_totp(client, totp_clock):
    user = UserFactory(email="ada@example.com")
    sign_in(client, "ada@example.com")
    reauthenticate(client, reverse("mfa_activate_totp"))
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    right = current_totp(secret)
    wrong = format_hotp_value((int(right) + 1) % 10**mfa_settings.TOTP_DIGITS)

    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})

    assertContains(response, "Incorrect code.")
    assert not Authenticator.objects.filter(user=user).exists()


def test_password_sign_in_asks_for_the_second_factor_and_a_totp_code_completes_it(
    client, totp_user
):
    secret, _ = totp_user

    response = sign_in(client, "ada@example.com")

    assertRedirects(response, reverse("mfa_authenticate"), fetch_redirect_response=False)
    assertContains(client.get(reverse("mfa_authenticate")), "Two-Factor Authentication")
    assert_signed_out(client)

    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(secret)})

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "ada@example.com")


def test_a_wrong_second_factor_code_is_refused(client, totp_user):
    secret, _ = totp_user
    right = current_totp(secret)
    wrong = format_hotp_value((int(right) + 1) % 10**mfa_settings.TOTP_DIGITS)
    sign_in(client, "ada@example.com")

    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assertContains(response, "Incorrect code.")
    assert_signed_out(client)


def test_a_totp_code_cannot_be_used_for_a_second_sign_in(client, totp_user):
    secret, _ = totp_user
    code = current_totp(secret)
    sign_in(client, "ada@example.com")
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.post(reverse("account_logout"))

    sign_in(client, "ada@example.com")
    response = client.post(reverse("mfa_authenticate"), {"code": code})

    assertContains(response, "Incorrect code.")
    assert_signed_out(client)


def test_a_recovery_code_completes_the_sign_in_once(client, totp_user):
    _, recovery_codes = totp_user
    sign_in(client, "ada@example.com")

    response = client.post(reverse("mfa_authenticate"), {"code": recovery_codes[0]})

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert_signed_in_as(client, "ada@example.com")
    codes_url = reverse("mfa_view_recovery_codes")
    reauthenticate(client, codes_url)
    codes_page = client.get(codes_url)
    assertContains(codes_page, "There are 9 out of 10 recovery codes available.")
    assertNotContains(codes_page, recovery_codes[0])

    client.post(reverse("account_logout"))
    sign_in(client, "ada@example.com")
    response = client.post(reverse("mfa_authenticate"), {"code": recovery_codes[0]})

    assertContains(response, "Incorrect code.")
    assert_signed_out(client)


# --- What needs sign-in ---------------------------------------------------------------------


def test_creating_an_event_anonymously_redirects_to_sign_in_and_back(client):
    UserFactory(email="ada@example.com")

    response = client.get("/organiser/events/new/")

    assertRedirects(
        response,
        f"{reverse('account_login')}?next=/organiser/events/new/",
        fetch_redirect_response=False,
    )
    response = sign_in(client, "ada@example.com", next="/organiser/events/new/")
    assertRedirects(response, "/organiser/events/new/")


def test_home_and_event_pages_are_public(client):
    event = EventFactory(name="Jazz at the Blue Room")

    assertContains(client.get(reverse("home")), "Jazz at the Blue Room")
    assertContains(
        client.get(reverse("event_detail", kwargs={"event_id": event.pk})),
        "Jazz at the Blue Room",
    )


# --- Production settings --------------------------------------------------------------------


def run_deploy_checks(tmp_path, **production_env) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        # Production defaults are what is checked, not whatever this shell overrides; the
        # test conftest's DJANGO_ALLOW_ASYNC_UNSAFE (for Playwright) is no production value.
        if not name.startswith(("SECURE_", "CSRF_", "SESSION_", "EMAIL_"))
        and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DEBUG="false",
        SITE_URL="https://tickets.example.com",
        ALLOWED_HOSTS="tickets.example.com",
        SECRET_KEY=get_random_string(60),
        TICKETHUB_VAR_DIR=str(tmp_path),
        **production_env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_checks_are_clean_under_production_settings(tmp_path):
    # Mandatory e-mail verification means production must have a real mail server.
    result = run_deploy_checks(tmp_path, EMAIL_URL="smtp+tls://tickets:secret@smtp.example.com:587")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_refuse_a_production_site_that_prints_its_mail_to_the_console(tmp_path):
    result = run_deploy_checks(tmp_path)

    assert result.returncode != 0
    assert "mail.E001" in result.stderr
