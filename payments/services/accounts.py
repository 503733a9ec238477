"""Organisers' Stripe Express accounts: created once, onboarded through account links, and
their status kept from Stripe (on return from onboarding and on account.updated)."""

import logging

import stripe
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from events.services import set_seller_payments_ready
from payments.models import ConnectedAccount
from payments.stripe_api import PaymentProviderUnavailable, as_dict, client
from tickethub.locks import locked

logger = logging.getLogger(__name__)


def connected_account_of(organiser: User) -> ConnectedAccount | None:
    return ConnectedAccount.objects.filter(organiser=organiser).first()


def ensure_connected_account(*, organiser: User) -> ConnectedAccount:
    """The organiser's Express account, created at Stripe the first time.

    The idempotency key is the organiser's, so a double click or two tabs create one Stripe
    account; the one-to-one constraint keeps one row.
    """
    existing = connected_account_of(organiser)
    if existing is not None:
        return existing
    try:
        created = client().v1.accounts.create(
            params={
                "type": "express",
                "country": settings.STRIPE_CONNECT_COUNTRY,
                "email": organiser.email,
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
                "metadata": {"organiser_id": str(organiser.pk)},
            },
            options={"idempotency_key": f"tickethub-connect-account-{organiser.pk}"},
        )
    except stripe.StripeError as error:
        logger.warning("Creating a connected account failed: %s", error.user_message or error)
        raise PaymentProviderUnavailable() from error
    with transaction.atomic():
        account, _ = ConnectedAccount.objects.get_or_create(
            organiser=organiser,
            defaults={"stripe_account_id": created.id, "country": created.country or ""},
        )
        _apply_status(account, as_dict(created))
    return account


def onboarding_link(*, organiser: User, return_url: str, refresh_url: str) -> str:
    """A fresh single-use Stripe onboarding link for the organiser's own account."""
    account = ensure_connected_account(organiser=organiser)
    try:
        link = client().v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            }
        )
    except stripe.StripeError as error:
        raise PaymentProviderUnavailable() from error
    return link.url


def express_dashboard_link(*, organiser: User) -> str | None:
    """A login link to the organiser's Express dashboard, once onboarding is done."""
    account = connected_account_of(organiser)
    if account is None or not account.details_submitted:
        return None
    try:
        return client().v1.accounts.login_links.create(account.stripe_account_id).url
    except stripe.StripeError as error:
        raise PaymentProviderUnavailable() from error


def refresh_account_status(*, stripe_account_id: str) -> ConnectedAccount | None:
    """Fetch the account from Stripe and store its status. Used on return from onboarding
    and for account.updated: the latest state is fetched rather than taken from the event,
    so events arriving out of order cannot roll the status back."""
    account = ConnectedAccount.objects.filter(stripe_account_id=stripe_account_id).first()
    if account is None:
        return None
    fetched = as_dict(client().v1.accounts.retrieve(stripe_account_id))
    with locked() as lock:
        account = lock.rows(ConnectedAccount.objects.all(), [account.pk])[account.pk]
        _apply_status(account, fetched)
    return account


def _apply_status(account: ConnectedAccount, fetched: dict) -> None:
    requirements = fetched.get("requirements") or {}
    due = set(requirements.get("currently_due") or []) | set(requirements.get("past_due") or [])
    account.details_submitted = bool(fetched.get("details_submitted"))
    account.charges_enabled = bool(fetched.get("charges_enabled"))
    account.payouts_enabled = bool(fetched.get("payouts_enabled"))
    account.requirements_due = sorted(due)
    account.disabled_reason = requirements.get("disabled_reason") or ""
    account.save()
    set_seller_payments_ready(
        organiser_id=account.organiser_id, can_take_payments=account.charges_enabled
    )
