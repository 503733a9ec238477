from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditLogEntry
from events.models import Event, TicketType
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.errors import DomainError, NotFound
from tickets.models import Ticket
from tickets.services import issue_tickets
from waitlist import selectors, services
from waitlist.models import QueueState, WaitingListEntry
from waitlist.ratelimit import RateLimited

pytestmark = pytest.mark.django_db(transaction=True)
Status = WaitingListEntry.Status


def join(user, ticket_type, quantity=1):
    return services.join_waiting_list(
        user=user, ticket_type_id=ticket_type.pk, quantity=quantity
    ).entry


def details_of(event):
    from events.services import EventDetails

    return EventDetails(
        name=event.name,
        description=event.description,
        venue_name=event.venue_name,
        address=event.address,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        currency=event.currency,
    )


def set_capacity(ticket_type, capacity, actor):
    from events.services import TicketTypeSpec

    services.update_event(
        event=ticket_type.event,
        actor=actor,
        details=details_of(ticket_type.event),
        ticket_types=[
            TicketTypeSpec(
                name=ticket_type.name,
                price_minor=ticket_type.price_minor,
                capacity=capacity,
                ticket_type_id=ticket_type.pk,
            )
        ],
    )


def reload(instance):
    instance.refresh_from_db()
    return instance


def test_a_join_with_free_places_and_nobody_waiting_is_offered_at_once(buyer, paid_type):
    entry = join(buyer, paid_type, quantity=3)

    assert entry.status == Status.OFFERED
    assert entry.offered_price_minor == 2500
    assert entry.expires_at - entry.offered_at == timedelta(minutes=30)
    ticket_type = reload(paid_type)
    assert (ticket_type.held_count, ticket_type.sold_count, ticket_type.remaining) == (3, 0, 1)


def test_a_join_when_sold_out_waits_with_its_position(buyers, paid_type):
    join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=2)
    third = join(buyers[2], paid_type, quantity=1)

    assert (second.status, third.status) == (Status.WAITING, Status.WAITING)
    assert selectors.queue_position(second) == selectors.QueuePosition(0, 0)
    assert selectors.queue_position(third) == selectors.QueuePosition(1, 2)
    assert QueueState.objects.get(ticket_type=paid_type).waiting_entries == 2


def test_joining_again_returns_the_live_entry(buyer, paid_type):
    first = services.join_waiting_list(user=buyer, ticket_type_id=paid_type.pk, quantity=2)
    again = services.join_waiting_list(user=buyer, ticket_type_id=paid_type.pk, quantity=1)
    assert first.created and not again.created
    assert again.entry.pk == first.entry.pk
    assert WaitingListEntry.objects.count() == 1


def test_joining_again_with_an_overdue_offer_expires_it_and_joins_the_back(buyers, paid_type):
    stale = join(buyers[0], paid_type, quantity=4)
    waiting = join(buyers[1], paid_type, quantity=2)

    with time_machine.travel(stale.expires_at + timedelta(seconds=1)):
        again = services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=2)

    assert again.created and again.entry.pk != stale.pk
    assert reload(stale).status == Status.EXPIRED
    assert reload(waiting).status == Status.OFFERED  # the freed places went in order
    assert again.entry.status == Status.OFFERED  # and the rest to the newcomer at the back
    assert again.entry.sequence > waiting.sequence


def test_a_group_larger_than_the_whole_ticket_type_is_refused(buyer, organiser):
    ticket_type = TicketTypeFactory(
        event=EventFactory(organiser=organiser, ticket_types=[]), capacity=2, name="Balcony"
    )
    with pytest.raises(services.WaitlistError, match="Only 2 “Balcony” tickets exist"):
        join(buyer, ticket_type, quantity=3)
    assert not WaitingListEntry.objects.exists()


def test_an_expired_offer_passes_to_the_next_in_line(buyers, paid_type, jobs):
    first = join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=2)

    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        assert services.expire_offer(entry_id=first.pk)
        assert services.expire_offer(entry_id=first.pk)  # idempotent

    assert reload(first).status == Status.EXPIRED
    assert reload(second).status == Status.OFFERED
    assert reload(paid_type).held_count == 2


def test_an_offer_is_not_expired_before_its_time(buyer, paid_type):
    entry = join(buyer, paid_type)
    with time_machine.travel(entry.expires_at - timedelta(seconds=1)):
        assert not services.expire_offer(entry_id=entry.pk)
    assert reload(entry).status == Status.OFFERED


def test_the_expiry_job_is_scheduled_for_the_offer_s_expiry_and_runs_then(buyers, paid_type, jobs):
    first = join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=1)
    jobs.run_due()  # the e-mails; the expiry job waits in the schedule
    assert jobs.scheduled_names() == ["expire_offer_task"]

    with time_machine.travel(first.expires_at - timedelta(seconds=5)):
        jobs.run_due()
    assert reload(first).status == Status.OFFERED

    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        jobs.run_due()
    assert reload(first).status == Status.EXPIRED
    assert reload(second).status == Status.OFFERED


def test_a_group_that_does_not_fit_blocks_those_behind_it(buyers, paid_type):
    holder = join(buyers[0], paid_type, quantity=2)
    join(buyers[1], paid_type, quantity=2)  # offered: fills capacity 4
    group = join(buyers[2], paid_type, quantity=3)
    single = join(buyers[3], paid_type, quantity=1)

    services.decline_offer(user=buyers[0], entry_id=holder.pk)

    # Two places are free; the group of three is first and does not fit, so the single
    # buyer behind it waits too.
    assert reload(group).status == Status.WAITING
    assert reload(single).status == Status.WAITING
    assert reload(paid_type).remaining == 2


def test_declining_hands_the_places_on_at_once(buyers, paid_type):
    first = join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=4)
    services.decline_offer(user=buyers[0], entry_id=first.pk)
    assert reload(first).status == Status.DECLINED
    assert reload(second).status == Status.OFFERED
    assert AuditLogEntry.objects.filter(action="offer.declined").count() == 1


def test_leaving_the_queue_moves_everyone_behind_up(buyers, paid_type):
    join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=1)
    third = join(buyers[2], paid_type, quantity=1)
    services.leave_waiting_list(user=buyers[1], entry_id=second.pk)
    assert reload(second).status == Status.LEFT
    assert selectors.queue_position(reload(third)) == selectors.QueuePosition(0, 0)


def test_accepting_a_free_offer_issues_the_tickets(buyer, free_type):
    entry = join(buyer, free_type, quantity=2)
    tickets = services.accept_offer(user=buyer, entry_id=entry.pk)

    assert len(tickets) == 2
    assert reload(entry).status == Status.PURCHASED
    assert set(Ticket.objects.values_list("owner", "entry", "amount_minor", "status")) == {
        (buyer.pk, entry.pk, 0, "valid")
    }
    ticket_type = reload(free_type)
    assert (ticket_type.sold_count, ticket_type.held_count) == (2, 0)


def test_a_paid_offer_cannot_be_taken_without_paying(buyer, paid_type):
    entry = join(buyer, paid_type)
    with pytest.raises(services.WaitlistError, match="paid for"):
        services.accept_offer(user=buyer, entry_id=entry.pk)
    assert reload(entry).status == Status.OFFERED
    assert not Ticket.objects.exists()


def test_accepting_after_expiry_is_refused_and_the_place_passes_on(buyers, free_type):
    first = join(buyers[0], free_type, quantity=4)
    second = join(buyers[1], free_type, quantity=1)
    with (
        time_machine.travel(first.expires_at + timedelta(seconds=1)),
        pytest.raises(services.OfferExpired),
    ):
        services.accept_offer(user=buyers[0], entry_id=first.pk)
    assert reload(first).status == Status.EXPIRED
    assert reload(second).status == Status.OFFERED
    assert not Ticket.objects.exists()


def test_someone_else_s_offer_cannot_be_accepted_declined_or_left(buyers, free_type):
    entry = join(buyers[0], free_type)
    for action in (services.accept_offer, services.decline_offer, services.leave_waiting_list):
        with pytest.raises(NotFound):
            action(user=buyers[1], entry_id=entry.pk)
    assert reload(entry).status == Status.OFFERED


@pytest.mark.parametrize("quantity", [0, -1, 5])
def test_quantity_outside_the_limit_is_refused(buyer, paid_type, quantity):
    with pytest.raises(DomainError, match="between 1 and 4"):
        join(buyer, paid_type, quantity=quantity)
    assert not WaitingListEntry.objects.exists()


def test_the_per_buyer_limit_counts_tickets_and_entries(buyer, organiser):
    ticket_type = TicketTypeFactory(
        event=EventFactory(organiser=organiser, ticket_types=[]), capacity=20, max_per_buyer=4
    )
    issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=3, amount_minor_each=0)
    with pytest.raises(services.WaitlistError, match="at most 1 more"):
        join(buyer, ticket_type, quantity=2)
    assert join(buyer, ticket_type, quantity=1).status == Status.OFFERED


@pytest.mark.parametrize(
    ("event_overrides", "error"),
    [
        ({"status": Event.Status.DRAFT}, NotFound),
        ({"status": Event.Status.CANCELLED}, services.WaitlistError),
        ({"starts_at": timezone.now() - timedelta(hours=1)}, services.WaitlistError),
    ],
)
def test_unpublished_cancelled_or_past_events_cannot_be_joined(buyer, event_overrides, error):
    ticket_type = TicketTypeFactory(event=EventFactory(ticket_types=[], **event_overrides))
    with pytest.raises(error):
        join(buyer, ticket_type)
    assert not WaitingListEntry.objects.exists()


def test_an_unknown_ticket_type_is_404(buyer):
    with pytest.raises(NotFound):
        services.join_waiting_list(user=buyer, ticket_type_id=987654, quantity=1)


def test_joins_are_rate_limited_across_events(buyer, organiser, settings):
    types = [
        TicketTypeFactory(event=EventFactory(organiser=organiser, ticket_types=[]))
        for _ in range(4)
    ]
    for ticket_type in types[:3]:
        join(buyer, ticket_type)
    join(buyer, types[0])  # a live entry is returned without using the limit

    with pytest.raises(RateLimited) as refused:
        join(buyer, types[3])

    assert refused.value.status == 429
    assert refused.value.message == (
        "You've joined waiting lists too often. Please wait 30 minutes before trying again."
    )
    assert WaitingListEntry.objects.count() == 3


def test_a_refused_join_does_not_use_the_rate_limit(buyer, organiser):
    types = [
        TicketTypeFactory(event=EventFactory(organiser=organiser, ticket_types=[]))
        for _ in range(3)
    ]
    for _ in range(5):
        with pytest.raises(DomainError):
            join(buyer, types[0], quantity=9)
    for ticket_type in types:
        join(buyer, ticket_type)
    assert WaitingListEntry.objects.count() == 3


def test_raising_capacity_serves_the_queue_at_once(buyers, paid_type, organiser):
    join(buyers[0], paid_type, quantity=4)
    waiting = join(buyers[1], paid_type, quantity=2)
    set_capacity(paid_type, 6, actor=organiser)
    assert reload(waiting).status == Status.OFFERED


def test_lowering_capacity_below_sold_plus_held_is_refused(buyers, paid_type, organiser):
    from events.services import CatalogueError

    join(buyers[0], paid_type, quantity=3)
    with pytest.raises(CatalogueError, match="Cannot reduce capacity below 3"):
        set_capacity(paid_type, 2, actor=organiser)
    assert reload(paid_type).capacity == 4


def test_a_price_change_applies_to_later_offers_only(buyers, paid_type):
    first = join(buyers[0], paid_type, quantity=4)
    TicketType.objects.filter(pk=paid_type.pk).update(price_minor=3000)
    second = join(buyers[1], paid_type, quantity=1)
    services.decline_offer(user=buyers[0], entry_id=first.pk)
    assert reload(first).offered_price_minor == 2500
    assert reload(second).offered_price_minor == 3000


def test_the_sweep_expires_what_a_lost_job_left(buyers, paid_type, jobs):
    first = join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=1)
    jobs.huey.flush()  # the scheduled expiry job is lost, as in a crash

    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        assert services.sweep() == 1
        assert services.sweep() == 0
    assert reload(first).status == Status.EXPIRED
    assert reload(second).status == Status.OFFERED


def test_an_overdue_offer_is_not_shown_as_held(buyers, paid_type):
    first = join(buyers[0], paid_type, quantity=4)
    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        offers = selectors.event_offers(event=paid_type.event, viewer=buyers[0])
        assert offers[0].availability.remaining == 4
        assert not offers[0].buyer.has_offer


def test_e_mails_go_out_for_join_offer_and_expiry(buyers, paid_type, jobs, mailoutbox):
    first = join(buyers[0], paid_type, quantity=4)
    join(buyers[1], paid_type, quantity=1)
    jobs.run_due()
    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        jobs.run_due()

    subjects = sorted((message.to[0], message.subject) for message in mailoutbox)
    event_name = paid_type.event.name
    assert subjects == [
        ("buyer0@example.com", f"[Ticket Hub] Your offer for {event_name} has expired"),
        (
            "buyer0@example.com",
            f"[Ticket Hub] Your tickets for {event_name} are ready: reply before they pass on",
        ),
        ("buyer1@example.com", f"[Ticket Hub] You're on the waiting list for {event_name}"),
        (
            "buyer1@example.com",
            f"[Ticket Hub] Your tickets for {event_name} are ready: reply before they pass on",
        ),
    ]
    offer_mail = next(
        m for m in mailoutbox if "ready" in m.subject and m.to == ["buyer0@example.com"]
    )
    expires = timezone.localtime(first.expires_at, paid_type.event.zone)
    assert expires.strftime("%H:%M") in offer_mail.body
    assert "(Europe/London)" in offer_mail.body


def test_a_new_user_entry_counts_from_zero(paid_type):
    newcomer = UserFactory(email="newcomer@example.com")
    assert join(newcomer, paid_type).status == Status.OFFERED


def test_reading_the_event_page_expires_an_overdue_offer_and_serves_the_next(
    client, buyers, paid_type
):
    first = join(buyers[0], paid_type, quantity=4)
    second = join(buyers[1], paid_type, quantity=1)
    with time_machine.travel(first.expires_at + timedelta(seconds=1)):
        client.get(f"/events/{paid_type.event_id}/")
    assert reload(first).status == Status.EXPIRED
    assert reload(second).status == Status.OFFERED


def test_join_slots_survive_a_busy_cache():
    from django.core.cache import cache

    from waitlist.ratelimit import take_join_slot

    cache.clear()
    users = range(900_001, 900_400)
    first_slots = [take_join_slot(user_id).key for user_id in users]
    second_slots = [take_join_slot(user_id).key for user_id in users]
    assert all(key.endswith(":0") for key in first_slots)
    assert all(key.endswith(":1") for key in second_slots)  # no first slot was culled
