"""The checkout hold: a paid offer whose buyer has started paying keeps its places past its
expiry until Stripe confirms the checkout closed unpaid.

A payment made in time but reported late (a slow webhook, a buyer still on Stripe's page)
must find its places still held, so an overdue offer in checkout is not expired by the
queue: the waiting list asks payments to close the checkout (``waitlist.hooks.
checkout_must_close``; payments.listeners closes it at Stripe after the commit), and
payments answers with one of two calls:
- paid: payments.services.fulfilment turns the held places into tickets (accept_offer);
- closed unpaid: ``waitlist.services.release_after_checkout`` ends the hold, and the offer
  expires and passes on like any other.
Until one of them comes, the question is asked again each minute (the sweep) while Stripe
cannot be reached. The hold's state is two fields of WaitingListEntry:
``checkout_started_at`` and ``checkout_close_requested_at``.
"""

from datetime import datetime, timedelta

from waitlist.hooks import CheckoutMustClose, checkout_must_close
from waitlist.models import WaitingListEntry

CLOSE_RETRY = timedelta(minutes=1)


def start(entry: WaitingListEntry, now: datetime) -> None:
    """The buyer starts paying for their live offer (payments calls this through
    waitlist.services.hold_for_checkout, under the ticket type's lock)."""
    if entry.checkout_started_at is None:
        entry.checkout_started_at = now
        entry.save(update_fields=["checkout_started_at"])


def is_held(entry: WaitingListEntry) -> bool:
    return entry.checkout_started_at is not None


def end(entry: WaitingListEntry) -> None:
    """Stripe confirmed the checkout closed unpaid: the offer is an ordinary one again."""
    entry.checkout_started_at = None
    entry.save(update_fields=["checkout_started_at"])


def ask_to_close(entry: WaitingListEntry, now: datetime) -> None:
    """An overdue offer in checkout: ask payments to close the checkout, at most once a
    minute while the answer has not come."""
    requested = entry.checkout_close_requested_at
    if requested is not None and now - requested < CLOSE_RETRY:
        return
    entry.checkout_close_requested_at = now
    entry.save(update_fields=["checkout_close_requested_at"])
    close_checkout(entry)


def close_checkout(entry: WaitingListEntry) -> None:
    """A paid offer that ended unpaid, or is overdue in checkout, may have a checkout open:
    payments must close it, so nobody pays for places that passed on."""
    if entry.offered_price_minor:
        checkout_must_close.fire(CheckoutMustClose(entry_id=entry.pk))
