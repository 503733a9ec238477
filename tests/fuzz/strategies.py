"""Hypothesis strategies for what an attacker, a broken client or a confused person sends."""

from datetime import date, datetime, timedelta

from hypothesis import strategies as st

# Values that found defects here before, or that parsers commonly mishandle.
AWKWARD_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "1_000",
    "1e9",
    "0x10",
    "+5",
    "1.5",
    "12.50",
    "0.001",
    "-0",
    "NaN",
    "Infinity",
    "9" * 19,
    "9" * 25,
    str(2**63),
    str(2**63 - 1),
    str(-(2**63)),
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\u0968",  # Devanagari digit
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\uff11\uff10",  # fullwidth digits
    "9999-12-31",
    "0001-01-01",
    "1677-09-21",
    "2262-04-12",
    "2300-01-01T10:00",
    "9999-12-31T23:59",
    "2027-02-30",
    "2027-13-01",
    "2027-06-30",
    "2027-06-30T19:30",
    "2027-11-07T01:30",  # ambiguous in New York
    "2027-03-14T02:30",  # does not exist in New York
    "30/06/2027",
    "\x00",
    "a\x00b",
    "\r\nBcc: x@example.com",
    "line\nbreak",
    "\t",
    "\x1b[31m",
    "\u200b",
    "\u200b\u200c\u200d\ufeff",
    "\u202e\u2066evil",
    "\u2028",
    "\ud7ff",
    "\U0001f600",
    "e\u0301",
    "true",
    "false",
    "on",
    "null",
    "None",
    "[]",
    "{}",
    '{"a": 1}',
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "%",
    "Europe/London",
    "America/New_York",
    "localtime",
    "Factory",
    "EST5EDT",
    "GBP",
    "JPY",
    "XXX",
    "gbp",
    "buyer@example.com",
    "a@b",
    "x" * 300,
    "x" * 5000,
]

_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
_CONTROL = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1, max_size=8)


def _iso(moment: date | datetime) -> str:
    return moment.isoformat() if isinstance(moment, date) else str(moment)


def awkward_text() -> st.SearchStrategy[str]:
    """One value for a form field, a query parameter or a header."""
    return st.one_of(
        st.sampled_from(AWKWARD_VALUES),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.integers(min_value=-5, max_value=20).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.dates().map(_iso),
        st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")),
        st.integers(min_value=-400, max_value=4000).map(
            lambda days: (date.today() + timedelta(days=days)).isoformat()
        ),
        _TEXT,
        st.tuples(_TEXT, _CONTROL, _TEXT).map("".join),
        st.integers(min_value=4000, max_value=200_000).map(lambda n: "9" * n),
    )


def field_values() -> st.SearchStrategy[list[str]]:
    """What a key carries: mostly one value, sometimes the key repeated."""
    return st.one_of(
        awkward_text().map(lambda value: [value]),
        st.lists(awkward_text(), min_size=2, max_size=3),
    )
