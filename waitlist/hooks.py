"""What the waiting list lets higher apps react to (the list of hooks: tickethub/hooks.py)."""

from dataclasses import dataclass

from tickethub.hooks import Hook


@dataclass(frozen=True)
class CheckoutMustClose:
    """A paid offer ended unpaid (declined), or ran out of time while its buyer had started
    paying: any checkout open for it must close, so nobody pays for places that passed on.
    Fired in the transaction that ends (or re-asks about) the offer; payments closes the
    checkout after the commit and, for an overdue offer, only then are its places released
    (waitlist.services.checkout_hold)."""

    entry_id: int


checkout_must_close: Hook[CheckoutMustClose] = Hook("waitlist.checkout_must_close")
