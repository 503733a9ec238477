"""Connect objects: accounts, account links and login links."""

from typing import Any

from stripe_sim.protocol import new_id

# What a new Express account in the UK still has to provide before it can take payments
# (the fields Stripe's onboarding collects; Stripe lists them under requirements.*_due).
EXPRESS_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
COUNTRY_CURRENCIES = {
    "GB": "gbp",
    "US": "usd",
    "CA": "cad",
    "AU": "aud",
    "NZ": "nzd",
    "CH": "chf",
    "SE": "sek",
    "NO": "nok",
    "DK": "dkk",
    "PL": "pln",
    "JP": "jpy",
}
EURO_COUNTRIES = frozenset(
    "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split()  # noqa: SIM905
)


def default_currency_for(country: str) -> str:
    if country in EURO_COUNTRIES:
        return "eur"
    return COUNTRY_CURRENCIES.get(country, "usd")


def requirements(due: list[str]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def account_object(
    *,
    account_type: str,
    created: int,
    country: str,
    email: str | None,
    business_type: str | None,
    business_profile: dict[str, Any],
    capabilities: dict[str, str],
    metadata: dict[str, str],
) -> dict[str, Any]:
    """A connected account as Stripe returns it right after ``POST /v1/accounts``."""
    account_id = new_id("acct_", 16)
    return {
        "id": account_id,
        "object": "account",
        "business_profile": business_profile_object(business_profile),
        "business_type": business_type,
        "capabilities": capabilities,
        "charges_enabled": False,
        "controller": {
            "fees": {"payer": "application_express"},
            "is_controller": True,
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": account_type if account_type != "custom" else "none"},
            "type": "application",
        },
        "country": country,
        "created": created,
        "default_currency": default_currency_for(country),
        "details_submitted": False,
        "email": email,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": requirements([]),
        "metadata": metadata,
        "payouts_enabled": False,
        "requirements": requirements(EXPRESS_REQUIREMENTS),
        "settings": settings_object(business_profile.get("name")),
        "tos_acceptance": {"date": None},
        "type": account_type,
    }


def business_profile_object(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": values.get("mcc"),
        "name": values.get("name"),
        "product_description": values.get("product_description"),
        "support_address": None,
        "support_email": values.get("support_email"),
        "support_phone": values.get("support_phone"),
        "support_url": values.get("support_url"),
        "url": values.get("url"),
    }


def settings_object(display_name: str | None) -> dict[str, Any]:
    return {
        "bacs_debit_payments": {"display_name": None, "service_user_number": None},
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
        "card_payments": {
            "decline_on": {"avs_failure": False, "cvc_failure": False},
            "statement_descriptor_prefix": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "dashboard": {"display_name": display_name, "timezone": "Etc/UTC"},
        "invoices": {"default_account_tax_ids": None},
        "payments": {
            "statement_descriptor": None,
            "statement_descriptor_kana": None,
            "statement_descriptor_kanji": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "payouts": {
            "debit_negative_balances": True,
            "schedule": {"delay_days": 7, "interval": "daily"},
            "statement_descriptor": None,
        },
        "sepa_debit_payments": {},
    }


def bank_account_object(
    *, account_id: str, country: str, currency: str, holder_name: str, last4: str
) -> dict[str, Any]:
    """The payout bank account onboarding adds (Stripe's test sort code 10-88-00)."""
    return {
        "id": new_id("ba_"),
        "object": "bank_account",
        "account": account_id,
        "account_holder_name": holder_name,
        "account_holder_type": None,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": country,
        "currency": currency,
        "default_for_currency": True,
        "fingerprint": new_id("", 16),
        "future_requirements": {
            "currently_due": [],
            "errors": [],
            "past_due": [],
            "pending_verification": [],
        },
        "last4": last4,
        "metadata": {},
        "requirements": {
            "currently_due": [],
            "errors": [],
            "past_due": [],
            "pending_verification": [],
        },
        "routing_number": "108800",
        "status": "new",
    }


def account_link_object(*, created: int, expires_at: int, url: str) -> dict[str, Any]:
    return {"object": "account_link", "created": created, "expires_at": expires_at, "url": url}


def login_link_object(*, created: int, url: str) -> dict[str, Any]:
    return {"object": "login_link", "created": created, "url": url}


def deleted_account_object(account_id: str) -> dict[str, Any]:
    return {"id": account_id, "object": "account", "deleted": True}
