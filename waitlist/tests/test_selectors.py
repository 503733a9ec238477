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
