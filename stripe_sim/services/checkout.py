"""Checkout Sessions: creation with Stripe's limits, expiry, and reading them back."""

from typing import TYPE_CHECKING, Any

from stripe_sim.objects.checkout import checkout_session_object, line_item_object
from stripe_sim.objects.common import format_money
from stripe_sim.protocol import (
    invalid_request,
    new_id,
    parameter_missing,
    resource_missing,
)
from stripe_sim.services.events import AUTOMATIC, Origin, emit
from stripe_sim.services.validation import (
    check_email,
    check_metadata,
    check_url,
    not_simulated,
)
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Checkout Session `expires_at`: "anywhere from 30 minutes to 24 hours after Checkout
# Session creation. By default, this value is 24 hours from creation."
MIN_LIFETIME_SECONDS = 30 * 60
MAX_LIFETIME_SECONDS = 24 * 60 * 60
MAX_LINE_ITEMS = 100  # in payment mode
MAX_AMOUNT = 99_999_999
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (minor units)
MINIMUM_CHARGE = {
    "usd": 50, "aud": 50, "brl": 50, "cad": 50, "chf": 50, "eur": 50, "inr": 50, "nzd": 50,
    "sgd": 50, "gbp": 30, "czk": 1500, "dkk": 250, "hkd": 400, "jpy": 50, "mxn": 1000, "myr": 200,
    "nok": 300, "pln": 200, "sek": 300, "thb": 1000,
}  # fmt: skip
# Parameters that would change what happens in ways this simulator does not model.
NOT_SIMULATED = (
    "customer",
    "discounts",
    "subscription_data",
    "setup_intent_data",
    "shipping_options",
)
NOT_SIMULATED_INTENT_DATA = ("transfer_data", "on_behalf_of", "setup_future_usage")


def create_session(
    sim: "Simulator", params: dict[str, Any], account: str | None, base_url: str
) -> dict[str, Any]:
    _refuse_unsimulated(params)
    if account is not None:
        _require_card_payments(sim, account)
    if "mode" not in params:
        raise parameter_missing("mode")
    if params["mode"] != "payment":
        raise not_simulated(f"mode={params['mode']}")
    if not params.get("success_url"):
        raise parameter_missing("success_url")
    for name in ("success_url", "cancel_url"):
        if params.get(name):
            check_url(params[name], name)
    if params.get("customer_email"):
        check_email(params["customer_email"], "customer_email")
    check_metadata(params.get("metadata", {}))
    now = sim.clock.timestamp()
    items = _line_items(params, now)
    currency = items[0]["currency"]
    amount_total = sum(item["amount_total"] for item in items)
    _check_amount(amount_total, currency)
    intent_data = _intent_data(params.get("payment_intent_data", {}), amount_total, account)
    session_id = new_id("cs_test_", 58)
    session = checkout_session_object(
        session_id=session_id,
        created=now,
        expires_at=_expires_at(params, now),
        currency=currency,
        amount_total=amount_total,
        url=f"{base_url}/hosted/checkout/{session_id}",
        params=params,
    )
    private = {"line_items": items, "payment_intent_data": intent_data}
    sim.store.add("checkout.session", session, account=account, private=private)
    return session


def _refuse_unsimulated(params: dict[str, Any]) -> None:
    for name in NOT_SIMULATED:
        if name in params:
            raise not_simulated(name)
    if params.get("automatic_tax", {}).get("enabled"):
        raise not_simulated("automatic_tax[enabled]")
    if params.get("ui_mode", "hosted") != "hosted":
        raise not_simulated(f"ui_mode={params['ui_mode']}")
    intent_data = params.get("payment_intent_data", {})
    for name in NOT_SIMULATED_INTENT_DATA:
        if name in intent_data:
            raise not_simulated(f"payment_intent_data[{name}]")
    if intent_data.get("capture_method") == "manual":
        raise not_simulated("payment_intent_data[capture_method]=manual")


def _require_card_payments(sim: "Simulator", account: str) -> None:
    record = sim.store.get("account", account, None)
    active = record is not None and record.body["capabilities"].get("card_payments") == "active"
    if not (active and record is not None and record.body["charges_enabled"]):
        raise invalid_request(
            "You cannot create a charge on a connected account without the `card_payments` "
            "capability enabled."
        )


def _line_items(params: dict[str, Any], now: int) -> list[dict[str, Any]]:
    given = params.get("line_items")
    if not given:
        raise invalid_request("`line_items` is required in `payment` mode.", param="line_items")
    if len(given) > MAX_LINE_ITEMS:
        raise invalid_request(
            f"You may only specify up to {MAX_LINE_ITEMS} line items in `payment` mode.",
            param="line_items",
        )
    items = [_line_item(entry, f"line_items[{index}]", now) for index, entry in enumerate(given)]
    currencies = {item["currency"] for item in items}
    wanted = params.get("currency", "").lower()
    if len(currencies) > 1 or (wanted and currencies != {wanted}):
        raise invalid_request(
            "All line items must use the same currency as the Checkout Session.",
            param="line_items",
        )
    return items


def _line_item(entry: dict[str, Any], param: str, now: int) -> dict[str, Any]:
    if "price" in entry:
        # This simulator has no Prices API, so no price id can exist.
        raise invalid_request(
            f"No such price: '{entry['price']}'", param=f"{param}[price]", code="resource_missing"
        )
    price_data = entry.get("price_data")
    if price_data is None:
        raise invalid_request(
            f"You must specify either `price` or `price_data` in `{param}`.", param=param
        )
    if "product" in price_data:
        raise invalid_request(
            f"No such product: '{price_data['product']}'",
            param=f"{param}[price_data][product]",
            code="resource_missing",
        )
    if "recurring" in price_data:
        raise invalid_request(
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
            param=f"{param}[price_data][recurring]",
        )
    if "product_data" not in price_data:
        raise parameter_missing(f"{param}[price_data][product_data]")
    unit_amount = price_data.get("unit_amount")
    if unit_amount is None:
        raise parameter_missing(f"{param}[price_data][unit_amount]")
    if unit_amount < 0:
        raise invalid_request(
            "This value must be greater than or equal to 0.",
            param=f"{param}[price_data][unit_amount]",
        )
    quantity = entry.get("quantity")
    if quantity is None:
        raise parameter_missing(f"{param}[quantity]")
    if quantity < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.", param=f"{param}[quantity]"
        )
    return line_item_object(
        created=now,
        currency=price_data["currency"].lower(),
        name=price_data["product_data"]["name"],
        unit_amount=unit_amount,
        quantity=quantity,
    )


def _check_amount(amount_total: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if amount_total < minimum:
        raise invalid_request(
            "The Checkout Session's total amount due must add up to at least "
            f"{format_money(minimum, currency)} {currency}",
            code="amount_too_small",
        )
    if amount_total > MAX_AMOUNT:
        raise invalid_request(
            f"The Checkout Session's total amount due must be no more than "
            f"{format_money(MAX_AMOUNT, currency)} {currency}",
            code="amount_too_large",
        )


def _intent_data(
    intent_data: dict[str, Any], amount_total: int, account: str | None
) -> dict[str, Any]:
    fee = intent_data.get("application_fee_amount")
    param = "payment_intent_data[application_fee_amount]"
    if fee is not None and account is None:
        raise invalid_request(
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination "
            "payment (using `transfer_data[destination]`).",
            param=param,
        )
    if fee is not None and not 0 <= fee <= amount_total:
        raise invalid_request(
            f"The application fee amount ({fee}) must be between 0 and the Checkout "
            f"Session's amount_total ({amount_total}).",
            param=param,
        )
    metadata = intent_data.get("metadata", {})
    check_metadata(metadata, "payment_intent_data[metadata]")
    return {
        "application_fee_amount": fee,
        "metadata": metadata,
        "description": intent_data.get("description"),
        "receipt_email": intent_data.get("receipt_email"),
    }


def _expires_at(params: dict[str, Any], now: int) -> int:
    expires_at = params.get("expires_at", now + MAX_LIFETIME_SECONDS)
    if expires_at < now + MIN_LIFETIME_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            param="expires_at",
        )
    if expires_at > now + MAX_LIFETIME_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def session_record(sim: "Simulator", session_id: str, account: str | None) -> Record:
    record = sim.store.get("checkout.session", session_id, account)
    if record is None:
        raise resource_missing("checkout.session", session_id, param="session")
    return record


def expire_session(sim: "Simulator", record: Record, origin: Origin = AUTOMATIC) -> dict:
    """Only open sessions can be expired; the customer can no longer pay, and
    ``checkout.session.expired`` goes out."""
    session = record.body
    if session["status"] != "open":
        raise invalid_request(
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".'
        )
    session["status"] = "expired"
    session["url"] = None  # "only present when the session is active"
    sim.store.save(record)
    emit(sim, "checkout.session.expired", session, account=record.account, origin=origin)
    return session


def expire_overdue_sessions(sim: "Simulator") -> int:
    now = sim.clock.timestamp()
    overdue = [
        record
        for record in sim.store.all_records("checkout.session")
        if record.body["status"] == "open" and record.body["expires_at"] <= now
    ]
    for record in reversed(overdue):  # oldest first, as they fell due
        expire_session(sim, record)
    return len(overdue)
