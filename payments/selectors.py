"""Reads of payments: whether an organiser can take card payments, their payout status,
and a buyer's order by its Checkout Session."""

from dataclasses import dataclass

from django.contrib.auth.models import User

from payments.models import ConnectedAccount, Order


def can_take_payments(*, organiser_id: int) -> bool:
    return ConnectedAccount.objects.filter(organiser_id=organiser_id, charges_enabled=True).exists()


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
    session id finds nothing)."""
    return (
        Order.objects.filter(buyer=buyer, checkout_session_id=session_id)
        .select_related("ticket_type__event")
        .first()
    )
