"""How payments reacts to the apps below it (connected in PaymentsConfig.ready())."""

from django.db import transaction

from payments.tasks import expire_checkout_of_offer
from waitlist.hooks import CheckoutMustClose


def close_checkout_after_commit(must_close: CheckoutMustClose) -> None:
    """Close the offer's checkout at Stripe once the offer's change has committed (a job:
    Stripe is never called inside a transaction or under a lock)."""
    entry_id = must_close.entry_id
    transaction.on_commit(lambda: expire_checkout_of_offer(entry_id))
