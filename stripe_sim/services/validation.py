"""Checks Stripe applies beyond what the spec's types express."""

import re
from typing import Any
from urllib.parse import urlsplit

from stripe_sim.protocol import StripeError, invalid_request

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_url(value: str, param: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_request("Not a valid URL", param=param, code="url_invalid")


def check_email(value: str, param: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise invalid_request(f"Invalid email address: {value}", param=param, code="email_invalid")


def check_metadata(metadata: dict[str, Any] | str, param: str = "metadata") -> None:
    """https://docs.stripe.com/api/metadata: at most 50 keys, keys up to 40 characters,
    values up to 500 characters."""
    if isinstance(metadata, str):
        return
    if len(metadata) > 50:
        raise invalid_request(f"Invalid {param}: at most 50 keys are allowed", param=param)
    for key, value in metadata.items():
        if len(key) > 40:
            raise invalid_request(
                f"Invalid {param}: keys must be at most 40 characters", param=f"{param}[{key}]"
            )
        if len(value) > 500:
            raise invalid_request(
                f"Invalid {param}: values must be at most 500 characters",
                param=f"{param}[{key}]",
            )


def merged_metadata(current: dict[str, str], update: dict[str, str] | str) -> dict[str, str]:
    """Stripe's update rule: keys are set one by one, an empty value unsets a key and an
    empty ``metadata`` unsets them all."""
    if isinstance(update, str):
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def not_simulated(param: str) -> StripeError:
    """A parameter real Stripe accepts but this simulator does not model: refusing it loudly
    beats answering as if it had taken effect."""
    return invalid_request(
        f"stripe_sim does not simulate `{param}`; real Stripe accepts it. "
        "See stripe_sim/README.md for what is covered.",
        param=param,
    )
