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
