"""Checkout for a live offer: one order per offer, one Checkout Session per order, created
on the organiser's connected account with the platform fee."""

import logging
from datetime import datetime, timedelta

import stripe
from django.contrib.auth.models import User
from django.utils import timezone
from stripe.params.checkout import SessionCreateParams

from audit.services import record_change
from events.locks import lock_ticket_types
from events.models import TicketType
from events.money import format_money, minimum_charge_minor
from events.sale import SaleState, sale_state
from payments.models import ConnectedAccount, Order
from payments.stripe_api import (
    PaymentProviderUnavailable,
    PaymentsError,
    as_dict,
    client,
    platform_fee_minor,
)
from tickethub.errors import NotFound
from tickethub.locks import locked
from waitlist import services as waitlist_services
from waitlist.models import WaitingListEntry

logger = logging.getLogger(__name__)
EntryStatus = WaitingListEntry.Status
# Stripe: a session's expires_at "can be anywhere from 30 minutes to 24 hours after
# Checkout Session creation". A minute of margin covers the trip to Stripe.
SHORTEST_SESSION = timedelta(minutes=31)
NO_CHARGES = (
    "The organiser cannot take card payments right now, so nothing can be bought. "
    "Your offer stays held until it expires."
)


def start_checkout(
    *, buyer: User, entry_id: int, success_url: str, cancel_url: str, now: datetime | None = None
) -> Order:
    """The buyer's order for their own live offer, with a Checkout Session to pay it.

    Calling it again (a second click on "Buy") returns the same order and session. Raises
    NotFound (404) for someone else's entry, OfferExpired (410) after expiry, PaymentsError (409)
    when the event, ticket type or organiser's account cannot take the payment, and
    PaymentProviderUnavailable (502) when Stripe cannot be reached.
    """
    now = now or timezone.now()
    entry = WaitingListEntry.objects.filter(pk=entry_id, user=buyer).first()
    if entry is None:
        raise NotFound("No such offer.")
    order = _reserve_order(entry=entry, now=now)
    if not order.checkout_session_id:
        order = _create_session(order, success_url=success_url, cancel_url=cancel_url, now=now)
    return order


def _reserve_order(*, entry: WaitingListEntry, now: datetime) -> Order:
    # The lazy expiry: an offer past its time is expired (and passed on) before anything else.
    waitlist_services.expire_overdue_offers(ticket_type_id=entry.ticket_type_id, now=now)
    with locked():
        ticket_type = lock_ticket_types([entry.ticket_type_id])[entry.ticket_type_id]
        entry.refresh_from_db()
        existing = Order.objects.filter(entry=entry).first()
        if existing is not None and existing.status != Order.Status.PENDING:
            raise PaymentsError("This offer has already been paid for.")
        account = ConnectedAccount.objects.filter(
            organiser_id=ticket_type.event.organiser_id, charges_enabled=True
        ).first()
        _check_payable(entry, ticket_type, now, payments_ready=account is not None)
        if existing is not None:
            return existing
        if account is None:
            # A sale start moved later after the offer was made ranks before the account in
            # sale_state (and does not stop an offer's payment), so the account is checked
            # here as well: no session can be made without one.
            raise PaymentsError(NO_CHARGES)
        # From here the offer's places wait for Stripe's word before they pass on.
        waitlist_services.hold_for_checkout(entry=entry, now=now)
        unit = entry.offered_price_minor or 0
        amount = unit * entry.quantity
        assert entry.expires_at is not None  # an offer always has one (DB constraint)
        order = Order.objects.create(
            buyer_id=entry.user_id,
            entry=entry,
            ticket_type=ticket_type,
            quantity=entry.quantity,
            unit_amount_minor=unit,
            amount_minor=amount,
            application_fee_minor=platform_fee_minor(amount),
            currency=ticket_type.event.currency,
            stripe_account_id=account.stripe_account_id,
            checkout_expires_at=max(entry.expires_at, now + SHORTEST_SESSION),
        )
        record_change(
            actor=entry.user,
            action="order.created",
            target=order,
            after={"amount_minor": amount, "fee_minor": order.application_fee_minor},
        )
    return order


def _check_payable(
    entry: WaitingListEntry, ticket_type: TicketType, now: datetime, *, payments_ready: bool
) -> None:
    if entry.status == EntryStatus.EXPIRED:
        raise waitlist_services.OfferExpired(
            "Sorry, this offer has expired and passed to the next in line."
        )
    if entry.status != EntryStatus.OFFERED or entry.expires_at is None or entry.expires_at <= now:
        raise PaymentsError("There is no open offer to pay for.")
    if not entry.offered_price_minor:
        raise PaymentsError("These tickets are free: claim them instead.")
    state = sale_state(ticket_type, event=ticket_type.event, now=now, payments_ready=payments_ready)
    if state == SaleState.PAYMENTS_PENDING:
        raise PaymentsError(NO_CHARGES)
    if not state.allows_taking_an_offer:
        raise PaymentsError(state.refusal(ticket_type))


def _create_session(order: Order, *, success_url: str, cancel_url: str, now: datetime) -> Order:
    if order.checkout_expires_at < now + SHORTEST_SESSION:
        # A retry long after the first attempt: Stripe would refuse the old expiry.
        order.checkout_expires_at = now + SHORTEST_SESSION
        Order.objects.filter(pk=order.pk).update(checkout_expires_at=order.checkout_expires_at)
    expires_at = int(order.checkout_expires_at.timestamp())
    try:
        session = client().v1.checkout.sessions.create(
            params=_session_params(order, success_url, cancel_url, expires_at),
            options={
                "stripe_account": order.stripe_account_id,
                # Same order and expiry → same key → the same session, however often the
                # buyer clicks or the SDK retries.
                "idempotency_key": f"tickethub-checkout-{order.pk}-{expires_at}",
            },
        )
    except stripe.InvalidRequestError as error:
        if error.code == "amount_too_small":
            _give_up_unpayable(order, now)
        logger.warning("Checkout for order %s refused: %s", order.pk, error.user_message or error)
        raise PaymentProviderUnavailable() from error
    except stripe.StripeError as error:
        logger.warning("Checkout for order %s failed: %s", order.pk, error.user_message or error)
        raise PaymentProviderUnavailable() from error
    with locked() as lock:
        order = lock.rows(Order.objects.all(), [order.pk])[order.pk]
        if not order.checkout_session_id:
            order.checkout_session_id = session.id
            order.checkout_url = session.url or ""
            order.save(update_fields=["checkout_session_id", "checkout_url"])
    return order


def _give_up_unpayable(order: Order, now: datetime) -> None:
    """Stripe will never take this amount (below its card minimum: a price set before the
    editor refused such prices). Retrying cannot help, so the order ends unpaid and the
    offer is released rather than holding its places until it runs out."""
    Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
        status=Order.Status.EXPIRED
    )
    waitlist_services.decline_offer(user=order.buyer, entry_id=order.entry_id, now=now)
    minimum = format_money(minimum_charge_minor(order.currency), order.currency)
    raise PaymentsError(
        f"This ticket can't be paid for by card: Stripe's smallest card payment in "
        f"{order.currency} is {minimum}. Nothing was charged and your offer was released; "
        "please contact the organiser."
    )


def _session_params(
    order: Order, success_url: str, cancel_url: str, expires_at: int
) -> "SessionCreateParams":
    ticket_type = order.ticket_type
    event = ticket_type.event
    metadata = {
        "order_id": str(order.pk),
        "offer_id": str(order.entry_id),
        "event_id": str(event.pk),
        "buyer_id": str(order.buyer_id),
    }
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": order.quantity,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": order.unit_amount_minor,
                    "product_data": {"name": f"{event.name} — {ticket_type.name}"},
                },
            }
        ],
        "payment_intent_data": {
            "application_fee_amount": order.application_fee_minor,
            "metadata": metadata,
        },
        "metadata": metadata,
        "client_reference_id": str(order.pk),
        "customer_email": order.buyer.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": expires_at,
    }


def retrieve_session(order: Order) -> dict:
    """The order's Checkout Session as Stripe has it now (raises stripe.StripeError)."""
    session = client().v1.checkout.sessions.retrieve(
        order.checkout_session_id or "", options={"stripe_account": order.stripe_account_id}
    )
    return as_dict(session)


def expire_session(order: Order) -> dict:
    """Expire the order's open session at Stripe; a session that is no longer open (paid a
    moment ago, or expired) is fetched instead, so the caller acts on what really happened."""
    try:
        session = client().v1.checkout.sessions.expire(
            order.checkout_session_id or "", options={"stripe_account": order.stripe_account_id}
        )
    except stripe.InvalidRequestError:
        return retrieve_session(order)
    return as_dict(session)
