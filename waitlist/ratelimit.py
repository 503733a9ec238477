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

from tickethub.errors import DomainError


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


@dataclass
class JoinSlot:
    key: str

    def release(self) -> None:
        cache.delete(self.key)


def take_join_slot(user_id: int) -> JoinSlot:
    """Take one of the user's join slots, or raise RateLimited with the wait in seconds."""
    limit = settings.WAITLIST_JOIN_LIMIT
    window = settings.WAITLIST_JOIN_WINDOW_SECONDS
    now = time.time()
    taken_at = []
    for slot in range(limit):
        key = f"waitlist-join:{user_id}:{slot}"
        if cache.add(key, now, timeout=window):
            return JoinSlot(key)
        stamp = cache.get(key)
        if stamp is not None:
            taken_at.append(stamp)
    oldest = min(taken_at, default=now)
    raise RateLimited(retry_after_seconds=max(1, math.ceil(oldest + window - now)))
