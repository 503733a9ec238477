"""Currencies the catalogue accepts, and conversion between major and minor units."""

from decimal import Decimal

# ISO 4217 code → number of minor-unit digits, for the currencies Stripe settles in the
# countries we onboard organisers from.
CURRENCY_EXPONENTS: dict[str, int] = {
    "GBP": 2,
    "EUR": 2,
    "USD": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "JPY": 0,
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]
MAX_PRICE_MINOR = 99_999_999

# The smallest amount Stripe charges a card, in minor units ("Minimum and maximum charge
# amounts", docs.stripe.com/currencies). A lower price could never be paid: Stripe refuses
# the Checkout Session with `amount_too_small`.
MINIMUM_CHARGE_MINOR: dict[str, int] = {
    "GBP": 30,
    "EUR": 50,
    "USD": 50,
    "CAD": 50,
    "AUD": 50,
    "NZD": 50,
    "CHF": 50,
    "SEK": 300,
    "NOK": 300,
    "DKK": 250,
    "PLN": 200,
    "CZK": 1500,
    "JPY": 50,
}


def minimum_charge_minor(currency: str) -> int:
    return MINIMUM_CHARGE_MINOR[currency]


def below_card_minimum(price_minor: int, currency: str) -> bool:
    """Whether a paid price is too small for a card payment (0, a free ticket, is fine)."""
    return 0 < price_minor < MINIMUM_CHARGE_MINOR[currency]


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Convert a price typed in major units ("12.50") to integer minor units (1250).

    Raises ValueError when the amount has more decimals than the currency has.
    """
    exponent = CURRENCY_EXPONENTS[currency]
    scaled = amount * (10**exponent)
    if scaled != scaled.to_integral_value():
        if exponent == 0:
            raise ValueError(f"{currency} has no minor unit: enter a whole number.")
        raise ValueError(f"{currency} prices have at most {exponent} decimal places.")
    return int(scaled)


def to_major_units(amount_minor: int, currency: str) -> Decimal:
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return Decimal(amount_minor).scaleb(-exponent)


CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}


def format_money(amount_minor: int, currency: str) -> str:
    if amount_minor == 0:
        return "Free"
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    amount = f"{to_major_units(amount_minor, currency):,.{exponent}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"
