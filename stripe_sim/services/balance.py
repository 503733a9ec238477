"""Balances derived from the charges, refunds and fees on record."""

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.payments import balance_object

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


def balance_for(sim: "Simulator", account: str | None) -> dict[str, Any]:
    """A connected account holds its charges less refunds and the platform's fees; the
    platform holds those fees less fee refunds. Card funds stay ``pending`` (Stripe pays
    them out after the payout delay, which this simulator never reaches)."""
    pending: dict[str, int] = defaultdict(int)
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
    if not pending:
        pending[default] = 0
    return balance_object(dict(pending), {currency: 0 for currency in pending})


def _net_of_charge(sim: "Simulator", charge: dict[str, Any]) -> int:
    net = charge["amount"] - charge["amount_refunded"]
    if charge["application_fee"]:
        fee = sim.store.get("application_fee", charge["application_fee"], None)
        if fee is not None:
            net -= fee.body["amount"] - fee.body["amount_refunded"]
    return net
