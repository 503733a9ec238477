from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.models import Event, TicketType
from search.services import index_event, rebuild_search_index
from search.tests.corpus import CORPUS
from tests.factories import EventFactory, UserFactory


def corpus_start(days_ahead: int, *, today) -> datetime:
    return datetime.combine(
        today + timedelta(days=days_ahead), time(19, 30), tzinfo=timezone.get_current_timezone()
    )


@pytest.fixture(scope="module")
def corpus(django_db_setup, django_db_blocker):
    """The ~200 corpus events, published and indexed by the bulk rebuild, loaded once per
    module in a transaction that is rolled back at the end (each test runs in a savepoint
    inside it); a dict of name → event."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            organiser = UserFactory(email="corpus-organiser@example.com")
            today = timezone.localdate()
            events = Event.objects.bulk_create(
                Event(
                    organiser=organiser,
                    name=entry.name,
                    venue_name=entry.venue,
                    address=entry.address,
                    description=entry.description,
                    starts_at=corpus_start(entry.days_ahead, today=today),
                    ends_at=corpus_start(entry.days_ahead, today=today) + timedelta(hours=3),
                    status=Event.Status.PUBLISHED,
                )
                for entry in CORPUS
            )
            TicketType.objects.bulk_create(
                TicketType(
                    event=event,
                    name="Standard",
                    price_minor=0 if "Free" in event.name else 1500,
                    capacity=100,
                )
                for event in events
            )
            rebuild_search_index()
            yield {event.name: event for event in events}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def make_event(db):
    """A published event (factory defaults otherwise), indexed as the services would."""

    def make(**fields) -> Event:
        event = EventFactory(**fields)
        index_event(event=event)
        return event

    return make
