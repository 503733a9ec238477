"""Writes to the search index and its vocabulary.

The catalogue fires ``events.hooks.event_changed`` inside the transaction that changes an
event (create, edit, publish, unpublish), and search.listeners reindexes it there, so the
index commits or rolls back with the change itself and a search never sees an event the
catalogue does not show. Not ``transaction.on_commit``: the index lives in the same
database, and a hook run after commit could be lost to a crash, leaving a cancelled event
findable until a rebuild.
"""

from django.db import connection, transaction

from events.models import Event
from search.backends import EventText, current_backend
from search.ordering import sort_key


def index_event(*, event: Event) -> None:
    """Make the index agree with ``event`` as just saved: a published event is indexed (or
    re-indexed), a draft or cancelled one is removed.

    Runs in the caller's transaction, under the caller's lock on the event (the catalogue's
    services hold it), so two writers of one event are serialised. Idempotent. Raises
    ValueError for dates beyond the year 2225 (search.ordering).
    """
    backend = current_backend()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if event.status != Event.Status.PUBLISHED:
            backend.remove(cursor, event.pk)
            return
        over_at = event.over_at
        backend.upsert(
            cursor,
            EventText(
                event_id=event.pk,
                sort_key=sort_key(over_at=over_at, event_id=event.pk),
                starts_at=event.starts_at,
                over_at=over_at,
                name=event.name,
                place=f"{event.venue_name} {event.address}",
                description=event.description,
            ),
        )


def rebuild_search_index() -> int:
    """Rebuild the whole index from the published events, in one transaction; returns how
    many events it holds. For existing data (``manage.py rebuild_search_index``, the data
    migration) and after bulk loads; the services keep it current otherwise. Idempotent.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        return current_backend().rebuild(cursor)


def refresh_vocabulary() -> int:
    """Count how many indexed events hold each word of the vocabulary (prefixes expand to
    the most frequent words first) and drop the words none holds any more (an edited or
    cancelled event's old words); returns how many were dropped. Hourly (search.tasks) and
    safe beside indexing; each backend takes the transactions and locks it needs, holding
    up indexing for the dropping only, not for the counting. Idempotent."""
    with connection.cursor() as cursor:
        return current_backend().refresh_vocabulary(cursor)
