from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditLogEntry
from events import services
from events.models import Event, TicketType
from events.services import CatalogueError, EventDetails, TicketTypeSpec, hold_places
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickets.services import SoldOut, issue_tickets

pytestmark = pytest.mark.django_db


def details(**overrides) -> EventDetails:
    values = {
        "name": "Jazz Night",
        "description": "Line one\nLine two",
        "venue_name": "Blue Room",
        "address": "2 Canal Street, Manchester",
        "starts_at": timezone.now() + timedelta(days=10),
        "ends_at": None,
        "timezone": "Europe/London",
        "currency": "GBP",
    }
    values.update(overrides)
    return EventDetails(**values)


def standard(**overrides) -> TicketTypeSpec:
    values = {"name": "Standard", "price_minor": 1500, "capacity": 80}
    values.update(overrides)
    return TicketTypeSpec(**values)


def test_create_event_makes_a_draft_with_its_ticket_types(organiser):
    event = services.create_event(
        organiser=organiser,
        details=details(),
        ticket_types=[standard(), standard(name="Free", price_minor=0, capacity=1)],
    )
    assert event.status == Event.Status.DRAFT
    assert [(t.name, t.price_minor, t.capacity) for t in event.ticket_types.all()] == [
        ("Standard", 1500, 80),
        ("Free", 0, 1),
    ]
    assert AuditLogEntry.objects.filter(action="ticket_type.created").count() == 2


@pytest.mark.parametrize(
    ("bad_details", "bad_types", "message"),
    [
        ({"starts_at": timezone.now() - timedelta(minutes=1)}, None, "must start in the future"),
        ({"ends_at": timezone.now() + timedelta(days=9)}, None, "must end after it starts"),
        ({"timezone": "Mars/Olympus"}, None, "Unknown time zone"),
        ({"currency": "XXX"}, None, "Unsupported currency"),
        ({"name": "  "}, None, "needs a name"),
        ({}, [], "at least one ticket type"),
        ({}, [standard(capacity=0)], "capacity of at least 1"),
        ({}, [standard(price_minor=-1)], "price"),
        ({}, [standard(), standard(name="standard")], "different name"),
    ],
)
def test_create_event_refuses_broken_rules_and_saves_nothing(
    organiser, bad_details, bad_types, message
):
    with pytest.raises(CatalogueError, match=message):
        services.create_event(
            organiser=organiser,
            details=details(**bad_details),
            ticket_types=[standard()] if bad_types is None else bad_types,
        )
    assert not Event.objects.exists()
    assert not TicketType.objects.exists()


def test_publish_requires_a_future_event_and_is_idempotent(organiser):
    event = services.create_event(organiser=organiser, details=details(), ticket_types=[standard()])
    services.publish_event(event=event, actor=organiser)
    services.publish_event(event=event, actor=organiser)
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED
    assert AuditLogEntry.objects.filter(action="event.published").count() == 1

    services.unpublish_event(event=event, actor=organiser)
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_publishing_a_past_event_is_refused(organiser):
    event = EventFactory(
        organiser=organiser,
        status=Event.Status.DRAFT,
        starts_at=timezone.now() - timedelta(hours=3),
    )
    with pytest.raises(CatalogueError, match="over"):
        services.publish_event(event=event, actor=organiser)
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_cancelled_event_cannot_be_published_or_edited(organiser):
    event = EventFactory(organiser=organiser, status=Event.Status.CANCELLED)
    with pytest.raises(CatalogueError):
        services.publish_event(event=event, actor=organiser)
    with pytest.raises(CatalogueError, match="cancelled"):
        services.update_event(
            event=event, actor=organiser, details=details(), ticket_types=[standard()]
        )


def _spec_of(ticket_type: TicketType, **overrides) -> TicketTypeSpec:
    values = {
        "name": ticket_type.name,
        "price_minor": ticket_type.price_minor,
        "capacity": ticket_type.capacity,
        "ticket_type_id": ticket_type.pk,
    }
    values.update(overrides)
    return TicketTypeSpec(**values)


def test_capacity_cannot_drop_below_tickets_sold(organiser, buyer):
    event = EventFactory(organiser=organiser, ticket_types=[])
    ticket_type = TicketTypeFactory(event=event, capacity=10)
    issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=4, amount_minor_each=2500)
    event_details = details(starts_at=event.starts_at)

    with pytest.raises(CatalogueError, match="Cannot reduce capacity below 4"):
        services.update_event(
            event=event,
            actor=organiser,
            details=event_details,
            ticket_types=[_spec_of(ticket_type, capacity=3)],
        )
    ticket_type.refresh_from_db()
    assert ticket_type.capacity == 10

    services.update_event(
        event=event,
        actor=organiser,
        details=event_details,
        ticket_types=[_spec_of(ticket_type, capacity=4)],
    )
    ticket_type.refresh_from_db()
    assert ticket_type.capacity == 4
    assert ticket_type.remaining == 0
    change = AuditLogEntry.objects.get(action="ticket_type.changed")
    assert change.before["capacity"] == 10
    assert change.after["capacity"] == 4


def test_a_ticket_type_with_sales_cannot_be_removed(organiser, buyer):
    event = EventFactory(organiser=organiser, ticket_types=[])
    sold = TicketTypeFactory(event=event)
    unsold = TicketTypeFactory(event=event)
    issue_tickets(owner=buyer, ticket_type=sold, quantity=1, amount_minor_each=2500)
    event_details = details(starts_at=event.starts_at)

    with pytest.raises(CatalogueError, match="cannot be removed"):
        services.update_event(
            event=event, actor=organiser, details=event_details, ticket_types=[_spec_of(unsold)]
        )
    services.update_event(
        event=event, actor=organiser, details=event_details, ticket_types=[_spec_of(sold)]
    )
    assert list(event.ticket_types.all()) == [sold]


def test_currency_is_fixed_once_tickets_are_sold(organiser, buyer):
    event = EventFactory(organiser=organiser, ticket_types=[])
    ticket_type = TicketTypeFactory(event=event)
    issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=1, amount_minor_each=2500)
    with pytest.raises(CatalogueError, match="currency"):
        services.update_event(
            event=event,
            actor=organiser,
            details=details(starts_at=event.starts_at, currency="EUR"),
            ticket_types=[_spec_of(ticket_type)],
        )


def test_editing_keeps_a_start_in_the_past_only_if_unchanged(organiser):
    event = EventFactory(organiser=organiser, ticket_types=[])
    ticket_type = TicketTypeFactory(event=event)
    with pytest.raises(CatalogueError, match="past"):
        services.update_event(
            event=event,
            actor=organiser,
            details=details(starts_at=timezone.now() - timedelta(days=1)),
            ticket_types=[_spec_of(ticket_type)],
        )


def test_a_foreign_ticket_type_id_is_refused(organiser, other_organiser):
    event = EventFactory(organiser=organiser)
    foreign = TicketType.objects.filter(event__organiser=other_organiser).first()
    with pytest.raises(CatalogueError, match="does not belong"):
        services.update_event(
            event=event,
            actor=organiser,
            details=details(starts_at=event.starts_at),
            ticket_types=[_spec_of(foreign)],
        )
    foreign.refresh_from_db()
    assert foreign.event.organiser == other_organiser


def test_issue_tickets_never_exceeds_capacity(buyer):
    ticket_type = TicketTypeFactory(capacity=3)
    issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=2, amount_minor_each=100)
    with pytest.raises(SoldOut):
        issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=2, amount_minor_each=100)
    ticket_type.refresh_from_db()
    assert ticket_type.sold_count == 2
    assert ticket_type.tickets.count() == 2


def test_the_database_refuses_an_oversold_counter():
    from django.db import IntegrityError, transaction

    ticket_type = TicketTypeFactory(capacity=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketType.objects.filter(pk=ticket_type.pk).update(sold_count=2, held_count=1)


def test_a_price_below_the_card_minimum_is_refused_by_the_service(organiser):
    with pytest.raises(CatalogueError, match="below the smallest card payment in GBP"):
        services.create_event(
            organiser=organiser,
            details=details(),
            ticket_types=[standard(price_minor=29)],
        )
    assert not Event.objects.exists()


def test_dates_far_ahead_are_refused_by_the_service_but_kept_dates_stay_editable(organiser, soon):
    far = timezone.now().replace(year=2300)
    with pytest.raises(CatalogueError, match="Event dates must fall between"):
        services.create_event(
            organiser=organiser, details=details(starts_at=far), ticket_types=[standard()]
        )
    # An event saved before the bound (or last year's) can still be edited as it is.
    event = EventFactory(
        organiser=organiser, starts_at=far, ends_at=None, status=Event.Status.DRAFT
    )
    kept = services.update_event(
        event=event,
        actor=organiser,
        details=details(starts_at=far, name="Renamed"),
        ticket_types=[standard(ticket_type_id=event.ticket_types.get().pk)],
    )
    assert kept.name == "Renamed"
    with pytest.raises(CatalogueError, match="too far ahead"):
        services.publish_event(event=kept, actor=organiser)
    with pytest.raises(CatalogueError, match="Event dates must fall between"):
        services.update_event(
            event=kept,
            actor=organiser,
            details=details(starts_at=far.replace(year=9999), name="Renamed"),
            ticket_types=[standard(ticket_type_id=event.ticket_types.get().pk)],
        )


def test_unpublishing_is_refused_while_tickets_are_sold_or_on_offer(organiser):
    event = EventFactory(organiser=organiser, ticket_types=[])
    sold = TicketTypeFactory(event=event, capacity=10)
    offered = TicketTypeFactory(event=event, capacity=10)
    issue_tickets(owner=UserFactory(), ticket_type=sold, quantity=2, amount_minor_each=0)
    with transaction.atomic():
        hold_places(ticket_type=TicketType.objects.get(pk=offered.pk), quantity=1)

    with pytest.raises(services.CatalogueError, match="Cancel the event instead: 3 tickets are"):
        services.unpublish_event(event=event, actor=organiser)

    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED
    assert not AuditLogEntry.objects.filter(action="event.unpublished").exists()
