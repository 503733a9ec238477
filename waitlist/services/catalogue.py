"""Catalogue changes that move the queue: they start here, the highest app involved."""

from django.contrib.auth.models import User
from django.core.files.base import File

from events import services as catalogue
from events.models import Event
from tickethub.locks import locked
from waitlist.services.offers import serve_queue


def update_event(
    *,
    event: Event,
    actor: User,
    details: catalogue.EventDetails,
    ticket_types: list[catalogue.TicketTypeSpec],
    image: File | None = None,
    remove_image: bool = False,
) -> Event:
    """Change an event and its ticket types (events.services.update_event) and, in the same
    transaction and under the same locks, hand the places a capacity rise added to the
    waiting list. Raises CatalogueError."""
    with locked():
        event = catalogue.update_event(
            event=event,
            actor=actor,
            details=details,
            ticket_types=ticket_types,
            image=image,
            remove_image=remove_image,
        )
        for ticket_type in event.ticket_types.all():
            serve_queue(ticket_type=ticket_type)
    return event
