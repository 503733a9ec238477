"""SQLite: FTS5 tables (unicode61 tokenizer, accents removed, prefix indexes) whose rowid
is the sort key, and an FTS5 trigram index over the vocabulary for typos.

Rows are keyed by ``EventDocument.sort_key``, so a MATCH with a rowid range and
``ORDER BY rowid LIMIT k`` is answered by the full-text index in key order and stops after
k rows, whatever the number of matches. One index per tier: ``search_fts_name`` (name),
``search_fts_place`` (name, location) and ``search_fts`` (everything; it holds the text the
other two read). Not column filters on one table: ``{name} : cocktails`` reads every
"cocktails" of every description to find none in a name. The trigger on
``search_eventdocument`` deletes an event's rows from all three with its document,
including when Django cascades the delete of an event.
"""

from django.db import connection
from django.db.backends.utils import CursorWrapper

from search.backends import EventText, ListedEvent, RankedQuery, ranked_sql, read_ranked
from search.ordering import sql_sort_key
from search.query import (
    MAX_COMPLETIONS,
    MAX_TERM_CHARS,
    MIN_TYPO_WORD_CHARS,
    WordMatch,
    trigram_similarity,
    word_match,
    words_of,
)

TYPO_CANDIDATES = 40
LONG_WORD_CHARS = 9
# Above every character's UTF-8 encoding: word >= 'jaz' AND word < 'jaz' || LAST_CHAR is
# "starts with jaz" as a range on the unique index.
LAST_CHAR = "\U0010ffff"

_OVER_AT = "COALESCE(e.ends_at, e.starts_at)"
TIER_TABLES = {1: "search_fts_name", 2: "search_fts_place", 3: "search_fts"}
REBUILD = (
    # The two external-content indexes empty with 'delete-all', the table they read with
    # DELETE; the documents' trigger then finds no rows to delete.
    "INSERT INTO search_fts_name (search_fts_name) VALUES ('delete-all')",
    "INSERT INTO search_fts_place (search_fts_place) VALUES ('delete-all')",
    "DELETE FROM search_fts",
    "DELETE FROM search_eventdocument",
    "DELETE FROM search_searchterm",
    "INSERT INTO search_eventdocument (event_id, sort_key, starts_at, over_at)"  # noqa: S608
    f" SELECT e.id, {sql_sort_key(epoch_seconds=f'unixepoch({_OVER_AT})', event_id='e.id')},"
    f" e.starts_at, {_OVER_AT} FROM events_event e WHERE e.status = 'published'",
    "INSERT INTO search_fts (rowid, name, location, description)"
    " SELECT d.sort_key, e.name, e.venue_name || ' ' || e.address, e.description"
    " FROM search_eventdocument d JOIN events_event e ON e.id = d.event_id ORDER BY d.sort_key",
    # The vocabulary exactly as the tokenizer saw it.
    "INSERT OR IGNORE INTO search_searchterm (word)"  # noqa: S608
    f" SELECT term FROM search_fts_terms WHERE length(term) <= {MAX_TERM_CHARS}",
    # Not FTS5's 'rebuild' command: it cannot read another FTS5 table as its content.
    "INSERT INTO search_fts_name (rowid, name) SELECT rowid, name FROM search_fts",
    "INSERT INTO search_fts_place (rowid, name, location)"
    " SELECT rowid, name, location FROM search_fts",
    *(f"INSERT INTO {t} ({t}) VALUES ('optimize')" for t in TIER_TABLES.values()),  # noqa: S608
)


class SqliteBackend:
    def upsert(self, cursor: CursorWrapper, document: EventText) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute("DELETE FROM search_eventdocument WHERE event_id = %s", [document.event_id])
        cursor.execute(
            "INSERT INTO search_eventdocument (event_id, sort_key, starts_at, over_at)"
            " VALUES (%s, %s, %s, %s)",
            [
                document.event_id,
                document.sort_key,
                adapt(document.starts_at),
                adapt(document.over_at),
            ],
        )
        cursor.execute(
            "INSERT INTO search_fts (rowid, name, location, description) VALUES (%s, %s, %s, %s)",
            [document.sort_key, document.name, document.place, document.description],
        )
        cursor.execute(
            "INSERT INTO search_fts_name (rowid, name) VALUES (%s, %s)",
            [document.sort_key, document.name],
        )
        cursor.execute(
            "INSERT INTO search_fts_place (rowid, name, location) VALUES (%s, %s, %s)",
            [document.sort_key, document.name, document.place],
        )
        words = sorted(
            {
                word
                for text in (document.name, document.place, document.description)
                for word in words_of(text)
                if len(word) <= MAX_TERM_CHARS
            }
        )
        if words:
            cursor.executemany(
                "INSERT OR IGNORE INTO search_searchterm (word) VALUES (%s)", [[w] for w in words]
            )

    def remove(self, cursor: CursorWrapper, event_id: int) -> None:
        cursor.execute("DELETE FROM search_eventdocument WHERE event_id = %s", [event_id])

    def rebuild(self, cursor: CursorWrapper) -> int:
        indexed = 0
        for statement in REBUILD:
            cursor.execute(statement)
            if statement.startswith("INSERT INTO search_eventdocument"):
                indexed = cursor.rowcount
        cursor.execute("ANALYZE")
        return indexed

    def match_words(self, cursor: CursorWrapper, words: list[str]) -> list[WordMatch]:
        """One statement for the indexed words each word starts (a range of the unique
        index); then, for each word that starts none, one trigram lookup (candidates
        ranked by bm25, similarity computed as pg_trgm does)."""
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT * FROM (SELECT {position}, word FROM search_searchterm"  # noqa: S608
                f" WHERE word >= %s AND word < %s ORDER BY word LIMIT {MAX_COMPLETIONS + 1})"
                for position in range(len(words))
            ),
            [value for word in words for value in (word, word + LAST_CHAR)],
        )
        starting: list[list[str]] = [[] for _ in words]
        for position, term in cursor.fetchall():
            starting[position].append(term)
        matches = []
        for word, started in zip(words, starting, strict=True):
            similar: list[tuple[str, float]] = []
            if not started and len(word) >= MIN_TYPO_WORD_CHARS:
                similar = self._similar_words(cursor, word)
            matches.append(word_match(word, starting=sorted(started), similar=similar))
        return matches

    def _similar_words(self, cursor: CursorWrapper, word: str) -> list[tuple[str, float]]:
        # Candidates share a piece of the word: any of its trigrams, or for long words any
        # four-letter piece (a phrase of two trigrams), which common trigrams ("ber", "ton")
        # would otherwise drown in thousands of candidates. One typo spoils at most four
        # four-letter pieces, and a word of nine letters or more has six.
        size = 4 if len(word) >= LONG_WORD_CHARS else 3
        pieces = {word[index : index + size] for index in range(len(word) - size + 1)}
        trigram_query = " OR ".join(_quoted(piece) for piece in sorted(pieces))
        cursor.execute(
            "SELECT t.word FROM search_term_trigrams JOIN search_searchterm t"
            " ON t.id = search_term_trigrams.rowid WHERE search_term_trigrams MATCH %s"
            " ORDER BY rank LIMIT %s",
            [trigram_query, TYPO_CANDIDATES],
        )
        return [(term, trigram_similarity(word, term)) for (term,) in cursor.fetchall()]

    def ranked_events(self, cursor: CursorWrapper, query: RankedQuery) -> list[ListedEvent]:
        words = " AND ".join(_alternatives(match) for match in query.matches)

        def source(tier: int) -> tuple[str, str, list]:
            table = TIER_TABLES[tier]
            return (
                f"FROM {table} f JOIN search_eventdocument d ON d.sort_key = f.rowid"
                f" WHERE {table} MATCH %s",
                "f.rowid",
                [words],
            )

        return read_ranked(cursor, *ranked_sql(query, source, gate_in_limit=True))

    def size_bytes(self, cursor: CursorWrapper) -> dict[str, int]:
        cursor.execute(
            "SELECT name, pgsize FROM dbstat('main', 1)"
            " WHERE name LIKE 'search%' OR name LIKE 'sqlite_autoindex_search%'"
        )
        return dict(cursor.fetchall())


def _alternatives(match: WordMatch) -> str:
    """``("jazz" OR "jazzy")`` (the words it starts), or ``"ja"*`` (too many), and its
    corrections: every term a quoted FTS5 string, so nothing typed is syntax."""
    terms = [_quoted(completion) for completion in match.completions]
    if match.prefix and not match.completions:
        terms.append(f"{_quoted(match.word)}*")
    terms += [_quoted(correction) for correction in match.corrections]
    return f"({' OR '.join(terms)})"


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
