"""Issuing tickets: the one place sold capacity grows."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from audit.services import record_change
from events.locks import lock_ticket_types
from events.models import TicketType
from tickethub.errors import DomainError
from tickets.models import Ticket


class SoldOut(DomainError):
    status = 409


@transaction.atomic
def issue_tickets(
    *,
    owner: User,
    ticket_type: TicketType,
    quantity: int,
    amount_minor_each: int,
    actor: User | None = None,
) -> list[Ticket]:
    """Issue ``quantity`` tickets of a type to ``owner`` from its free capacity.

    Takes the ticket type's row lock; raises SoldOut (and changes nothing) when fewer than
    ``quantity`` places are free.
    """
    if quantity < 1:
        raise DomainError("Choose at least one ticket.")
    locked = lock_ticket_types([ticket_type.pk])[ticket_type.pk]
    if locked.remaining < quantity:
        raise SoldOut("Sorry, there are not enough tickets left.")
    TicketType.objects.filter(pk=locked.pk).update(sold_count=F("sold_count") + quantity)
    currency = locked.event.currency
    tickets = [
        Ticket.objects.create(
            owner=owner, ticket_type=locked, amount_minor=amount_minor_each, currency=currency
        )
        for _ in range(quantity)
    ]
    record_change(
        actor=actor or owner,
        action="tickets.issued",
        target=locked,
        before={"sold_count": locked.sold_count},
        after={"sold_count": locked.sold_count + quantity, "owner_id": owner.pk},
    )
    return tickets
