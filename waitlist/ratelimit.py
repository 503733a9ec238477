"""The per-user limit on joining waiting lists, kept in the shared cache.

Each user has ``WAITLIST_JOIN_LIMIT`` slots; a join takes a free slot with ``cache.add``
(atomic in Redis and in the database cache), which expires after the window. A join that
ends up creating nothing gives its slot back.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from tickethub.errors import Busy, DomainError
from tickethub.locks import busy_retry_after_seconds


class RateLimited(DomainError):
    status = 429

    def __init__(self, retry_after_seconds: int):
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            "You've joined waiting lists too often. "
            f"Please wait {minutes} {unit} before trying again."
        )
        self.retry_after_seconds = retry_after_seconds


# A join of the same ticket type started this recently shares its slot: one buyer's
# duplicate requests (a double click, several tabs) are one join, and must not use up the
# slots while they wait for each other on the ticket type's lock.
SHARED_SLOT_SECONDS = 30


@dataclass
class JoinSlot:
    key: str
    taken_at: float
    owned: bool  # False: shared with a join of the same ticket type in flight

    def release(self) -> None:
        if self.owned:
            cache.delete(self.key)


def take_join_slot(user_id: int, ticket_type_id: int | None = None) -> JoinSlot:
    """Take one of the user's join slots, or raise RateLimited with the wait in seconds.

    Called before the ticket type's lock is taken (a cache call is a network call in
    production). A slot taken for the same ticket type in the last SHARED_SLOT_SECONDS is
    shared rather than a new one taken."""
    limit = settings.WAITLIST_JOIN_LIMIT
    window = settings.WAITLIST_JOIN_WINDOW_SECONDS
    now = time.time()
    taken_at = []
    for slot in range(limit):
        key = f"waitlist-join:{user_id}:{slot}"
        if cache.add(key, (now, ticket_type_id), timeout=window):
            return JoinSlot(key, taken_at=now, owned=True)
        held = cache.get(key)
        if held is None:
            # Refused, yet nothing is stored: the slot expired this instant, or the cache
            # could not write (the database cache fails silently while SQLite is busy).
            # One more try; then say "busy", never "you joined too often".
            if cache.add(key, (now, ticket_type_id), timeout=window):
                return JoinSlot(key, taken_at=now, owned=True)
            raise Busy(
                "Ticket Hub is busy right now. Please try again in a moment.",
                retry_after_seconds=busy_retry_after_seconds(),
            )
        if not isinstance(held, (tuple, list)) or len(held) != 2:
            continue
        stamp, held_type_id = held
        if (
            ticket_type_id is not None
            and held_type_id == ticket_type_id
            and now - stamp < SHARED_SLOT_SECONDS
        ):
            return JoinSlot(key, taken_at=stamp, owned=False)
        taken_at.append(stamp)
    oldest = min(taken_at, default=now)
    raise RateLimited(retry_after_seconds=max(1, math.ceil(oldest + window - now)))
