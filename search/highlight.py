"""Matched words wrapped in <mark>, everything else escaped.

Every piece of event text goes through ``html.escape`` (what ``django.utils.html.escape``
calls, without its lazy-string wrapper: that wrapper cost more than the search itself on
twenty results), and only the joined, fully escaped result is marked safe, as Django's own
``format_html_join`` does. So a name like ``<script>`` comes back as text.
"""

import re
from collections.abc import Iterator, Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from search.query import WORD, WordMatch, fold

SNIPPET_CHARS = 180
SNIPPET_LEAD_CHARS = 60


class Highlighter:
    """Marks the words a search matched: those starting with a prefix it matched, its
    finished words, and the corrections of its misspelt words. Built once per page of
    results (it is on the hot path: every word of twenty names, places and snippets)."""

    def __init__(self, matches: Sequence[WordMatch]):
        self.prefixes = tuple(match.word for match in matches if match.prefix)
        self.exact_words = frozenset(word for match in matches for word in match.exact_words)
        # For ASCII text (nearly all of it), one regular expression finds the matched words
        # without folding each word in Python. Words are letters and digits only.
        alternatives = [f"{re.escape(prefix)}[^\\W_]*" for prefix in self.prefixes]
        alternatives += [
            f"{re.escape(word)}(?![^\\W_])" for word in self.exact_words if word.isascii()
        ]
        self.ascii_words = (
            re.compile(f"(?<![^\\W_])(?:{'|'.join(alternatives)})", re.IGNORECASE | re.ASCII)
            if alternatives
            else None
        )

    def _matches(self, word: str) -> bool:
        folded = fold(word)
        return folded.startswith(self.prefixes) or folded in self.exact_words

    def _matched_words(self, text: str) -> Iterator[re.Match[str]]:
        if text.isascii():
            return self.ascii_words.finditer(text) if self.ascii_words else iter(())
        return (found for found in WORD.finditer(text) if self._matches(found.group()))

    def mark(self, text: str) -> SafeString:
        if not text:
            return mark_safe("")
        pieces: list[str] = []
        position = 0
        for found in self._matched_words(text):
            pieces.append(escape(text[position : found.start()]))
            pieces.append(f"<mark>{escape(found.group())}</mark>")
            position = found.end()
        pieces.append(escape(text[position:]))
        return mark_safe("".join(pieces))  # noqa: S308 (every piece is escaped)

    def snippet(self, text: str) -> SafeString:
        """About 180 characters of ``text`` around its first matched word (or from its
        beginning), cut at spaces, with the matches marked."""
        first = next(self._matched_words(text), None)
        start = max(0, first.start() - SNIPPET_LEAD_CHARS) if first else 0
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < start + SNIPPET_LEAD_CHARS else start
        end = start + SNIPPET_CHARS
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        window = " ".join(text[start:end].split())
        lead, tail = ("… " if start else ""), (" …" if end < len(text) else "")
        return mark_safe(f"{lead}{self.mark(window)}{tail}")  # noqa: S308 (mark() escapes)
