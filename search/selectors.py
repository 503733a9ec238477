"""Reads of the search index: ranked, highlighted events for a query and filters."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.paginator import EmptyPage
from django.db import connection
from django.utils import timezone
from django.utils.safestring import SafeString

from search.backends import ListedEvent, RankedQuery, current_backend
from search.highlight import Highlighter
from search.ordering import upcoming_floor
from search.query import MAX_QUERY_CHARS, WordMatch, finished_words, query_words

RESULTS_PER_PAGE = 20
# Deep pages cost a branch of offset + 20 rows per tier; nobody reads page 51 of a search.
MAX_PAGE = 50


@dataclass(frozen=True)
class SearchFilters:
    """Dates are days in the site's time zone; an event matches a range it overlaps.
    ``max_price`` is in whole units of each event's own currency (0: free only)."""

    date_from: date | None = None
    date_to: date | None = None
    max_price: int | None = None
    with_tickets: bool = False
    include_past: bool = False

    @property
    def narrow(self) -> bool:
        return bool(
            self.date_from or self.date_to or self.max_price is not None or self.with_tickets
        )


@dataclass(frozen=True)
class SearchHit:
    event: ListedEvent
    name: SafeString  # highlighted, escaped
    venue: SafeString
    address: SafeString
    snippet: SafeString  # part of the description around the first match


@dataclass(frozen=True)
class SearchPage:
    text: str  # what was searched for: the typed text, cut to 200 characters
    matches: tuple[WordMatch, ...]  # how each word matched; unmatched words are left out
    hits: list[SearchHit] = field(default_factory=list)
    number: int = 1
    has_next: bool = False
    searched: bool = True  # False when there was nothing to search for

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def corrections(self) -> list[str]:
        return [word for match in self.matches for word in match.corrections]


def search_events(
    text: str,
    *,
    filters: SearchFilters | None = None,
    page: int = 1,
    per_page: int = RESULTS_PER_PAGE,
    now: datetime | None = None,
) -> SearchPage:
    """Published events matching ``text`` and ``filters``, best first: every word in the
    name, then in the name or place, then anywhere; soonest over first within each.

    A finished word (one a space or anything else follows) matches itself; the word being
    typed matches as a prefix ("jaz"); either, when no indexed word starts with it, as a
    typo of the closest indexed words ("glastonbery"). Past events only with ``include_past`` (after
    the upcoming ones, latest first). Two queries (on SQLite, two more per misspelt word).
    Raises EmptyPage for a page past the results or past MAX_PAGE.
    """
    filters = filters or SearchFilters()
    text = text[:MAX_QUERY_CHARS]
    words = query_words(text)
    if not 1 <= page <= MAX_PAGE:
        raise EmptyPage("That page contains no results.")
    if not words and not filters.narrow:
        if page > 1:
            raise EmptyPage("That page contains no results.")
        return SearchPage(text=text, matches=(), searched=False)
    now = now or timezone.now()
    backend = current_backend()
    with connection.cursor() as cursor:
        matched = backend.match_words(cursor, words, finished_words(text)) if words else []
        matches = tuple(match for match in matched if match.matches_anything)
        listed: list[ListedEvent] = []
        if matches or not words:
            listed = backend.ranked_events(
                cursor, _ranked_query(matches, filters, now, page=page, per_page=per_page)
            )
    if page > 1 and not listed:
        raise EmptyPage("That page contains no results.")
    highlighter = Highlighter(matches)
    return SearchPage(
        text=text,
        matches=matches,
        hits=[_hit(event, highlighter) for event in listed[:per_page]],
        number=page,
        has_next=len(listed) > per_page,
    )


def _ranked_query(
    matches: tuple[WordMatch, ...],
    filters: SearchFilters,
    now: datetime,
    *,
    page: int,
    per_page: int,
) -> RankedQuery:
    return RankedQuery(
        matches=matches,
        upcoming_floor=upcoming_floor(now),
        include_past=filters.include_past,
        over_after_floor=(
            upcoming_floor(_local_midnight(filters.date_from)) if filters.date_from else None
        ),
        starts_before=(
            _local_midnight(filters.date_to + timedelta(days=1)) if filters.date_to else None
        ),
        max_price_major=filters.max_price,
        with_tickets=filters.with_tickets,
        now=now,
        offset=(page - 1) * per_page,
        # One more than the page: whether there is a next page, without counting them all.
        limit=per_page + 1,
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _hit(event: ListedEvent, highlighter: Highlighter) -> SearchHit:
    return SearchHit(
        event=event,
        name=highlighter.mark(event.name),
        venue=highlighter.mark(event.venue_name),
        address=highlighter.mark(event.address),
        snippet=highlighter.snippet(event.description),
    )
