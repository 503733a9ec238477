"""The index follows every change of an event's status and text, at once, through the
catalogue's services; and it can be rebuilt."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from events import services as catalogue
from events.models import Event
from search.models import EventDocument
from search.selectors import search_events
from search.services import index_event, rebuild_search_index
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def found(text: str) -> list[str]:
    return [hit.event.name for hit in search_events(text).hits]


def details(**overrides) -> catalogue.EventDetails:
    values = {
        "name": "Ceilidh on the Clyde",
        "description": "Reels and jigs with a live band.",
        "venue_name": "Riverside Hall",
        "address": "1 Clyde Street, Glasgow",
        "starts_at": timezone.now() + timedelta(days=10),
        "ends_at": None,
        "timezone": "Europe/London",
        "currency": "GBP",
    }
    values.update(overrides)
    return catalogue.EventDetails(**values)


@pytest.fixture
def draft(organiser):
    return catalogue.create_event(
        organiser=organiser,
        details=details(),
        ticket_types=[catalogue.TicketTypeSpec(name="Standard", price_minor=0, capacity=50)],
    )


def cancel(event: Event, actor) -> None:
    """Through the catalogue's cancel service once it exists; until then as it will: the
    status change and the index call in one transaction."""
    cancel_event = getattr(catalogue, "cancel_event", None)
    if cancel_event is not None:
        cancel_event(event=event, actor=actor)
        return
    with transaction.atomic():
        Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
        event.refresh_from_db()
        index_event(event=event)


def test_a_draft_is_not_found_and_publishing_makes_it_found(draft, organiser):
    assert found("ceilidh") == []

    catalogue.publish_event(event=draft, actor=organiser)

    assert found("ceilidh") == ["Ceilidh on the Clyde"]
    assert found("riverside glasgow") == ["Ceilidh on the Clyde"]


def test_editing_an_event_reindexes_its_new_name_place_and_dates(draft, organiser):
    catalogue.publish_event(event=draft, actor=organiser)
    new_start = timezone.now() + timedelta(days=40)

    catalogue.update_event(
        event=draft,
        actor=organiser,
        details=details(
            name="Burns Night Supper", address="2 Royal Mile, Edinburgh", starts_at=new_start
        ),
        ticket_types=[
            catalogue.TicketTypeSpec(
                name="Standard",
                price_minor=0,
                capacity=50,
                ticket_type_id=draft.ticket_types.get().pk,
            )
        ],
    )

    assert found("ceilidh") == []
    assert found("glasgow") == []
    assert found("burns edinburgh") == ["Burns Night Supper"]
    document = EventDocument.objects.get(event=draft)
    assert document.starts_at == new_start


def test_unpublishing_removes_an_event_at_once(draft, organiser):
    catalogue.publish_event(event=draft, actor=organiser)

    catalogue.unpublish_event(event=draft, actor=organiser)

    assert found("ceilidh") == []
    assert not EventDocument.objects.filter(event=draft).exists()


def test_cancelling_removes_an_event_at_once(draft, organiser):
    catalogue.publish_event(event=draft, actor=organiser)

    cancel(draft, organiser)

    assert found("ceilidh") == []


def test_a_rolled_back_change_leaves_the_index_as_it_was(draft, organiser):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        catalogue.publish_event(event=draft, actor=organiser)
        assert found("ceilidh") == ["Ceilidh on the Clyde"]
        raise Abort

    assert found("ceilidh") == []


def test_indexing_twice_and_removing_twice_are_harmless(make_event):
    event = make_event(name="Tea Dance")
    index_event(event=event)
    assert found("tea dance") == ["Tea Dance"]

    event.status = Event.Status.DRAFT
    index_event(event=event)
    index_event(event=event)
    assert found("tea dance") == []


def test_deleting_an_event_deletes_its_document_and_full_text_row(make_event):
    event = make_event(name="Tea Dance")

    event.delete()

    assert not EventDocument.objects.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in ("search_fts", "search_fts_name", "search_fts_place"):
                cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {table} MATCH 'tea'")
                assert cursor.fetchone() == (0,), table


def test_rebuild_indexes_published_events_written_without_the_services(make_event):
    make_event(name="Indexed Already")
    EventFactory(name="Loaded In Bulk")
    EventFactory(name="Loaded Draft", status=Event.Status.DRAFT)
    EventFactory(name="Loaded Cancelled", status=Event.Status.CANCELLED)
    assert found("loaded") == []

    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)

    assert "Search index rebuilt: 2 events" in out.getvalue()
    assert found("loaded") == ["Loaded In Bulk"]
    assert found("indexed") == ["Indexed Already"]
    assert rebuild_search_index() == 2


def test_the_demo_catalogue_is_searchable_once_seeded(stripe_sim):
    call_command("seed_demo", stdout=io.StringIO())

    for event in Event.objects.all():
        expected = [event.name] if event.status == Event.Status.PUBLISHED else []
        assert [name for name in found(event.name) if name == event.name] == expected
