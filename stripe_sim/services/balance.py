"""Balances derived from the charges, refunds and fees on record, and the available funds
a connected account's refunds draw from (set through the control API)."""

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.payments import balance_object
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Account.private key: {currency: minor units} refunds may still draw from. A currency not
# in it has no limit, the default: Stripe then debits the account's bank account.
AVAILABLE = "available_balance"


def balance_for(sim: "Simulator", account: str | None) -> dict[str, Any]:
    """A connected account holds its charges less refunds and the platform's fees; the
    platform holds those fees less fee refunds. Card funds stay ``pending`` (Stripe pays
    them out after the payout delay, which this simulator never reaches); ``available`` is
    what was set through ``/_sim/accounts/{id}/balance``, less the refunds drawn from it."""
    pending: dict[str, int] = defaultdict(int)
    available: dict[str, int] = {}
    if account is None:
        for fee in sim.store.all_records("application_fee"):
            pending[fee.body["currency"]] += fee.body["amount"] - fee.body["amount_refunded"]
        default = "gbp"
    else:
        for charge in sim.store.records("charge", account):
            if charge.body["status"] != "succeeded":
                continue
            pending[charge.body["currency"]] += _net_of_charge(sim, charge.body)
        owner = sim.store.get("account", account, None)
        default = owner.body["default_currency"] if owner else "gbp"
        if owner is not None:
            available = dict(owner.private.get(AVAILABLE, {}))
    if not pending:
        pending[default] = 0
    for currency in pending:
        available.setdefault(currency, 0)
    for currency in available:
        pending.setdefault(currency, 0)
    return balance_object(dict(pending), available)


def set_available(owner: Record, currency: str, amount: int | None) -> None:
    """Make ``amount`` of ``currency`` available to ``owner``'s refunds (None: no limit)."""
    limits = owner.private.setdefault(AVAILABLE, {})
    if amount is None:
        limits.pop(currency, None)
    else:
        limits[currency] = amount


def draw_available(sim: "Simulator", account: str | None, currency: str, amount: int) -> int | None:
    """Take ``amount`` for a refund from the account's available funds: what was taken
    (0 when there is no limit), or None, taking nothing, when they do not cover all of it
    (Stripe then holds the refund pending)."""
    owner = sim.store.get("account", account, None) if account else None
    limits = owner.private.get(AVAILABLE, {}) if owner is not None else {}
    if owner is None or currency not in limits:
        return 0
    if limits[currency] < amount:
        return None
    limits[currency] -= amount
    sim.store.save(owner)
    return amount


def give_back_available(sim: "Simulator", account: str | None, currency: str, amount: int) -> None:
    """A failed refund's funds return to the account (while it still has a limit)."""
    owner = sim.store.get("account", account, None) if account else None
    if owner is None or not amount:
        return
    limits = owner.private.get(AVAILABLE, {})
    if currency in limits:
        limits[currency] += amount
        sim.store.save(owner)


def _net_of_charge(sim: "Simulator", charge: dict[str, Any]) -> int:
    net = charge["amount"] - charge["amount_refunded"]
    if charge["application_fee"]:
        fee = sim.store.get("application_fee", charge["application_fee"], None)
        if fee is not None:
            net -= fee.body["amount"] - fee.body["amount_refunded"]
    return net
