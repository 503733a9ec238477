"""SQLite: FTS5 tables (unicode61 tokenizer, accents removed, rowids only: migration 0004)
whose rowid is the sort key, and an FTS5 trigram index over the vocabulary for typos.

Rows are keyed by ``EventDocument.sort_key``, so a MATCH with a rowid range and
``ORDER BY rowid LIMIT k`` is answered by the full-text index in key order and stops after
k rows, whatever the number of matches. One index per tier: ``search_fts_name`` (name),
``search_fts_place`` (name, location) and ``search_fts`` (everything; it holds the text the
other two read). Not column filters on one table: ``{name} : cocktails`` reads every
"cocktails" of every description to find none in a name. The trigger on
``search_eventdocument`` deletes an event's rows from all three with its document,
including when Django cascades the delete of an event.
"""

from django.db import connection, transaction
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

TYPO_CANDIDATES = 100
RAREST_TRIGRAMS = 4
FEW_WORDS = 500
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
    "INSERT OR IGNORE INTO search_searchterm (word, documents)"  # noqa: S608
    f" SELECT term, doc FROM search_fts_terms WHERE length(term) <= {MAX_TERM_CHARS}",
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

    def refresh_vocabulary(self, cursor: CursorWrapper) -> int:
        """Count each word's documents and drop the words no document holds any more.

        Counting reads every posting of the full-text index (4.7 s at 10^6 events), so it
        reads outside any transaction (WAL: writers go on meanwhile). The changes are then
        written in one short write transaction, which rechecks each word it drops against
        the index as committed: an event indexed since the counting may hold it again, and
        SQLite's single writer means none is being indexed during the recheck.
        """
        cursor.execute("SELECT term, doc FROM search_fts_terms")
        counts = dict(cursor.fetchall())
        cursor.execute("SELECT word, documents FROM search_searchterm")
        changed, unheld = [], []
        for word, documents in cursor.fetchall():
            if word not in counts:
                unheld.append(word)
            elif counts[word] != documents:
                changed.append((counts[word], word))
        with transaction.atomic():
            cursor.executemany(
                "UPDATE search_searchterm SET documents = %s WHERE word = %s", changed
            )
            dropped = 0
            for word in unheld:
                cursor.execute(
                    "DELETE FROM search_searchterm WHERE word = %s"
                    " AND NOT EXISTS (SELECT 1 FROM search_fts_terms WHERE term = %s)",
                    [word, word],
                )
                dropped += cursor.rowcount
        return dropped

    def rebuild(self, cursor: CursorWrapper) -> int:
        indexed = 0
        for statement in REBUILD:
            cursor.execute(statement)
            if statement.startswith("INSERT INTO search_eventdocument"):
                indexed = cursor.rowcount
        cursor.execute("ANALYZE")
        return indexed

    def match_words(
        self, cursor: CursorWrapper, words: list[str], finished: frozenset[str]
    ) -> list[WordMatch]:
        """One statement for the most frequent indexed words each word starts (a range of
        the unique index); then, for each word that starts none, one lookup of its rarest
        trigrams and one of the words holding them."""
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT * FROM (SELECT {position}, word FROM search_searchterm"  # noqa: S608
                " WHERE word >= %s AND word < %s"
                f" ORDER BY documents DESC NULLS LAST, word LIMIT {MAX_COMPLETIONS})"
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
            known = word in started or (
                len(started) == MAX_COMPLETIONS and self._known(cursor, word)
            )
            if not started and len(word) >= MIN_TYPO_WORD_CHARS:
                similar = self._similar_words(cursor, word)
            matches.append(
                word_match(
                    word,
                    known=known,
                    starting=started,
                    similar=similar,
                    finished=word in finished,
                )
            )
        return matches

    def _known(self, cursor: CursorWrapper, word: str) -> bool:
        cursor.execute("SELECT 1 FROM search_searchterm WHERE word = %s", [word])
        return cursor.fetchone() is not None

    def _similar_words(self, cursor: CursorWrapper, word: str) -> list[tuple[str, float]]:
        """Known words sharing one of the word's rarest trigrams, with their similarity.

        A typo spoils at most three of a word's trigrams (a letter wrong, missing or extra;
        two swapped letters, four): the four rarest of them, and any other held by few
        words, nearly always include one the intended word still has. They are cheap to
        look up ("ven" is in 4,700 words of the benchmark's vocabulary, "hov" in 160);
        ranking every word sharing any trigram (FTS5's bm25) cost 15 ms at 10^6 events.
        """
        pieces = sorted({word[index : index + 3] for index in range(len(word) - 2)})
        placeholders = ", ".join(["%s"] * len(pieces))
        cursor.execute(
            f"SELECT term, doc FROM search_term_trigram_rows WHERE term IN ({placeholders})"  # noqa: S608
            " ORDER BY doc",
            pieces,
        )
        rarest = [
            term
            for position, (term, words) in enumerate(cursor.fetchall())
            if position < RAREST_TRIGRAMS or words <= FEW_WORDS
        ]
        if not rarest:
            return []
        placeholders = ", ".join(["%s"] * len(rarest))
        cursor.execute(
            "SELECT t.word FROM (SELECT doc, COUNT(DISTINCT term) AS shared"  # noqa: S608
            f" FROM search_term_trigram_instances WHERE term IN ({placeholders}) GROUP BY doc"
            " ORDER BY shared DESC LIMIT %s) AS c JOIN search_searchterm t ON t.id = c.doc",
            [*rarest, TYPO_CANDIDATES],
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
    """``("jazz" OR "jazzy" OR "jazzman")``: every term a quoted FTS5 string, so nothing
    typed is syntax."""
    return f"({' OR '.join(_quoted(term) for term in match.terms)})"


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
