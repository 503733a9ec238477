"""How the search index follows the catalogue (connected in SearchConfig.ready())."""

from events.hooks import EventChanged
from search.services import index_event


def reindex_event(changed: EventChanged) -> None:
    # In the catalogue's transaction, not on commit: the index lives in the same database,
    # so it commits or rolls back with the change (search.services explains why).
    index_event(event=changed.event)
