"""PostgreSQL: weighted tsvectors with GIN indexes, and pg_trgm over the vocabulary.

Three vectors per event, each with its own GIN index and its own planner statistics:
``name_vector`` (tier 1), ``place_vector`` (name A + venue and address B, tier 2) and
``document`` (A + B + description C, tier 3). Separate columns, not weight-restricted
queries on one vector, because the planner estimates a weight-restricted match from the
whole vector: a word common in addresses but rare in names ("london") would look common in
tier 1, and the planner would walk the sort key expecting an early stop that never comes.

Text is reduced to letters and digits before ``to_tsvector`` (the parser would otherwise
keep "e-mail" or "example.com" as single tokens that no typed word matches), then folded by
the ``tickethub_search`` configuration (simple + unaccent, see the migration).
"""

from django.db import transaction
from django.db.backends.utils import CursorWrapper

from search.backends import EventText, ListedEvent, RankedQuery, ranked_sql, read_ranked
from search.ordering import sql_sort_key
from search.query import (
    MAX_COMPLETIONS,
    MAX_TERM_CHARS,
    MIN_TYPO_WORD_CHARS,
    WordMatch,
    word_match,
)

CONFIG = "tickethub_search"
TIER_VECTORS = {1: "d.name_vector", 2: "d.place_vector", 3: "d.document"}
TYPO_CANDIDATES = 10


def _vector(text_sql: str) -> str:
    return f"to_tsvector('{CONFIG}', regexp_replace({text_sql}, '[^[:alnum:]]+', ' ', 'g'))"


# The three vectors from v.name, v.place and v.description (unweighted vectors).
_VECTORS = (
    "v.name, setweight(v.name, 'A') || setweight(v.place, 'B'),"
    " setweight(v.name, 'A') || setweight(v.place, 'B') || setweight(v.description, 'C')"
)
UPSERT = (
    "WITH indexed AS ("  # noqa: S608
    " INSERT INTO search_eventdocument AS d"
    " (event_id, sort_key, starts_at, over_at, name_vector, place_vector, document)"
    f" SELECT %(event_id)s, %(sort_key)s, %(starts_at)s, %(over_at)s, {_VECTORS}"
    f" FROM (SELECT {_vector('%(name)s')} AS name, {_vector('%(place)s')} AS place,"
    f" {_vector('%(description)s')} AS description) AS v"
    " ON CONFLICT (event_id) DO UPDATE SET sort_key = EXCLUDED.sort_key,"
    " starts_at = EXCLUDED.starts_at, over_at = EXCLUDED.over_at,"
    " name_vector = EXCLUDED.name_vector, place_vector = EXCLUDED.place_vector,"
    " document = EXCLUDED.document"
    " RETURNING d.document)"
    # Its new words join the vocabulary, uncounted until the next refresh.
    " INSERT INTO search_searchterm (word)"
    " SELECT DISTINCT u.lexeme"
    " FROM indexed, unnest(indexed.document) AS u(lexeme, positions, weights)"
    f" WHERE u.lexeme ~ '^[[:alnum:]]+$' AND length(u.lexeme) <= {MAX_TERM_CHARS}"
    " AND NOT EXISTS (SELECT 1 FROM search_searchterm t WHERE t.word = u.lexeme)"
    # Sorted, so two transactions adding the same new words wait for each other in one
    # order and cannot deadlock.
    " ORDER BY u.lexeme ON CONFLICT (word) DO NOTHING"
)
_PLACE = "e.venue_name || ' ' || e.address"
_REBUILD_KEY = sql_sort_key(
    epoch_seconds="floor(extract(epoch FROM v.over_at))::bigint", event_id="e.id"
)
# Every word of the index with the number of documents holding it (ts_stat reads them all:
# 4.5 s at 10^6 events).
_TERM_COUNTS = "SELECT word, ndoc FROM ts_stat('SELECT document FROM search_eventdocument')"
REBUILD_TERMS = (
    f"INSERT INTO search_searchterm (word, documents) SELECT word, ndoc FROM ({_TERM_COUNTS}) AS c"  # noqa: S608
    f" WHERE word ~ '^[[:alnum:]]+$' AND length(word) <= {MAX_TERM_CHARS}"
)
REBUILD_DOCUMENTS = (
    "INSERT INTO search_eventdocument"  # noqa: S608
    " (event_id, sort_key, starts_at, over_at, name_vector, place_vector, document)"
    " SELECT e.id,"
    f" {_REBUILD_KEY},"
    f" e.starts_at, v.over_at, {_VECTORS}"
    " FROM events_event e CROSS JOIN LATERAL (SELECT"
    f" {_vector('e.name')} AS name, {_vector(_PLACE)} AS place,"
    f" {_vector('e.description')} AS description,"
    " COALESCE(e.ends_at, e.starts_at) AS over_at) AS v"
    " WHERE e.status = 'published'"
)


class PostgresBackend:
    def upsert(self, cursor: CursorWrapper, document: EventText) -> None:
        cursor.execute(UPSERT, vars(document))

    def remove(self, cursor: CursorWrapper, event_id: int) -> None:
        cursor.execute("DELETE FROM search_eventdocument WHERE event_id = %s", [event_id])

    def rebuild(self, cursor: CursorWrapper) -> int:
        """Refill the index from the published events: the secondary indexes are dropped
        during the load and built once after it (several times faster than maintaining them
        row by row), from their own definitions so nothing here restates the migration.

        TRUNCATE holds an exclusive lock until commit: searches and index writes wait for
        the rebuild, and none is lost (a service's write lands after it, on the new rows).
        """
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # PostgreSQL refuses to truncate or index a table with pending trigger events: the
        # deferred foreign-key checks of rows this transaction already wrote, and of the
        # rows loaded below. Check them as they come; deferred again (as Django declares
        # them) at the end.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE search_eventdocument, search_searchterm")
        # Every index but those of constraints (the key, the unique sort key).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'search_eventdocument' AND indexname NOT IN (SELECT conname"
            " FROM pg_constraint WHERE conrelid = 'search_eventdocument'::regclass)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(REBUILD_DOCUMENTS)
        indexed = cursor.rowcount
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute(REBUILD_TERMS)
        cursor.execute("ANALYZE search_eventdocument, search_searchterm")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return indexed

    def match_words(
        self, cursor: CursorWrapper, words: list[str], finished: frozenset[str]
    ) -> list[WordMatch]:
        """One statement: for each word, whether it is indexed, the most frequent indexed
        words it starts (text_pattern_ops index), and if none (and it is long enough), the
        most similar indexed words (pg_trgm GIN index)."""
        rows = " UNION ALL ".join(
            "SELECT %s AS word, EXISTS (SELECT 1 FROM search_searchterm WHERE word = %s) AS known,"  # noqa: S608
            " ARRAY(SELECT word FROM search_searchterm WHERE word LIKE %s"
            f" ORDER BY documents DESC NULLS LAST, word LIMIT {MAX_COMPLETIONS}) AS starting"
            for _ in words
        )
        cursor.execute(
            f"SELECT w.word, w.known, w.starting, s.word, s.similarity FROM ({rows}) AS w"  # noqa: S608
            " LEFT JOIN LATERAL (SELECT t.word, similarity(t.word, w.word) AS similarity"
            " FROM search_searchterm t WHERE cardinality(w.starting) = 0"
            f" AND length(w.word) >= {MIN_TYPO_WORD_CHARS} AND t.word %% w.word"
            f" ORDER BY 2 DESC, 1 LIMIT {TYPO_CANDIDATES}) AS s ON TRUE",
            [value for word in words for value in (word, word, _like_prefix(word))],
        )
        found: dict[str, tuple[bool, list[str], list[tuple[str, float]]]] = {}
        for word, known, starting, similar, similarity in cursor.fetchall():
            entry = found.setdefault(word, (known, starting, []))
            if similar is not None:
                entry[2].append((similar, similarity))
        return [
            word_match(
                word,
                known=found[word][0],
                starting=found[word][1],
                similar=found[word][2],
                finished=word in finished,
            )
            for word in words
        ]

    def refresh_vocabulary(self, cursor: CursorWrapper) -> int:
        """Count each word's documents and drop the words no document holds any more.

        The counting reads the whole index without holding up writers. Dropping a word
        races with an event being indexed with it: that transaction found the word present
        and did not insert it. So the drop waits for every indexing transaction in flight
        (each holds ROW EXCLUSIVE on the vocabulary from its INSERT, even of no rows) by
        taking SHARE on the vocabulary, then checks each word against the documents as now
        committed. Indexing waits for the new counts to be written and the words dropped
        (usually milliseconds), not for the counting.
        """
        with transaction.atomic():
            # Dropped at commit; first dropped here too, for a caller's transaction that
            # runs this twice.
            cursor.execute("DROP TABLE IF EXISTS pg_temp.search_term_counts")
            cursor.execute(f"CREATE TEMP TABLE search_term_counts ON COMMIT DROP AS {_TERM_COUNTS}")
            # Before any write here, so this transaction never waits for a stronger lock
            # on a table it already writes.
            cursor.execute("LOCK TABLE search_searchterm IN SHARE MODE")
            cursor.execute(
                "UPDATE search_searchterm t SET documents = c.ndoc FROM search_term_counts c"
                " WHERE c.word = t.word AND t.documents IS DISTINCT FROM c.ndoc"
            )
            cursor.execute(
                "DELETE FROM search_searchterm t"
                " WHERE NOT EXISTS (SELECT 1 FROM search_term_counts c WHERE c.word = t.word)"
                " AND NOT EXISTS (SELECT 1 FROM search_eventdocument d"
                " WHERE d.document @@ quote_literal(t.word)::tsquery)"
            )
            return cursor.rowcount

    def ranked_events(self, cursor: CursorWrapper, query: RankedQuery) -> list[ListedEvent]:
        tsquery = " & ".join(_alternatives(match) for match in query.matches)

        def source(tier: int) -> tuple[str, str, list]:
            return (
                f"FROM search_eventdocument d WHERE {TIER_VECTORS[tier]}"
                f" @@ to_tsquery('{CONFIG}', %s)",
                "d.sort_key",
                [tsquery],
            )

        return read_ranked(cursor, *ranked_sql(query, source))

    def size_bytes(self, cursor: CursorWrapper) -> dict[str, int]:
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " WHERE c.relname IN ('search_eventdocument', 'search_searchterm')"
            " AND c.relnamespace = current_schema()::regnamespace"
        )
        return dict(cursor.fetchall())


def _like_prefix(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _alternatives(match: WordMatch) -> str:
    """``('jazz' | 'jazzy' | 'jazzman')``: every term quoted (the words hold only letters and
    digits; quotes are doubled all the same)."""
    return f"({' | '.join(f"'{_quoted(term)}'" for term in match.terms)})"


def _quoted(term: str) -> str:
    return term.replace("\\", "\\\\").replace("'", "''")
