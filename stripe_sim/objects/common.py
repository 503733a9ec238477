"""Lists, events and money: shapes shared by every resource."""

from typing import Any

from stripe_sim.protocol import API_VERSION, new_id

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)
CURRENCY_SYMBOLS = {"gbp": "£", "usd": "$", "eur": "€", "jpy": "¥"}


def format_money(amount: int, currency: str) -> str:
    """£25.00 / 2500 JPY: for pages and the messages Stripe words with amounts."""
    currency = currency.lower()
    zero_decimal = currency in ZERO_DECIMAL_CURRENCIES
    major = f"{amount:,}" if zero_decimal else f"{amount / 100:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"


def list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def event_object(
    *,
    event_type: str,
    created: int,
    data_object: dict[str, Any],
    account: str | None,
    previous_attributes: dict[str, Any] | None,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
) -> dict[str, Any]:
    """An Event as Stripe sends and lists it; ``account`` only on Connect events."""
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event: dict[str, Any] = {"id": new_id("evt_"), "object": "event"}
    if account is not None:
        event["account"] = account
    event.update(
        {
            "api_version": API_VERSION,
            "created": created,
            "data": data,
            "livemode": False,
            "pending_webhooks": pending_webhooks,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        }
    )
    return event
