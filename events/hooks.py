"""What the catalogue lets higher apps react to (the list of hooks: tickethub/hooks.py)."""

from dataclasses import dataclass

from events.models import Event
from tickethub.hooks import Hook


@dataclass(frozen=True)
class EventChanged:
    """An event as just saved: created, edited, published or unpublished. Fired inside the
    transaction that saved it, under the catalogue's lock on it."""

    event: Event


event_changed: Hook[EventChanged] = Hook("events.event_changed")
