"""Stripe's test cards (https://docs.stripe.com/testing) and Checkout's own field checks."""

import dataclasses
import datetime
import hashlib
import re

from stripe_sim.protocol import StripeError

TESTING_DOCS = "https://stripe.com/docs/testing"


@dataclasses.dataclass(frozen=True)
class CardProfile:
    brand: str
    country: str
    funding: str = "credit"
    # (code, decline_code, message) of the card_error the issuer answers with
    decline: tuple[str, str, str] | None = None
    refund_fails: bool = False  # refunds succeed, then fail later (refund.updated)


_DECLINED = "Your card was declined."
CARD_PROFILES: dict[str, CardProfile] = {
    "4242424242424242": CardProfile("visa", "US"),
    "4000056655665556": CardProfile("visa", "US", funding="debit"),
    "4000008260000000": CardProfile("visa", "GB"),
    "4000058260000005": CardProfile("visa", "GB", funding="debit"),
    "5555555555554444": CardProfile("mastercard", "US"),
    "378282246310005": CardProfile("amex", "US"),
    "4000000000005126": CardProfile("visa", "US", refund_fails=True),
    "4000000000000002": CardProfile(
        "visa", "US", decline=("card_declined", "generic_decline", _DECLINED)
    ),
    "4000000000009995": CardProfile(
        "visa",
        "US",
        decline=("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "4000000000009987": CardProfile(
        "visa", "US", decline=("card_declined", "lost_card", _DECLINED)
    ),
    "4000000000009979": CardProfile(
        "visa", "US", decline=("card_declined", "stolen_card", _DECLINED)
    ),
    "4000000000000069": CardProfile(
        "visa", "US", decline=("expired_card", "expired_card", "Your card has expired.")
    ),
    "4000000000000127": CardProfile(
        "visa",
        "US",
        decline=("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ),
    "4000000000000119": CardProfile(
        "visa",
        "US",
        decline=(
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
}
# A real card number in test mode: Stripe declines it rather than charging it.
LIVE_CARD_IN_TEST_MODE = CardProfile(
    "visa",
    "US",
    decline=(
        "card_declined",
        "test_mode_live_card",
        "Your card was declined. Your request was in test mode, but used a non test (live) "
        f"card. For a list of valid test cards, visit: {TESTING_DOCS}.",
    ),
)


@dataclasses.dataclass(frozen=True)
class CardInput:
    number: str
    expiry: str = "12 / 34"
    cvc: str = "123"

    @property
    def digits(self) -> str:
        return re.sub(r"[\s-]", "", self.number)


def field_error(message: str, code: str) -> StripeError:
    return StripeError(402, "card_error", message, code=code, param="number")


def check_card_fields(card: CardInput, today: datetime.date) -> tuple[int, int]:
    """Checkout's own checks before anything reaches the card network (no PaymentIntent
    is made for these); returns the expiry (month, four-digit year)."""
    digits = card.digits
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_valid(digits):
        raise field_error("Your card number is incorrect.", "incorrect_number")
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", card.expiry)
    if not match or not 1 <= int(match[1]) <= 12:
        raise field_error("Your card's expiration date is incomplete.", "invalid_expiry_month")
    month, year = int(match[1]), int(match[2])
    year = year + 2000 if year < 100 else year
    if (year, month) < (today.year, today.month):
        raise field_error("Your card's expiration year is in the past.", "invalid_expiry_year")
    if not re.fullmatch(r"\d{3,4}", card.cvc.strip()):
        raise field_error("Your card's security code is incomplete.", "invalid_cvc")
    return month, year


def look_up(card: CardInput) -> CardProfile:
    return CARD_PROFILES.get(card.digits, LIVE_CARD_IN_TEST_MODE)


def fingerprint(digits: str) -> str:
    """Same card, same fingerprint, as Stripe's ``card.fingerprint``."""
    return hashlib.sha256(digits.encode()).hexdigest()[:16]


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
