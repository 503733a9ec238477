"""Whatever is typed is text: never a query syntax error, never unescaped HTML."""

import pytest

from search.query import MAX_QUERY_CHARS, query_words
from search.selectors import search_events

pytestmark = pytest.mark.django_db

HOSTILE = [
    '"',
    '"jazz',
    "jazz*",
    "*",
    "NEAR",
    "NEAR(jazz night)",
    "jazz NEAR/2 night",
    "-",
    "-jazz",
    "jazz -night",
    "AND",
    "jazz AND",
    "OR NOT jazz",
    "(",
    "(jazz",
    "jazz)",
    "'",
    "jazz'",
    "''",
    "jazz:*",
    "{name}: jazz",
    "name:jazz",
    "!jazz & | <->",
    "%",
    "_",
    "\\",
    "jazz\x00night",
    "'; DROP TABLE events_event; --",
    "🎷 jazz",
    "Ωμέγα",
    "東京",
    "^jazz$",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_query_syntax_and_special_characters_are_plain_text(make_event, text):
    make_event(name="Jazz Night", description="", venue_name="Bar", address="")

    page = search_events(text)

    expected = ["Jazz Night"] if "jazz" in text.lower() else []
    assert [hit.event.name for hit in page.hits] == expected


@pytest.mark.parametrize("text", ["", "   ", "a", "\n\t", "!?"])
def test_empty_or_wordless_text_searches_nothing(make_event, text):
    make_event(name="Jazz Night")

    page = search_events(text)

    assert page.searched is False
    assert page.hits == []


def test_very_long_text_is_cut_to_200_characters(make_event):
    make_event(name="Jazz Night")
    text = "jazz " + "x" * 10_000 + " night"

    page = search_events(text)

    assert len(page.text) == MAX_QUERY_CHARS
    assert [hit.event.name for hit in page.hits] == ["Jazz Night"]
    assert query_words(" ".join(f"word{number}" for number in range(100))) == [
        f"word{number}" for number in range(8)
    ]


def test_highlighting_marks_matches_and_escapes_everything_else(make_event):
    make_event(
        name="<script>alert(1)</script> Jazz & Blues",
        venue_name="<b>Bar</b>",
        address="1 Jazz Street",
        description="Come for <img src=x onerror=alert(2)> jazz, stay for the blues.",
    )

    hit = search_events("jazz").hits[0]

    assert hit.name == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Jazz</mark> &amp; Blues"
    assert hit.venue == "&lt;b&gt;Bar&lt;/b&gt;"
    assert hit.address == "1 <mark>Jazz</mark> Street"
    assert "&lt;img src=x onerror=alert(2)&gt; <mark>jazz</mark>" in hit.snippet
    assert "<img" not in hit.snippet


def test_highlighting_marks_prefixes_corrections_and_accented_words(make_event):
    make_event(name="Café Zürich Glastonbury Jazzy Evening")

    assert search_events("cafe zur").hits[0].name == (
        "<mark>Café</mark> <mark>Zürich</mark> Glastonbury Jazzy Evening"
    )
    assert search_events("glastonbery jaz").hits[0].name == (
        "Café Zürich <mark>Glastonbury</mark> <mark>Jazzy</mark> Evening"
    )


def test_snippet_shows_the_description_around_the_first_match(make_event):
    description = " ".join(["filler"] * 60) + " the oysters are fresh " + " ".join(["more"] * 60)
    make_event(name="Supper Club", description=description)

    snippet = search_events("oysters").hits[0].snippet

    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>oysters</mark>" in snippet
    assert len(snippet) < 260
