"""Reads of payments: whether an organiser can take card payments, their payout status,
a buyer's order by its Checkout Session, and an organiser's orders with their refunds."""

import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import CharField, Prefetch, Q
from django.db.models.functions import Cast

from audit.models import AuditLogEntry
from events.models import Event
from payments.models import ConnectedAccount, Order, Refund, RefundedTicket
from tickethub.errors import NotFound
from tickets.models import Ticket
from tickets.selectors import order_tickets

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


# Orders an organiser sees on an event's orders page: paid, whatever became of them.
PAID_STATUSES = (Order.Status.FULFILLED, Order.Status.REFUND_PENDING, Order.Status.REFUNDED)


def refundable_tickets(order: Order) -> list[Ticket]:
    """The order's valid tickets that no requested or succeeded refund claims."""
    claimed = RefundedTicket.objects.filter(claims_ticket=True, ticket__order_id=order.pk)
    return list(
        order_tickets(order_id=order.pk)
        .filter(status=Ticket.Status.VALID)
        .exclude(pk__in=claimed.values("ticket_id"))
    )


def organiser_order(*, organiser: User, order_id: int) -> Order:
    """One order for one of the organiser's events; anyone else's is a 404."""
    order = (
        Order.objects.select_related("buyer", "ticket_type__event")
        .filter(pk=order_id, ticket_type__event__organiser=organiser)
        .first()
    )
    if order is None:
        raise NotFound("No such order.")
    return order


@dataclass(frozen=True)
class OrderRow:
    order: Order
    tickets: list[Ticket]
    refundable_ids: frozenset[int]
    refunds: list[Refund]


def event_orders(*, event: Event) -> list[OrderRow]:
    """The event's paid orders, newest first, each with its tickets, which of them can be
    refunded, and its refunds (with their tickets and retries): a fixed number of queries
    however many orders there are."""
    orders = (
        Order.objects.filter(ticket_type__event=event, status__in=PAID_STATUSES)
        .select_related("buyer", "ticket_type")
        .prefetch_related(
            Prefetch("tickets", queryset=Ticket.objects.order_by("position_in_order", "pk")),
            Prefetch(
                "refunds",
                queryset=Refund.objects.select_related("retried_by", "requested_by")
                .prefetch_related("refunded_tickets")
                .order_by("created_at", "pk"),
            ),
        )
    )
    rows = []
    for order in orders:
        refunds = list(order.refunds.all())
        claimed = {
            claim.ticket_id
            for refund in refunds
            for claim in refund.refunded_tickets.all()
            if claim.claims_ticket
        }
        tickets = list(order.tickets.all())
        refundable = frozenset(
            t.pk for t in tickets if t.status == Ticket.Status.VALID and t.pk not in claimed
        )
        rows.append(OrderRow(order, tickets, refundable, refunds))
    return rows


def money_log(*, event: Event, limit: int = 200) -> list[AuditLogEntry]:
    """The audit rows of the event's orders and refunds, newest first: every money action
    (order paid, refund requested, succeeded, failed, retried, made in Stripe's dashboard)
    and who started it. One query (the ids are subqueries, however many orders)."""
    order_ids = (
        Order.objects.filter(ticket_type__event=event)
        .annotate(id_text=Cast("pk", CharField()))
        .values("id_text")
    )
    refund_ids = (
        Refund.objects.filter(order__ticket_type__event=event)
        .annotate(id_text=Cast("pk", CharField()))
        .values("id_text")
    )
    return list(
        AuditLogEntry.objects.filter(
            Q(object_type=Order._meta.label_lower, object_id__in=order_ids)
            | Q(object_type=Refund._meta.label_lower, object_id__in=refund_ids)
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
