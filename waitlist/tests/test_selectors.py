import pytest

from tests.factories import TicketTypeFactory
from waitlist import selectors
from waitlist.models import WaitingListEntry

pytestmark = pytest.mark.django_db
Status = WaitingListEntry.Status


def test_a_buyers_entries_list_the_live_ones_first_then_the_newest(buyer):
    statuses = [Status.WAITING, Status.EXPIRED, Status.OFFERED, Status.PURCHASED]
    created = {}
    for sequence, status in enumerate(statuses, start=1):
        entry = WaitingListEntry.objects.create(
            ticket_type=TicketTypeFactory(),
            user=buyer,
            quantity=1,
            sequence=sequence,
            status=status,
            expires_at=None if status != Status.OFFERED else "2030-01-01T00:00:00Z",
        )
        created[status] = entry

    listed = [entry.status for entry in selectors.entries_of(user=buyer)]

    # Oldest first within each group would hide a new offer below an old wait: newest first.
    assert listed == [Status.OFFERED, Status.WAITING, Status.PURCHASED, Status.EXPIRED]


def test_queue_positions_of_many_entries_count_who_waits_ahead_in_each_queue(
    buyers, settings, monkeypatch
):
    from waitlist import services

    settings.WAITLIST_JOIN_LIMIT = 100
    # Two statements for five entries: the split between statements is read too.
    monkeypatch.setattr(selectors, "POSITIONS_PER_STATEMENT", 3)
    queues = [TicketTypeFactory(capacity=4), TicketTypeFactory(capacity=4)]
    for queue in queues:  # all places on offer to someone else: everyone after waits
        services.join_waiting_list(user=buyers[7], ticket_type_id=queue.pk, quantity=4)
    joined = []
    for number, buyer in enumerate(buyers[:5]):
        for queue in queues[: 1 + number % 2]:
            entry = services.join_waiting_list(
                user=buyer, ticket_type_id=queue.pk, quantity=1 + number % 3
            ).entry
            joined.append(entry)
    services.leave_waiting_list(user=buyers[1], entry_id=joined[1].pk)
    waiting = [entry for entry in joined if entry.pk != joined[1].pk]

    positions = selectors.queue_positions(waiting)

    def counted_ahead(entry):
        ahead = WaitingListEntry.objects.filter(
            ticket_type=entry.ticket_type,
            status=Status.WAITING,
            sequence__lt=entry.sequence,
        )
        return selectors.QueuePosition(ahead.count(), sum(e.quantity for e in ahead))

    assert positions == {entry.pk: counted_ahead(entry) for entry in waiting}
    # buyers[4] waits behind buyers 0, 2 and 3 (buyers[1] left that queue).
    assert positions[waiting[-1].pk] == selectors.QueuePosition(3, 5)
    assert selectors.queue_positions([]) == {}
