"""The one place the site talks to Stripe: a configured client of the official SDK, the
platform fee, and the errors a page may show.

Without STRIPE_SECRET_KEY the same client is pointed at the bundled simulator (stripe_sim)
through the SDK's base addresses; nothing else in the site knows the difference.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

from tickethub.errors import DomainError


class PaymentsError(DomainError):
    status = 409


class PaymentProviderUnavailable(DomainError):
    status = 502

    def __init__(self) -> None:
        super().__init__(
            "Payments are unavailable right now. Nothing was charged; please try again in a minute."
        )


def client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@lru_cache(maxsize=4)
def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    base_addresses: Any = (
        {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
    )
    # The SDK retries network errors and 409/429/5xx answers itself, with the same
    # idempotency key, so a retried create never makes a second object.
    return stripe.StripeClient(secret_key, base_addresses=base_addresses, max_network_retries=2)


def as_dict(stripe_object: Any) -> dict:
    """A Stripe object from the SDK or a webhook payload, as plain dicts and lists."""
    if hasattr(stripe_object, "to_dict"):
        return stripe_object.to_dict()
    return stripe_object


def platform_fee_minor(amount_minor: int) -> int:
    """PLATFORM_FEE_PERCENT of an amount in minor units, rounded half up to the minor unit
    (Stripe's application_fee_amount is an integer in the charge currency's minor unit)."""
    fee = Decimal(amount_minor) * Decimal(settings.PLATFORM_FEE_PERCENT) / 100
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))
