from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet

from tickets.models import Ticket

COUNTED_STATUSES = (Ticket.Status.VALID, Ticket.Status.USED)


def tickets_held_count(*, owner: User, ticket_type_id: int) -> int:
    """Valid and used tickets of one type a buyer holds (refunded ones don't count)."""
    return Ticket.objects.filter(
        owner=owner, ticket_type_id=ticket_type_id, status__in=COUNTED_STATUSES
    ).count()


def order_tickets(*, order_id: int) -> QuerySet[Ticket]:
    """An order's tickets in the order they were issued (position 1, 2, …)."""
    return Ticket.objects.filter(order_id=order_id).order_by("position_in_order", "pk")


@dataclass(frozen=True)
class RefundProgress:
    refunded: int
    total: int


def refund_progress_of_event(*, event_id: int) -> RefundProgress:
    """Paid tickets of an event refunded so far, of those refunded or still valid: what
    the public page of a cancelled event says while its refunds are under way."""
    counts = dict(
        Ticket.objects.filter(
            ticket_type__event_id=event_id,
            order__isnull=False,
            status__in=[Ticket.Status.VALID, Ticket.Status.REFUNDED],
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    refunded = counts.get(Ticket.Status.REFUNDED, 0)
    return RefundProgress(refunded, refunded + counts.get(Ticket.Status.VALID, 0))
