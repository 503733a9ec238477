"""The sort key: when an event is over, as one integer that also splits upcoming from past.

``minutes << 36 | event_id``, where ``minutes`` is the event's end (``ends_at`` or, with no
end, ``starts_at``) in whole minutes since the epoch, rounded up. Keys are unique (the event
id is in them), ascending keys list the soonest-over events first, and "not over yet" is
``key > upcoming_floor(now)``, a range on one indexed integer. On SQLite the key is the FTS5
rowid, so the full-text index itself returns matches soonest first and stops at the page.

The same arithmetic is written in SQL by the bulk rebuilds (search/backends); keep them equal.
"""

import math
from datetime import datetime

EVENT_ID_BITS = 36
EVENT_ID_LIMIT = 1 << EVENT_ID_BITS  # 68,719,476,736 events
MINUTE_LIMIT = 1 << (63 - EVENT_ID_BITS)  # the key stays a signed 64-bit integer: year 2225


def sort_key(*, over_at: datetime, event_id: int) -> int:
    # Rounded up so an event is never dropped before it ends (at most a minute after).
    minutes = (math.floor(over_at.timestamp()) + 59) // 60
    if not 0 <= event_id < EVENT_ID_LIMIT or not 0 <= minutes < MINUTE_LIMIT:
        raise ValueError(f"Event {event_id} ending {over_at} does not fit the search sort key.")
    return minutes << EVENT_ID_BITS | event_id


def upcoming_floor(moment: datetime) -> int:
    """The largest key of an event over by ``moment``: keys above it are not over yet."""
    minutes = math.floor(moment.timestamp()) // 60
    return minutes << EVENT_ID_BITS | (EVENT_ID_LIMIT - 1)


def sql_sort_key(*, epoch_seconds: str, event_id: str) -> str:
    """The key as a SQL expression over an integer number of seconds and the event id."""
    return f"(({epoch_seconds}) + 59) / 60 * {EVENT_ID_LIMIT} + ({event_id})"
