from django.contrib.auth.models import User
from django.db.models import QuerySet

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
