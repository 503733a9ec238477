"""Issuing tickets: from a waiting-list offer (the normal path) or straight from free
capacity (complimentary tickets, demo data); marking them refunded or cancelled."""

from dataclasses import dataclass

from django.contrib.auth.models import User

from audit.services import record_change
from events.locks import lock_ticket_types
from events.models import TicketType
from events.services import (
    NotEnoughPlaces,
    release_sold_places,
    sell_free_places,
    sell_held_places,
)
from tickethub.errors import DomainError
from tickethub.locks import locked
from tickets.models import Ticket

SoldOut = NotEnoughPlaces


@dataclass(frozen=True)
class Issue:
    """Who gets which tickets, and what they came from. The offer and the order are named
    by id: they belong to the apps above this one (waitlist, payments)."""

    owner_id: int
    ticket_type: TicketType
    quantity: int
    amount_minor_each: int
    entry_id: int | None = None
    order_id: int | None = None


def _create_tickets(issue: Issue) -> list[Ticket]:
    return Ticket.objects.bulk_create(
        Ticket(
            owner_id=issue.owner_id,
            ticket_type=issue.ticket_type,
            entry_id=issue.entry_id,
            order_id=issue.order_id,
            # An order's tickets are numbered 1..quantity (a second fulfilment would clash).
            position_in_order=position if issue.order_id is not None else None,
            amount_minor=issue.amount_minor_each,
            currency=issue.ticket_type.event.currency,
        )
        for position in range(1, issue.quantity + 1)
    )


def issue_tickets_for_offer(issue: Issue) -> list[Ticket]:
    """Issue an offer's tickets from the places it holds. The caller (waitlist) holds the
    ticket type's lock and ends the entry; this turns held places into sold ones."""
    sell_held_places(ticket_type=issue.ticket_type, quantity=issue.quantity)
    return _create_tickets(issue)


def issue_tickets_for_late_order(issue: Issue) -> list[Ticket]:
    """Issue a late-paid order's tickets from free capacity. The caller (payments) holds the
    ticket type's lock; raises SoldOut (changing nothing) when the places are gone."""
    sell_free_places(ticket_type=issue.ticket_type, quantity=issue.quantity)
    return _create_tickets(issue)


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
    with locked():
        ticket_type = lock_ticket_types([ticket_type.pk])[ticket_type.pk]
        before = ticket_type.sold_count
        sell_free_places(ticket_type=ticket_type, quantity=quantity)
        tickets = _create_tickets(
            Issue(
                owner_id=owner.pk,
                ticket_type=ticket_type,
                quantity=quantity,
                amount_minor_each=amount_minor_each,
            )
        )
        record_change(
            actor=actor or owner,
            action="tickets.issued",
            target=ticket_type,
            before={"sold_count": before},
            after={"sold_count": ticket_type.sold_count, "owner_id": owner.pk},
        )
    return tickets


def mark_refunded(*, ticket_ids: list[int], ticket_type: TicketType) -> list[int]:
    """Mark tickets of one type refunded and give their sold places back; returns the ids
    it changed. The caller (payments, which has the money back) holds the ticket type's
    lock. Tickets already refunded or cancelled are left as they are and release nothing,
    so a second call changes nothing; a used ticket is refunded too (its holder came in,
    but the money has gone back, and the place must not stay counted as sold)."""
    counted = Ticket.objects.filter(
        pk__in=ticket_ids,
        ticket_type=ticket_type,
        status__in=[Ticket.Status.VALID, Ticket.Status.USED],
    )
    changed = list(counted.values_list("pk", flat=True))
    Ticket.objects.filter(pk__in=changed).update(status=Ticket.Status.REFUNDED)
    release_sold_places(ticket_type=ticket_type, quantity=len(changed))
    return changed


def cancel_unpaid_tickets(*, ticket_type: TicketType) -> list[int]:
    """Cancel the type's valid tickets that no payment stands behind (free or
    complimentary: no order), giving their sold places back; returns the ids cancelled.
    Their event is being cancelled (payments.services.cancellation); the caller holds the
    ticket type's lock. Tickets of paid orders are left for their refunds. Idempotent."""
    changed = list(
        Ticket.objects.filter(
            ticket_type=ticket_type, status=Ticket.Status.VALID, order__isnull=True
        ).values_list("pk", flat=True)
    )
    Ticket.objects.filter(pk__in=changed).update(status=Ticket.Status.CANCELLED)
    release_sold_places(ticket_type=ticket_type, quantity=len(changed))
    return changed
