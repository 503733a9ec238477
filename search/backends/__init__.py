"""One search API over two databases: what both backends share, and which one to use.

A backend writes the database-specific part of the index (PostgreSQL tsvectors and GIN
indexes, or SQLite FTS5 tables) and answers two reads: how the query's words match the
vocabulary, and which events rank first. The ranking SQL is assembled here, the same for
both, around each backend's full-text condition.

Ranking: tier 1 matches every word in the name, tier 2 in the name or place (venue and
address), tier 3 anywhere including the description; within a tier, the event over
soonest comes first (search.ordering). Each tier is one branch ``ORDER BY key LIMIT k``
that an index can answer by walking the key in order and stopping after k rows, so the
cost follows the page asked for, not the number of matching events.

The branches are supersets (name ⊂ name or place ⊂ anywhere) and an event takes the best
tier it appears in; a branch runs only if the ones before it hold fewer than k events
(ranked_sql). The first k of each branch are enough: if a page (of k rows counted
from the first result) needs n events whose best tier is t, they are the first n of those
by key, and fewer than k − n events of better tiers exist at all (or the page would not
reach tier t), so all of them are within the first k of t's branch. No branch says "and
not in a better tier": that is rarely true for common words ("london" is in addresses,
seldom only in a description), so a planner expecting an early stop would walk the whole
index looking for it.

SQL is assembled from constants and placeholders only (hence the ``noqa: S608``): every
value, including the tsquery and FTS5 expressions built from the typed words, is a
parameter.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from events.money import CURRENCY_EXPONENTS
from search.query import WordMatch

TIERS = (1, 2, 3)
BROWSE_TIER = 0  # no words: every event passing the filters, soonest first
DEFAULT_EXPONENT = 2


@dataclass(frozen=True)
class EventText:
    """What the index stores of one published event."""

    event_id: int
    sort_key: int
    starts_at: datetime
    over_at: datetime
    name: str
    place: str
    description: str


@dataclass(frozen=True)
class RankedQuery:
    matches: tuple[WordMatch, ...]  # empty: browse by date, filters only
    upcoming_floor: int  # keys above it are not over (search.ordering.upcoming_floor)
    include_past: bool
    over_after_floor: int | None  # date range start, as a key floor
    starts_before: datetime | None  # date range end
    max_price_major: int | None  # whole units of the event's own currency; 0: free only
    with_tickets: bool
    now: datetime
    offset: int
    limit: int


@dataclass(frozen=True)
class ListedEvent:
    """An event as a result lists it: plain values read by the ranking statement itself
    (a separate ORM query for twenty events cost more than the search, see bench/search.py)."""

    pk: int
    name: str
    venue_name: str
    address: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    currency: str
    lowest_price_minor: int | None

    @property
    def is_past(self) -> bool:
        return (self.ends_at or self.starts_at) <= timezone.now()


# A backend's full-text condition for one tier: (FROM ... WHERE ..., key column, params).
TierSource = Callable[[int], tuple[str, str, list]]
BROWSE: tuple[str, str, list] = ("FROM search_eventdocument d WHERE 1 = 1", "d.sort_key", [])


class SearchBackend(Protocol):
    def upsert(self, cursor: CursorWrapper, document: EventText) -> None: ...

    def remove(self, cursor: CursorWrapper, event_id: int) -> None: ...

    def rebuild(self, cursor: CursorWrapper) -> int: ...

    def refresh_vocabulary(self, cursor: CursorWrapper) -> int: ...

    def match_words(
        self, cursor: CursorWrapper, words: list[str], finished: frozenset[str]
    ) -> list[WordMatch]: ...

    def ranked_events(self, cursor: CursorWrapper, query: RankedQuery) -> list[ListedEvent]: ...

    def size_bytes(self, cursor: CursorWrapper) -> dict[str, int]: ...


def current_backend() -> SearchBackend:
    if connection.vendor == "postgresql":
        from search.backends.postgres import PostgresBackend

        return PostgresBackend()
    if connection.vendor == "sqlite":
        from search.backends.sqlite import SqliteBackend

        return SqliteBackend()
    raise NotImplementedError(f"No search backend for {connection.vendor}.")


def ranked_sql(
    query: RankedQuery, source: TierSource, *, gate_in_limit: bool = False
) -> tuple[str, list]:
    """One branch per tier (and, with past events, per direction in time) in rank order,
    each limited to the k rows the page can need; then the page in rank order.

    A branch runs only while the branches before it hold fewer than k distinct events:
    otherwise the page is already decided, and a query answered by the names never walks
    the descriptions. The gate is a scalar subquery over the earlier (materialised)
    branches. PostgreSQL evaluates it once, before the branch's scan, when it is in the
    WHERE clause (a one-time filter). SQLite would test it on every row the scan yields, so
    there it sets the LIMIT instead (``gate_in_limit``): a LIMIT of 0 skips the scan.
    """
    branches: list[str] = []
    params: list = []
    k = query.offset + query.limit
    directions = (False, True) if query.include_past else (False,)
    tiers = TIERS if query.matches else (BROWSE_TIER,)
    filter_sql, filter_params = _filters_sql(query)
    for past in directions:
        for tier in tiers:
            from_where, key, source_params = BROWSE if tier == BROWSE_TIER else source(tier)
            range_sql, range_params = _key_range_sql(query, key, past=past)
            gate_sql, gate_params, limit_sql, limit_params = "", [], "%s", [k]
            if branches:
                earlier = _each_branch("SELECT event_id FROM b{}", len(branches))
                gate = f"(SELECT COUNT(DISTINCT event_id) FROM ({earlier}) AS seen) < %s"  # noqa: S608
                if gate_in_limit:
                    limit_sql, limit_params = f"CASE WHEN {gate} THEN %s ELSE 0 END", [k, k]
                else:
                    gate_sql, gate_params = f" AND {gate}", [k]
            # Past events come after upcoming ones, most recent first.
            rank = f"-{key}" if past else key
            order = "DESC" if past else "ASC"
            branches.append(
                f"b{len(branches)} AS MATERIALIZED (SELECT d.event_id, {tier} AS tier,"  # noqa: S608
                f" {int(past)} AS past, {rank} AS rank_key"
                f" {from_where}{range_sql}{filter_sql}{gate_sql}"
                f" ORDER BY {key} {order} LIMIT {limit_sql})"
            )
            params += [*source_params, *range_params, *filter_params, *gate_params, *limit_params]
    union = _each_branch("SELECT * FROM b{}", len(branches))
    sql = (
        f"WITH {', '.join(branches)}"  # noqa: S608
        " SELECT e.id, e.name, e.venue_name, e.address, e.description, e.starts_at, e.ends_at,"
        " e.timezone, e.currency,"
        " (SELECT MIN(t.price_minor) FROM events_tickettype t WHERE t.event_id = e.id)"
        " FROM (SELECT event_id, MIN(tier) AS tier, past, rank_key"
        f" FROM ({union}) AS branches GROUP BY event_id, past, rank_key) AS ranked"
        " JOIN events_event e ON e.id = ranked.event_id WHERE e.status = 'published'"
        " ORDER BY ranked.past, ranked.tier, ranked.rank_key LIMIT %s OFFSET %s"
    )
    return sql, [*params, query.limit, query.offset]


def _each_branch(select: str, count: int) -> str:
    return " UNION ALL ".join(select.format(number) for number in range(count))


def read_ranked(cursor: CursorWrapper, sql: str, params: list) -> list[ListedEvent]:
    """Run ranked_sql's statement; its columns are ListedEvent's fields in order."""
    cursor.execute(sql, params)
    events = []
    for pk, name, venue_name, address, description, starts_at, ends_at, *rest in cursor:
        zone, currency, lowest_price_minor = rest
        events.append(
            ListedEvent(
                pk=pk,
                name=name,
                venue_name=venue_name,
                address=address,
                description=description,
                starts_at=_aware(starts_at),
                ends_at=_aware(ends_at) if ends_at is not None else None,
                timezone=zone,
                currency=currency,
                lowest_price_minor=lowest_price_minor,
            )
        )
    return events


def _aware(value: datetime | str) -> datetime:
    # SQLite hands back the text Django stored: UTC without an offset.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _key_range_sql(query: RankedQuery, key: str, *, past: bool) -> tuple[str, list]:
    if not past:
        floor = max(query.upcoming_floor, query.over_after_floor or 0)
        return f" AND {key} > %s", [floor]
    if query.over_after_floor is None:
        return f" AND {key} <= %s", [query.upcoming_floor]
    return f" AND {key} <= %s AND {key} > %s", [query.upcoming_floor, query.over_after_floor]


def _filters_sql(query: RankedQuery) -> tuple[str, list]:
    sql, params = "", []
    if query.starts_before is not None:
        sql += " AND d.starts_at < %s"
        params.append(connection.ops.adapt_datetimefield_value(query.starts_before))
    ticket_conditions, ticket_params = [], []
    if query.max_price_major is not None:
        # The cap is in whole units of each event's own currency (£5, €5, ¥5).
        whens = [
            (currency, query.max_price_major * 10**exponent)
            for currency, exponent in CURRENCY_EXPONENTS.items()
            if exponent != DEFAULT_EXPONENT
        ]
        cases = " ".join("WHEN %s THEN %s" for _ in whens)
        ticket_conditions.append(f"t.price_minor <= CASE e.currency {cases} ELSE %s END")
        ticket_params += [value for pair in whens for value in pair]
        ticket_params.append(query.max_price_major * 10**DEFAULT_EXPONENT)
    if query.with_tickets:
        # events.sale.sale_state in SQL: "available" or "queue" (free places; a queue
        # still sells them), in the same order of reasons. Change both together
        # (tests/test_sale_state_grid.py holds them to one table). Whether the organiser
        # can take payments is the catalogue's Seller row, as for the rule.
        now = connection.ops.adapt_datetimefield_value(query.now)
        ticket_conditions.append(
            "e.status = 'published'"
            " AND COALESCE(e.ends_at, e.starts_at) > %s"
            " AND (t.sale_starts_at IS NULL OR t.sale_starts_at <= %s)"
            " AND (t.sale_ends_at IS NULL OR t.sale_ends_at > %s)"
            " AND (t.price_minor = 0 OR EXISTS (SELECT 1 FROM events_seller s"
            " WHERE s.organiser_id = e.organiser_id AND s.can_take_payments))"
            " AND t.capacity > t.sold_count + t.held_count"
        )
        ticket_params += [now, now, now]
    if ticket_conditions:
        # One ticket type must satisfy every condition: "free and available", not "has a
        # free type, and some (perhaps paid) type available".
        sql += (
            " AND EXISTS (SELECT 1 FROM events_tickettype t"  # noqa: S608
            " JOIN events_event e ON e.id = t.event_id WHERE t.event_id = d.event_id AND "
            + " AND ".join(ticket_conditions)
            + ")"
        )
        params += ticket_params
    return sql, params
