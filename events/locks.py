"""Row locks on ticket types: the one place capacity is serialised.

The locking itself is tickethub.locks (one order for every lockable kind, the timeout, Busy);
this keeps the ticket type helpers the services call. Ticket types come first in
LOCK_ORDER, in primary-key order, each with its event read alongside but not locked, so
the types of one event don't serialise each other.
"""

from collections.abc import Iterable

from events.models import TicketType
from tickethub.locks import lock_rows


def lock_ticket_types(ticket_type_ids: Iterable[int]) -> dict[int, TicketType]:
    """Lock the given ticket types in primary-key order and return them by id.

    Inside a locked() block, through its Lock; inside a caller's transaction.atomic(),
    with the same lock timeout and Busy. Outside a transaction: RuntimeError.
    """
    return lock_rows(TicketType.objects.select_related("event"), ticket_type_ids)


def lock_ticket_types_of_event(event_id: int) -> dict[int, TicketType]:
    """Lock every ticket type of the event (those that exist when it is called)."""
    ids = list(TicketType.objects.filter(event_id=event_id).values_list("pk", flat=True))
    return lock_rows(TicketType.objects.select_related("event"), ids)


__all__ = ["lock_ticket_types", "lock_ticket_types_of_event"]
