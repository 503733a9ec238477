"""A model-based test of the waiting-list engine against the real database.

A hypothesis state machine joins, declines, leaves, buys, moves the clock, sweeps, runs
the queued jobs, expires offers lazily and edits capacity at random, while a plain-Python
model of the queue predicts every outcome on its own. After every step the database must
agree with the model and keep the engine's promises: never more tickets issued and held
than exist, service strictly in join order (a group that doesn't fit blocks those behind
it), no overdue offer shown as live, exact queue positions and queue totals.

HYPOTHESIS_EXAMPLES and HYPOTHESIS_STEPS make a longer local run.
"""

import copy
import os
import re
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from itertools import zip_longest

import hypothesis
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from audit.models import AuditLogEntry
from events import services as event_services
from events.models import Event, TicketType
from payments.models import ConnectedAccount
from tests.factories import EventFactory, TicketTypeFactory
from tests.jobs import JobRunner
from tickethub.errors import NotFound
from tickets.models import Ticket
from waitlist import selectors, services
from waitlist.models import LiveEvent, QueueBlock, QueueState, WaitingListEntry
from waitlist.tests.queue_model import (
    OFFER_WINDOW,
    OFFER_WINDOW_MINUTES,
    ModelEntry,
    ModelType,
    QueueModel,
)

Status = WaitingListEntry.Status
BUYERS = 6
PAID_PRICE_MINOR = 2500
COUNTED = (Ticket.Status.VALID, Ticket.Status.USED)
SECOND = timedelta(seconds=1)
JOINS = st.tuples(st.integers(0, BUYERS - 1), st.integers(0, 1), st.integers(1, 4))
# Shifts around the offer window, so expiry lands on, just before and just after the edge.
CLOCK_SHIFTS = st.one_of(
    st.sampled_from([SECOND, OFFER_WINDOW - SECOND, OFFER_WINDOW, OFFER_WINDOW + SECOND]),
    st.integers(1, 50 * 60).map(lambda seconds: timedelta(seconds=seconds)),
)


# --- the machine ------------------------------------------------------------------------------


def expect_error(error: type[Exception], message: str, call, **kwargs):
    with pytest.raises(error, match=re.escape(message)) as raised:
        call(**kwargs)
    assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"


class WaitingListMachine(RuleBasedStateMachine):
    entries = Bundle("entries")

    def __init__(self):
        super().__init__()
        HUEY.flush()
        cache.clear()
        self.traveller = time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False)
        self.clock = self.traveller.start()
        self.model = QueueModel(now=timezone.now())
        self.jobs = JobRunner(HUEY)
        self.checks = 0
        self.last_statuses: dict[int, str] = {}
        self.last_live_event = LiveEvent.objects.aggregate(last=Max("pk"))["last"] or 0

    def teardown(self):
        Ticket.objects.all().delete()
        WaitingListEntry.objects.all().delete()
        AuditLogEntry.objects.all().delete()
        Event.objects.all().delete()  # its ticket types, their queue states and blocks
        LiveEvent.objects.all().delete()
        ConnectedAccount.objects.all().delete()
        User.objects.all().delete()
        HUEY.flush()
        cache.clear()
        if hasattr(mail, "outbox"):
            mail.outbox.clear()
        self.traveller.stop()

    @initialize(
        target=entries,
        specs=st.lists(
            st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2)),
            min_size=1,
            max_size=2,
        ),
        second_is_paid=st.booleans(),
        first_joins=st.lists(JOINS, max_size=8),
    )
    def create_event_and_queue(self, specs, second_is_paid, first_joins):
        """An event with one or two small ticket types, and the first people joining."""
        self.organiser = User.objects.create(username="organiser", email="organiser@example.com")
        self.buyers = [
            User.objects.create(username=f"buyer{n}", email=f"buyer{n}@example.com")
            for n in range(BUYERS)
        ]
        self.event = EventFactory(
            organiser=self.organiser,
            ticket_types=[],
            offer_window_minutes=OFFER_WINDOW_MINUTES,
        )
        for index, (capacity, max_per_entry, buyer_extra) in enumerate(specs):
            price = PAID_PRICE_MINOR if index == 1 and second_is_paid else 0
            ticket_type = TicketTypeFactory(
                event=self.event,
                name=f"Type {index}",
                price_minor=price,
                capacity=capacity,
                max_per_entry=max_per_entry,
                max_per_buyer=max_per_entry + buyer_extra,
                position=index,
            )
            self.model.types[ticket_type.pk] = ModelType(
                ticket_type.pk,
                ticket_type.name,
                capacity,
                price,
                ticket_type.max_per_entry,
                ticket_type.max_per_buyer,
            )
        return self.join_within_limits(first_joins)

    # --- helpers -----------------------------------------------------------------------------

    def ticket_type(self, index: int) -> ModelType:
        types = list(self.model.types.values())
        return types[index % len(types)]

    def owner(self, entry: ModelEntry) -> User:
        return next(user for user in self.buyers if user.pk == entry.user_pk)

    def join(self, buyer: int, type_index: int, quantity: int):
        user, ticket_type = self.buyers[buyer], self.ticket_type(type_index)
        join = services.join_waiting_list
        kwargs = {"user": user, "ticket_type_id": ticket_type.pk, "quantity": quantity}
        live = self.model.live_entry(user.pk, ticket_type.pk)
        refusal = self.model.join_refusal(user.pk, ticket_type, quantity)
        if live is not None and live.expires_at is not None and live.expires_at <= self.model.now:
            # An overdue offer is expired first; the buyer then joins the back of the queue
            # (unless the join is refused, which rolls the expiry back with it).
            if refusal is not None:
                expect_error(*refusal, join, **kwargs)
                return multiple()
            self.model.settle(ticket_type)
            live = None
        if live is not None:
            self.model.settle(ticket_type)  # the join expires others' overdue offers lazily
            result = join(**kwargs)
            assert not result.created and result.entry.pk == live.pk, (
                f"joining again should return live entry {live.pk}, got {result}"
            )
            return multiple()
        if refusal is not None:
            expect_error(*refusal, join, **kwargs)
            return multiple()
        result = join(**kwargs)
        assert result.created, f"a new entry was expected, got {result}"
        entry = self.model.add_entry(
            pk=result.entry.pk, user_pk=user.pk, ticket_type=ticket_type, quantity=quantity
        )
        self.model.settle(ticket_type)
        assert result.entry.status == entry.status, (
            f"join of ×{quantity} returned {result.entry.status}, the model says {entry.status}"
        )
        return result.entry.pk

    def join_within_limits(self, joins):
        """New entries: the buyer is the drawn one or the next without a live entry in the
        type, the quantity is within the type's limit per request."""
        joined = []
        for buyer, type_index, quantity in joins:
            ticket_type = self.ticket_type(type_index)
            newcomers = [
                n
                for n in range(BUYERS)
                if not self.model.live_entry(self.buyers[n].pk, ticket_type.pk)
            ]
            if newcomers:
                buyer = min(newcomers, key=lambda n: (n - buyer) % BUYERS)
            quantity = 1 + (quantity - 1) % ticket_type.max_per_entry
            joined.append(self.join(buyer, type_index, quantity))
        return multiple(*(pk for pk in joined if isinstance(pk, int)))

    def give_up_offer(self, entry: ModelEntry, call) -> None:
        """decline_offer's path: settle, then decline the offer if it is still open."""
        ticket_type = self.model.types[entry.type_pk]
        self.model.settle(ticket_type)
        kwargs = {"user": self.owner(entry), "entry_id": entry.pk}
        if entry.status == Status.OFFERED:
            entry.status = Status.DECLINED
            self.model.settle(ticket_type)
            assert call(**kwargs).status == Status.DECLINED
        elif entry.status == Status.EXPIRED:
            expect_error(services.OfferExpired, "This offer had already expired.", call, **kwargs)
        else:
            message = "There is no open offer to decline."
            expect_error(services.OfferNoLongerLive, message, call, **kwargs)

    def decline(self, entry: ModelEntry) -> None:
        self.give_up_offer(entry, services.decline_offer)

    def leave(self, entry: ModelEntry) -> None:
        if entry.status == Status.OFFERED:  # leaving with an offer declines it
            self.give_up_offer(entry, services.leave_waiting_list)
            return
        kwargs = {"user": self.owner(entry), "entry_id": entry.pk}
        if entry.status != Status.WAITING:
            message = "You are not waiting in this queue any more."
            expect_error(services.WaitlistError, message, services.leave_waiting_list, **kwargs)
            return
        entry.status = Status.LEFT
        self.model.settle(self.model.types[entry.type_pk])
        assert services.leave_waiting_list(**kwargs).status == Status.LEFT

    def accept(self, entry: ModelEntry, pays: bool = True) -> None:
        """Free offers are taken directly; paid ones through the fulfilment path, with the
        amount paid, or refused (changing nothing) when nothing was paid."""
        ticket_type = self.model.types[entry.type_pk]
        amount = ticket_type.price_minor if ticket_type.price_minor and pays else None
        kwargs = {"user": self.owner(entry), "entry_id": entry.pk, "amount_minor_each": amount}
        before = copy.deepcopy(self.model)
        self.model.settle(ticket_type)
        if entry.status == Status.OFFERED and entry.offered_price_minor and amount is None:
            self.model = before  # the refusal rolls back the settling too
            message = "This offer must be paid for at checkout."
            expect_error(services.WaitlistError, message, services.accept_offer, **kwargs)
        elif entry.status == Status.OFFERED:
            entry.status = Status.PURCHASED
            entry.paid_each_minor = amount or 0
            tickets = services.accept_offer(**kwargs)
            assert len(tickets) == entry.quantity
        elif entry.status == Status.EXPIRED:
            message = "Sorry, this offer has expired and passed to the next in line."
            expect_error(services.OfferExpired, message, services.accept_offer, **kwargs)
        else:
            message = "There is no open offer to accept."
            expect_error(services.OfferNoLongerLive, message, services.accept_offer, **kwargs)

    def expire_offer(self, entry: ModelEntry) -> None:
        self.model.settle(self.model.types[entry.type_pk])
        expected = entry.status == Status.EXPIRED
        assert services.expire_offer(entry_id=entry.pk) is expected

    def entries_in(self, status: str) -> list[ModelEntry]:
        return [e for t in self.model.types.values() for e in t.with_status(status)]

    def has_offers(self) -> bool:
        return bool(self.entries_in(Status.OFFERED))

    def has_waiting(self) -> bool:
        return bool(self.entries_in(Status.WAITING))

    # --- rules ---------------------------------------------------------------------------------

    @rule(target=entries, joins=st.lists(JOINS, min_size=1, max_size=3))
    def people_join(self, joins):
        """One to three buyers join, each asking for a quantity within the type's limit."""
        return self.join_within_limits(joins)

    @rule(
        target=entries,
        buyer=st.integers(0, BUYERS - 1),
        type_index=st.integers(0, 1),
        quantity=st.sampled_from([0, 1, 2, 3, 4, 5, 9]),
    )
    def join_with_any_quantity(self, buyer, type_index, quantity):
        return self.join(buyer, type_index, quantity)

    @precondition(has_offers)
    @rule(pick=st.integers(0, 15), pays=st.booleans())
    def buyer_accepts_an_offer(self, pick, pays):
        offers = self.entries_in(Status.OFFERED)  # overdue ones too: they must be refused
        self.accept(offers[pick % len(offers)], pays)

    @precondition(has_offers)
    @rule(pick=st.integers(0, 15))
    def buyer_declines_an_offer(self, pick):
        offers = self.entries_in(Status.OFFERED)
        self.decline(offers[pick % len(offers)])

    @precondition(has_waiting)
    @rule(pick=st.integers(0, 15))
    def buyer_leaves_the_queue(self, pick):
        waiting = self.entries_in(Status.WAITING)
        self.leave(waiting[pick % len(waiting)])

    @rule(
        entry_pk=entries,
        action=st.sampled_from(["accept", "accept_unpaid", "decline", "leave", "expire_offer"]),
    )
    def something_happens_to_any_entry(self, entry_pk, action):
        """Any entry, in whatever state it is now: most of these calls must be refused."""
        entry = self.model.entries[entry_pk]
        if action == "accept_unpaid":
            self.accept(entry, pays=False)
        else:
            getattr(self, action)(entry)

    @rule(
        entry_pk=entries,
        offset=st.integers(1, BUYERS - 1),
        action=st.sampled_from(["accept_offer", "decline_offer", "leave_waiting_list"]),
    )
    def someone_else_cannot_touch_an_entry(self, entry_pk, offset, action):
        entry = self.model.entries[entry_pk]
        owner = self.buyers.index(self.owner(entry))
        intruder = self.buyers[(owner + offset) % BUYERS]
        with pytest.raises(NotFound):
            getattr(services, action)(user=intruder, entry_id=entry_pk)

    @rule(shift=CLOCK_SHIFTS)
    def time_passes(self, shift):
        self.clock.shift(shift)
        self.model.now += shift

    @rule()
    def sweep(self):
        due = [t for t in self.model.types.values() if self.model.needs_sweep(t)]
        for ticket_type in due:
            self.model.settle(ticket_type)
        assert services.sweep() == len(due)

    @rule()
    def a_page_view_expires_overdue_offers(self):
        due = [t for t in self.model.types.values() if t.overdue_offers(self.model.now)]
        for ticket_type in due:
            self.model.settle(ticket_type)
        settled = services.expire_overdue_offers_of_event(event_id=self.event.pk)
        assert settled == len(due)  # each type with an overdue offer, settled once

    @rule()
    def run_due_jobs(self):
        """The queued jobs run as a consumer would: each offer's expiry job at its expiry."""
        due = [job for job in self.model.jobs if job.eta <= self.model.now]
        self.model.jobs = [job for job in self.model.jobs if job.eta > self.model.now]
        for type_pk in sorted({job.type_pk for job in due}):
            self.model.settle(self.model.types[type_pk])
        self.jobs.run_due()
        scheduled = sorted(
            (task.args[0], task.eta)
            for task in HUEY.scheduled()
            if task.name == "expire_offer_task"
        )
        expected = sorted(
            (job.entry_pk, job.eta.astimezone(UTC).replace(tzinfo=None)) for job in self.model.jobs
        )
        assert scheduled == expected, "every open offer has its expiry job, due at its expiry"

    @rule(type_index=st.integers(0, 1), capacity=st.integers(1, 8))
    def organiser_changes_capacity(self, type_index, capacity):
        changed = self.ticket_type(type_index)
        event_row = Event.objects.get(pk=self.event.pk)
        details = event_services.EventDetails(
            **{f.name: getattr(event_row, f.name) for f in fields(event_services.EventDetails)}
        )
        specs = [
            event_services.TicketTypeSpec(
                name=t.name,
                price_minor=t.price_minor,
                capacity=capacity if t is changed else t.capacity,
                ticket_type_id=t.pk,
                max_per_entry=t.max_per_entry,
                max_per_buyer=t.max_per_buyer,
            )
            for t in self.model.types.values()
        ]
        kwargs = {"event": event_row, "actor": self.organiser, "details": details}
        floor = changed.sold + changed.held
        if capacity < floor:
            message = f"Cannot reduce capacity below {floor}: tickets sold or on offer."
            error = event_services.CatalogueError
            expect_error(error, message, services.update_event, ticket_types=specs, **kwargs)
            return
        changed.capacity = capacity
        for ticket_type in self.model.types.values():
            self.model.settle(ticket_type)
        services.update_event(ticket_types=specs, **kwargs)

    # --- the checks ----------------------------------------------------------------------------

    @invariant()
    def engine_keeps_its_promises(self):
        now = timezone.now()
        assert now == self.model.now
        type_pks = list(self.model.types)
        rows = TicketType.objects.in_bulk(type_pks)
        entries = list(
            WaitingListEntry.objects.filter(ticket_type_id__in=type_pks).order_by(
                "ticket_type_id", "sequence"
            )
        )
        by_type = {pk: [e for e in entries if e.ticket_type_id == pk] for pk in type_pks}
        tickets = Counter(
            Ticket.objects.filter(ticket_type_id__in=type_pks).values_list(
                "ticket_type_id", "entry_id", "owner_id", "status", "amount_minor"
            )
        )
        for pk in type_pks:
            self.check_capacity(rows[pk], by_type[pk], tickets, now)
            self.check_join_order(rows[pk], by_type[pk])
            self.check_queue_totals(rows[pk], by_type[pk])
        self.check_audit_order(entries)
        self.check_live_offers(entries)
        self.check_against_the_model(entries, tickets)
        self.check_what_buyers_and_the_organiser_see()
        self.check_open_pages_are_told()

    def check_capacity(self, row, entries, tickets, now):
        issued = sum(n for key, n in tickets.items() if key[0] == row.pk and key[3] in COUNTED)
        offered = [e for e in entries if e.status == Status.OFFERED]
        live_held = sum(e.quantity for e in offered if e.expires_at > now)
        assert issued + live_held <= row.capacity, (
            f"{row.name}: {issued} issued + {live_held} held by live offers > capacity "
            f"{row.capacity}"
        )
        assert row.sold_count == issued, (
            f"{row.name}: sold_count {row.sold_count} but {issued} tickets issued"
        )
        held = sum(e.quantity for e in offered)
        assert row.held_count == held, (
            f"{row.name}: held_count {row.held_count} but offers hold {held}"
        )

    def check_join_order(self, row, entries):
        waiting = [e for e in entries if e.status == Status.WAITING]
        served = [e for e in entries if e.offered_at is not None]
        if waiting and served:
            head, last_served = waiting[0], max(served, key=lambda e: e.sequence)
            assert last_served.sequence < head.sequence, (
                f"{row.name}: #{last_served.sequence} (×{last_served.quantity}) was served "
                f"while #{head.sequence} (×{head.quantity}), ahead of it, still waits"
            )
        if waiting:
            free = row.capacity - row.sold_count - row.held_count
            assert waiting[0].quantity > free, (
                f"{row.name}: the head of the queue #{waiting[0].sequence} "
                f"(×{waiting[0].quantity}) fits in {free} free places but was not offered"
            )

    def check_audit_order(self, entries):
        sequence_of = {str(e.pk): (e.ticket_type_id, e.sequence) for e in entries}
        made = AuditLogEntry.objects.filter(action="offer.made").order_by("pk")
        last: dict[int, int] = {}
        for object_id in made.values_list("object_id", flat=True):
            type_pk, sequence = sequence_of[object_id]
            assert sequence > last.get(type_pk, 0), (
                f"offer to #{sequence} made after the offer to #{last[type_pk]}"
            )
            last[type_pk] = sequence

    def check_live_offers(self, entries):
        for entry in entries:
            if entry.status != Status.OFFERED:
                continue
            expected = entry.expires_at > self.model.now
            assert selectors.is_live_offer(entry) is expected, (
                f"offer #{entry.sequence} expiring {entry.expires_at:%H:%M:%S} is "
                f"{'not ' if expected else ''}live at {self.model.now:%H:%M:%S}"
            )

    def check_queue_totals(self, row, entries):
        waiting = [e for e in entries if e.status == Status.WAITING]
        counted = (len(waiting), sum(e.quantity for e in waiting))
        state = QueueState.objects.filter(ticket_type=row).first()
        totals = (state.waiting_entries, state.waiting_tickets) if state else (0, 0)
        assert totals == counted, f"{row.name}: QueueState says {totals}, truly {counted}"
        blocks = QueueBlock.objects.filter(ticket_type=row)
        summed = (
            sum(block.waiting_entries for block in blocks),
            sum(block.waiting_tickets for block in blocks),
        )
        assert summed == counted, f"{row.name}: queue blocks sum to {summed}, truly {counted}"
        model_type = self.model.types[row.pk]
        model_waiting = model_type.with_status(Status.WAITING)
        assert counted == (len(model_waiting), sum(e.quantity for e in model_waiting))
        if state:
            assert state.last_sequence == model_type.last_sequence
        # Counted from the database's own rows; that these are the model's is checked after.
        for entry in waiting:
            ahead = [e for e in waiting if e.sequence < entry.sequence]
            expected = selectors.QueuePosition(len(ahead), sum(e.quantity for e in ahead))
            position = selectors.queue_position(entry)
            assert position == expected, f"{row.name} #{entry.sequence}: {position} != {expected}"

    def check_what_buyers_and_the_organiser_see(self):
        now = self.model.now
        # One buyer's view per step, in turn (each view costs ~6 queries); all see the same
        # availability, and every buyer's own state comes round every few steps.
        self.checks += 1
        for viewer in [self.buyers[self.checks % BUYERS]]:
            offers = selectors.event_offers(event=self.event, viewer=viewer)
            assert [offer.ticket_type.pk for offer in offers] == list(self.model.types)
            for offer in offers:
                ticket_type = self.model.types[offer.ticket_type.pk]
                live_held = sum(e.quantity for e in ticket_type.live_offers(now))
                remaining = max(ticket_type.capacity - ticket_type.sold - live_held, 0)
                waiting = ticket_type.with_status(Status.WAITING)
                state = "sold_out" if not remaining else "queue" if waiting else "available"
                shown = (offer.availability.remaining, offer.state, offer.waiting_entries)
                assert shown == (remaining, state, len(waiting)), (
                    f"{ticket_type.name} shows {shown}, expected {(remaining, state, len(waiting))}"
                )
                if viewer is not None:
                    self.check_buyer_state(viewer, ticket_type, offer.buyer)
        for figures in selectors.organiser_queue_figures(event=self.event):
            ticket_type = self.model.types[figures.ticket_type.pk]
            live = ticket_type.live_offers(now)
            waiting = ticket_type.with_status(Status.WAITING)
            expected = (
                len(waiting),
                sum(e.quantity for e in waiting),
                len(live),
                sum(e.quantity for e in live),
                len(ticket_type.with_status(Status.PURCHASED)),
                len(ticket_type.with_status(Status.EXPIRED)) + len(ticket_type.overdue_offers(now)),
                len(ticket_type.with_status(Status.DECLINED)),
                len(ticket_type.with_status(Status.LEFT)),
            )
            shown = (
                figures.waiting_entries,
                figures.waiting_tickets,
                figures.live_offers,
                figures.held_tickets,
                figures.purchased,
                figures.expired,
                figures.declined,
                figures.left,
            )
            assert shown == expected, f"organiser figures {shown}, expected {expected}"

    def check_buyer_state(self, viewer, ticket_type, buyer):
        entry = self.model.live_entry(viewer.pk, ticket_type.pk)
        has_offer = entry is not None and entry in ticket_type.live_offers(self.model.now)
        waiting = entry is not None and entry.status == Status.WAITING
        expected = (
            entry.pk if entry else None,
            has_offer,
            waiting,
            ticket_type.position(entry) if waiting else None,
            self.model.tickets_of(viewer.pk, ticket_type.pk),
        )
        shown = (
            buyer.entry.pk if buyer.entry else None,
            buyer.has_offer,
            buyer.is_waiting,
            buyer.position,
            buyer.tickets_held,
        )
        assert shown == expected, f"{viewer} sees {shown} for {ticket_type.name}, not {expected}"

    def check_against_the_model(self, entries, tickets):
        seen = [
            (e.pk, e.user_id, e.quantity, e.sequence, e.status, e.expires_at, e.offered_price_minor)
            for e in entries
        ]
        predicted = [
            (
                e.pk,
                e.user_pk,
                e.quantity,
                e.sequence,
                str(e.status),
                e.expires_at,
                e.offered_price_minor,
            )
            for t in self.model.types.values()
            for e in t.entries
        ]
        assert seen == predicted, "the entries differ from the model's:\n" + "\n".join(
            f"  db {s}\n  model {p}" for s, p in zip_longest(seen, predicted) if s != p
        )
        expected = Counter()
        for entry in self.model.entries.values():
            if entry.status == Status.PURCHASED:
                key = (entry.type_pk, entry.pk, entry.user_pk, "valid", entry.paid_each_minor)
                expected[key] = entry.quantity
        assert tickets == expected, f"tickets {dict(tickets)}, expected {dict(expected)}"

    def check_open_pages_are_told(self):
        """Every entry that changed in this step told its owner's pages, and every change
        but a purchase told the event's pages (rows written with the change)."""
        statuses = {pk: entry.status for pk, entry in self.model.entries.items()}
        changed = [
            self.model.entries[pk]
            for pk, status in statuses.items()
            if self.last_statuses.get(pk) != status
        ]
        rows = list(
            LiveEvent.objects.filter(pk__gt=self.last_live_event).values_list("pk", "topic")
        )
        published = {topic for _, topic in rows}
        expected = {f"user:{entry.user_pk}" for entry in changed}
        if any(entry.status != Status.PURCHASED for entry in changed):
            expected.add(f"event:{self.event.pk}")
        assert expected <= published, (
            f"no live update for {sorted(expected - published)} after entries changed: "
            + ", ".join(f"#{e.sequence} {e.status}" for e in changed)
        )
        self.last_statuses = statuses
        self.last_live_event = max([self.last_live_event, *(pk for pk, _ in rows)])


@pytest.mark.django_db(transaction=True)
def test_the_waiting_list_engine_agrees_with_a_model_of_the_queue(settings, monkeypatch):
    settings.WAITLIST_JOIN_LIMIT = 10_000  # the rate limit has its own tests
    # A consumer waits up to a second on an empty Redis queue; running the due jobs between
    # two steps must not.
    monkeypatch.setattr(HUEY.storage, "blocking", False)
    run_state_machine_as_test(
        WaitingListMachine,
        settings=hypothesis.settings(
            max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 30)),
            stateful_step_count=int(os.environ.get("HYPOTHESIS_STEPS", 35)),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
