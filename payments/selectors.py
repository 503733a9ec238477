"""Reads of payments: whether an organiser can take card payments, their payout status,
and a buyer's order by its Checkout Session."""

import re
from dataclasses import dataclass

from django.contrib.auth.models import User

from payments.models import ConnectedAccount, Order

# Stripe's ids are a type prefix and letters and digits ("cs_test_a1B2…"), within the
# column's 255 characters. Anything else (a NUL, which PostgreSQL refuses in a query, a
# space, other scripts' letters) cannot name a session, so it is not looked up.
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


@dataclass(frozen=True)
class PayoutStatus:
    account: ConnectedAccount | None

    @property
    def state(self) -> str:
        """ "none" (never started), "incomplete", "restricted" or "active"."""
        if self.account is None:
            return "none"
        if not self.account.details_submitted:
            return "incomplete"
        if not (self.account.charges_enabled and self.account.payouts_enabled):
            return "restricted"
        return "active"


def payout_status(*, organiser: User) -> PayoutStatus:
    return PayoutStatus(ConnectedAccount.objects.filter(organiser=organiser).first())


def order_of_buyer_by_session(*, buyer: User, session_id: str) -> Order | None:
    """The buyer's own order for a Checkout Session id from Stripe's redirect (anyone else's
    session id finds nothing, and so does anything Stripe could not have sent)."""
    if not _STRIPE_ID.fullmatch(session_id):
        return None
    return (
        Order.objects.filter(buyer=buyer, checkout_session_id=session_id)
        .select_related("ticket_type__event")
        .first()
    )
