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


@dataclass(frozen=True)
class WordMatch:
    """How one query word matches the index: as the beginning of indexed words ("jaz" →
    jazz), and/or as a misspelling of known words ("glastonbery" → glastonbury)."""

    word: str
    prefix: bool  # some indexed word starts with it
    # The indexed words it starts, when there are at most MAX_COMPLETIONS: the query asks
    # for them as exact terms, which both indexes intersect far faster than a prefix
    # (PostgreSQL's GIN gathers every posting of a prefix before intersecting; exact terms
    # it can skip through). Empty when there are more: then it is asked as a prefix.
    completions: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()

    @property
    def matches_anything(self) -> bool:
        return self.prefix or bool(self.corrections)

    def matches(self, folded_word: str) -> bool:
        if self.prefix and folded_word.startswith(self.word):
            return True
        return folded_word in self.corrections


def word_match(word: str, *, starting: list[str], similar: list[tuple[str, float]]) -> WordMatch:
    """Decide how ``word`` matches, given the indexed words that start with it (sorted, at
    most MAX_COMPLETIONS + 1 of them) and the indexed words most similar to it (word,
    trigram similarity).

    A word that starts some indexed word is being typed or is spelt right: it matches as a
    prefix only, so "bath" is not also taken for "both" or "math". Any other word of four
    characters or more is taken as a typo of its closest known words: those similar enough
    by trigrams, or one edit away (two for words of eight characters or more).
    """
    if starting or len(word) < MIN_TYPO_WORD_CHARS:
        completions = tuple(starting) if len(starting) <= MAX_COMPLETIONS else ()
        return WordMatch(word=word, prefix=bool(starting), completions=completions)
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
