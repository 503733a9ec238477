"""Row locks on ticket types: the one place capacity is serialised.

PostgreSQL: SELECT … FOR UPDATE in primary-key order (a fixed order, so two services that
lock several types cannot deadlock), under a short lock timeout. SQLite: every write
transaction already starts as BEGIN IMMEDIATE (settings), so the whole database is locked
for writing and FOR UPDATE is a no-op.
"""

import math
from collections.abc import Iterable

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from events.models import TicketType
from tickethub.errors import Busy

LOCK_TIMEOUT_MS = getattr(settings, "TICKET_TYPE_LOCK_TIMEOUT_MS", 3000)


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("Ticket type locks must be taken inside transaction.atomic().")


def lock_ticket_types(ticket_type_ids: Iterable[int]) -> dict[int, TicketType]:
    """Lock the given ticket types in primary-key order and return them by id."""
    _require_transaction()
    ids = sorted(set(ticket_type_ids))
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    try:
        # The event comes along (services read its offer window and status) but only the
        # ticket type rows are locked, so the types of one event don't serialise each other.
        locked = list(
            TicketType.objects.select_related("event")
            .select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
        )
    except DatabaseError as error:
        if "lock timeout" in str(error).lower() or "locked" in str(error).lower():
            raise Busy(
                "This event is busy right now. Please try again in a moment.",
                # A waiter gave up after the lock timeout; by then the crowd ahead has moved.
                retry_after_seconds=max(1, math.ceil(LOCK_TIMEOUT_MS / 1000)),
            ) from error
        raise
    return {ticket_type.pk: ticket_type for ticket_type in locked}


def lock_ticket_types_of_event(event_id: int) -> dict[int, TicketType]:
    _require_transaction()
    ids = TicketType.objects.filter(event_id=event_id).values_list("pk", flat=True)
    return lock_ticket_types(ids)


__all__ = ["lock_ticket_types", "lock_ticket_types_of_event", "transaction"]
