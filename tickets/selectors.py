from django.contrib.auth.models import User

from tickets.models import Ticket

COUNTED_STATUSES = (Ticket.Status.VALID, Ticket.Status.USED)


def tickets_held_count(*, owner: User, ticket_type_id: int) -> int:
    """Valid and used tickets of one type a buyer holds (refunded ones don't count)."""
    return Ticket.objects.filter(
        owner=owner, ticket_type_id=ticket_type_id, status__in=COUNTED_STATUSES
    ).count()
