"""Buyers in separate OS processes racing for the same places, against the real database.

Each racer is a forked process with its own connection; all are released at one moment
once every one is connected. On SQLite (BEGIN IMMEDIATE, WAL, busy timeout) and on
PostgreSQL (row locks) alike, nothing is oversold, nobody is overtaken, and no lock error
reaches a buyer.
"""

import random
import time
import traceback
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from events.models import TicketType
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.errors import DomainError
from tickets.models import Ticket
from waitlist import services
from waitlist.models import LIVE_STATUSES, WaitingListEntry
from waitlist.tests.invariants import broken_invariants
from waitlist.tests.processes import race

# Racers queue e-mails and expiry jobs on the real queue: ``jobs`` empties it before and after.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("jobs")]
Status = WaitingListEntry.Status

CAPACITY = 25
BUYERS = 60
PROCESSES = 12  # connections at once: PostgreSQL's 100 are shared with the rest of CI
SAME_BUYER_PROCESSES = 8
CLEAN_REFUSALS = {"NotEnoughPlaces", "WaitlistError"}


def _attempt(service_call, *args, **facts) -> dict:
    """Make one call as a buyer would and say how it ended: its result, a domain error's
    message, or any other exception's traceback (a lock error here is a failure)."""
    started = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
    try:
        outcome = service_call(*args)
    except DomainError as error:
        outcome = {"result": type(error).__name__, "detail": str(error)}
    except Exception as error:
        outcome = {"result": type(error).__name__, "detail": traceback.format_exc()}
    return {**facts, **outcome, "started": started, "finished": time.monotonic()}


def _most_at_once(outcomes: list[dict]) -> int:
    """The largest number of calls that were in progress at the same moment."""
    moments = sorted(
        [(o["started"], 1) for o in outcomes] + [(o["finished"], -1) for o in outcomes]
    )
    running = most = 0
    for _, change in moments:
        running += change
        most = max(most, running)
    return most


def _unclean(outcomes: list[dict], allowed: set[str]) -> str:
    """A summary of the outcomes that are neither a success nor a clean refusal."""
    unclean = [o for o in outcomes if o["result"] not in allowed]
    if not unclean:
        return ""
    kinds = Counter(o["result"] for o in unclean)
    return f"{len(unclean)} unclean outcomes {dict(kinds)}; the first:\n{unclean[0]['detail']}"


def _join_and_take(user_id: int, ticket_type_id: int, quantity: int) -> dict:
    user = User.objects.get(pk=user_id)
    entry = services.join_waiting_list(
        user=user, ticket_type_id=ticket_type_id, quantity=quantity
    ).entry
    if entry.status != Status.OFFERED:
        return {"result": entry.status, "entry_id": entry.pk}
    tickets = services.accept_offer(user=user, entry_id=entry.pk)
    return {"result": "tickets", "entry_id": entry.pk, "tickets": len(tickets)}


def _buy_in_turn(buyers: list[tuple[int, int]], ticket_type_id: int) -> list[dict]:
    return [
        _attempt(
            _join_and_take, user_id, ticket_type_id, quantity, user_id=user_id, quantity=quantity
        )
        for user_id, quantity in buyers
    ]


def test_buyers_racing_for_the_last_places_never_get_more_than_there_are(organiser):
    ticket_type = TicketTypeFactory(
        event=EventFactory(organiser=organiser, ticket_types=[]), price_minor=0, capacity=CAPACITY
    )
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    buyers = [(user.pk, rng.randint(1, 2)) for user in UserFactory.create_batch(BUYERS)]

    outcomes = race(_buy_in_turn, [buyers[n::PROCESSES] for n in range(PROCESSES)], ticket_type.pk)

    context = f"seed {seed}"
    assert len(outcomes) == BUYERS, context
    assert _unclean(outcomes, {"tickets", Status.WAITING, *CLEAN_REFUSALS}) == "", context
    assert _most_at_once(outcomes) > 1, f"{context}: the racers never overlapped"
    ticket_type = TicketType.objects.get(pk=ticket_type.pk)
    issued = Ticket.objects.filter(ticket_type=ticket_type).count()
    assert ticket_type.sold_count == issued == sum(o.get("tickets", 0) for o in outcomes)
    assert ticket_type.held_count == 0, context
    # Every place is taken, except one when the head of the queue wants two (strict order).
    head = (
        WaitingListEntry.objects.filter(ticket_type=ticket_type, status=Status.WAITING)
        .order_by("sequence")
        .first()
    )
    assert head is not None, f"{context}: demand exceeded the places, so some must wait"
    assert CAPACITY - head.quantity < issued <= CAPACITY, context
    for outcome in outcomes:
        entry = WaitingListEntry.objects.get(pk=outcome["entry_id"])
        assert entry.user_id == outcome["user_id"], context
        if outcome["result"] == "tickets":
            assert entry.status == Status.PURCHASED, context
            assert outcome["tickets"] == entry.quantity == outcome["quantity"], context
        else:
            assert entry.status == Status.WAITING, context
    assert broken_invariants(ticket_type.pk) == [], context


def _join(user_id: int, ticket_type_id: int) -> dict:
    user = User.objects.get(pk=user_id)
    joined = services.join_waiting_list(user=user, ticket_type_id=ticket_type_id, quantity=2)
    return {"result": "joined", "entry_id": joined.entry.pk, "created": joined.created}


def _join_each(_racer: int, user_id: int, ticket_type_ids: list[int]) -> list[dict]:
    return [_attempt(_join, user_id, ticket_type_id) for ticket_type_id in ticket_type_ids]


def test_one_buyer_joining_from_many_processes_at_once_gets_one_entry(organiser, settings):
    # Exactly one slot per ticket type: a join that finds the live entry must use none.
    settings.WAITLIST_JOIN_LIMIT = 4
    event = EventFactory(organiser=organiser, ticket_types=[])
    open_types = TicketTypeFactory.create_batch(2, event=event, capacity=10)
    full_types = TicketTypeFactory.create_batch(2, event=event, capacity=2)
    for ticket_type in full_types:  # someone holds every place, so the racing buyer waits
        services.join_waiting_list(user=UserFactory(), ticket_type_id=ticket_type.pk, quantity=2)
    buyer = UserFactory(email="eager@example.com")
    ticket_types = open_types + full_types

    outcomes = race(_join_each, range(SAME_BUYER_PROCESSES), buyer.pk, [t.pk for t in ticket_types])

    assert _unclean(outcomes, {"joined"}) == ""
    assert _most_at_once(outcomes) > 1, "the racers never overlapped"
    for ticket_type in ticket_types:
        live = WaitingListEntry.objects.get(
            user=buyer, ticket_type=ticket_type, status__in=LIVE_STATUSES
        )
        returned = [o for o in outcomes if o["entry_id"] == live.pk]
        assert len(returned) == SAME_BUYER_PROCESSES  # every racer got this very entry
        assert sum(o["created"] for o in returned) == 1
        expected = Status.OFFERED if ticket_type in open_types else Status.WAITING
        assert live.status == expected
        assert broken_invariants(ticket_type.pk) == []
    assert WaitingListEntry.objects.filter(user=buyer).count() == len(ticket_types)
    # Joins that found the entry took no rate-limit slot: one slot per entry.
    slots = cache.get_many([f"waitlist-join:{buyer.pk}:{n}" for n in range(100)])
    assert len(slots) == len(ticket_types)
