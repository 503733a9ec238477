"""What the text typed in the search box means to the index.

The text is never handed to a full-text query parser: it is folded (lower case, accents
removed), cut into words of letters and digits, and each word becomes a quoted term built
here. So quotes, ``*``, ``-``, parentheses, ``AND``/``OR``/``NOT``/``NEAR`` and any other
syntax of tsquery or FTS5 are plain text, and no input can make the query fail.
"""

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import OSA

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
MIN_WORD_CHARS = 2
# Shorter words are only matched as prefixes: trigram similarity is noise on them.
MIN_TYPO_WORD_CHARS = 4
MIN_TYPO_SIMILARITY = 0.4
# A known word this few edits away (a letter missing, extra, wrong or two swapped) is a
# correction even when few trigrams survive the typo, as in short words: "lnes" shares 3 of
# 8 trigrams with "lines".
TYPO_EDITS = 1
LONG_WORD_TYPO_EDITS = 2
LONG_WORD_CHARS = 8
TYPO_ALTERNATIVES = 3
MAX_COMPLETIONS = 64
MAX_TERM_CHARS = 64

# Letters and digits; the underscore and every other symbol separate words, as they do in
# SQLite's unicode61 tokenizer and in the text the PostgreSQL backend indexes.
WORD = re.compile(r"[^\W_]+")
# Dropped from a query unless it has nothing else: "jazz in the park" must not require
# every event to contain "in" and "the".
STOP_WORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it")
    + ("of", "on", "or", "not", "the", "to", "with")
)


def fold(text: str) -> str:
    """Lower case without accents, as both indexes fold what they store ("Zürich" → "zurich")."""
    if text.isascii():  # nearly every word, and ten times faster than normalising
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def words_of(text: str) -> list[str]:
    """Every folded word of ``text``, in order (for indexing and highlighting)."""
    return WORD.findall(fold(text))


def query_words(text: str) -> list[str]:
    """The words a search looks for: the first 200 characters, folded, at least two
    characters long, without repeats and stop words, at most eight."""
    words: list[str] = []
    for word in words_of(text[:MAX_QUERY_CHARS]):
        if len(word) >= MIN_WORD_CHARS and word not in words:
            words.append(word[:MAX_TERM_CHARS])
    meaningful = [word for word in words if word not in STOP_WORDS]
    return (meaningful or words)[:MAX_QUERY_WORDS]


def finished_words(text: str) -> frozenset[str]:
    """The words of ``text`` the user has finished typing: all but a last word with
    nothing after it (a space, a comma, anything that is not a letter or digit ends it)."""
    folded = fold(text[:MAX_QUERY_CHARS])
    words = WORD.findall(folded)
    if words and WORD.fullmatch(folded[-1]):
        words.pop()
    return frozenset(word[:MAX_TERM_CHARS] for word in words)


@dataclass(frozen=True)
class WordMatch:
    """How one query word matches the index: as itself (a finished word, "gala " → gala),
    as the beginning of indexed words ("jaz" → jazz), or as a misspelling of known words
    ("glastonbery" → glastonbury)."""

    word: str
    prefix: bool  # some indexed word starts with it
    # The indexed words it starts that the query asks for, as exact terms: all of them, or
    # the MAX_COMPLETIONS most frequent (and the word itself, if known). Exact terms, not a
    # prefix: PostgreSQL's GIN gathers every posting of every word a prefix starts ("ma":
    # thousands of words, 42 ms at 10^6 events) before intersecting; exact terms it can
    # skip through. A rare word among too many is found once another letter is typed.
    completions: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()
    # A finished word the index knows as it is: it matches only itself ("gala", not
    # "galaxy"), as search boxes do once a space follows a word. It also keeps the query
    # small: PostgreSQL's GIN tests every alternative of every word on each candidate row,
    # and 41 completions of "gala" made "opera gala paris" cost 40 ms at 10^6 events.
    whole: bool = False

    @property
    def matches_anything(self) -> bool:
        return self.prefix or self.whole or bool(self.corrections)

    @property
    def exact_words(self) -> tuple[str, ...]:
        """The words it matches as they are (the rest it matches by prefix)."""
        return (self.word, *self.corrections) if self.whole else self.corrections

    @property
    def terms(self) -> tuple[str, ...]:
        """The index terms a matching event holds at least one of."""
        return (self.word,) if self.whole else self.completions + self.corrections


def word_match(
    word: str,
    *,
    known: bool,
    starting: list[str],
    similar: list[tuple[str, float]],
    finished: bool = False,
) -> WordMatch:
    """Decide how ``word`` matches, given whether the index knows it as it is, the indexed
    words that start with it (most frequent first, at most MAX_COMPLETIONS), the indexed
    words most similar to it (word, trigram similarity), and whether the user has finished
    typing it.

    A finished word the index knows matches only itself. A word that starts some indexed
    word is being typed (or abbreviated): it matches as a prefix only, so "bath" is not also
    taken for "both" or "math". Any other word of four characters or more is taken as a
    typo of its closest known words: those similar enough by trigrams, or one edit away (two
    for words of eight characters or more).
    """
    if finished and known:
        return WordMatch(word=word, prefix=False, whole=True)
    if starting or len(word) < MIN_TYPO_WORD_CHARS:
        others = [term for term in starting if term != word]
        completions = ([word] if known else []) + others
        return WordMatch(
            word=word, prefix=bool(starting), completions=tuple(completions[:MAX_COMPLETIONS])
        )
    edits = LONG_WORD_TYPO_EDITS if len(word) >= LONG_WORD_CHARS else TYPO_EDITS
    close = sorted(
        (
            (term, similarity)
            for term, similarity in similar
            if term != word
            and (
                similarity >= MIN_TYPO_SIMILARITY
                or OSA.distance(word, term, score_cutoff=edits) <= edits
            )
        ),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return WordMatch(
        word=word, prefix=False, corrections=tuple(term for term, _ in close[:TYPO_ALTERNATIVES])
    )


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[index : index + 3] for index in range(len(padded) - 2)}


def trigram_similarity(first: str, second: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of the two words."""
    a, b = trigrams(first), trigrams(second)
    return len(a & b) / len(a | b) if a or b else 0.0
