"""Strict parsing of what a request sends, shared by every app's forms and URLs.

Python's ``int()`` and ``Decimal()`` read far more than a person types into a price box:
``1_000``, Arabic-Indic digits, ``1e9``, and numbers past the 64-bit range the database
stores (which then fail deep inside a query as an OverflowError, answered with a 500). Text
fields let through line breaks that later break e-mail headers, and names made only of
invisible characters. The fields here refuse all of that where it is parsed, with a
message a person can act on, so nothing out of range reaches a service or a query.
"""

import re
import unicodedata
from datetime import date, datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

# Signed 64-bit: the range of BigAutoField keys on PostgreSQL and of SQLite's integers.
DATABASE_INTEGER_MAX = 2**63 - 1

_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
_ASCII_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?|[+-]?\.[0-9]+")

# Characters that have no place in a one-line value: C0/C1 controls (line breaks, NUL,
# escape), the line and paragraph separators, and the bidirectional overrides and isolates
# that make text display in another order than it is stored ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width and other format characters that show nothing on their own.
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"


class StrictIntegerField(forms.IntegerField):
    """An integer typed with ASCII digits only, within the database's integer range."""

    default_error_messages = {"invalid": "Enter a whole number, using the digits 0–9."}

    def __init__(self, *, min_value=None, max_value=None, **kwargs):
        bounded_max = DATABASE_INTEGER_MAX if max_value is None else max_value
        bounded_min = -DATABASE_INTEGER_MAX if min_value is None else min_value
        super().__init__(min_value=bounded_min, max_value=bounded_max, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _ASCII_INTEGER.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        # int() refuses more than 4300 digits (ValueError); anything past 19 significant
        # digits is out of range anyway, so it becomes just past the range for the
        # min/max validators to refuse with their message.
        if len(text.lstrip("+-").lstrip("0")) > 19:
            return -(DATABASE_INTEGER_MAX + 1) if text.startswith("-") else DATABASE_INTEGER_MAX + 1
        return int(text)


class IdField(StrictIntegerField):
    """The id of a stored object: a positive 64-bit integer."""

    default_error_messages = {
        code: "This form refers to something that doesn't exist. Reload the page and try again."
        for code in ("invalid", "min_value", "max_value")
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(min_value=1, max_value=DATABASE_INTEGER_MAX, **kwargs)


class StrictDecimalField(forms.DecimalField):
    """An amount typed with ASCII digits and at most one decimal point ("12.50")."""

    default_error_messages = {"invalid": "Enter an amount such as 12.50, using the digits 0–9."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _ASCII_DECIMAL.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)


def is_control_character(character: str) -> bool:
    """True for what has no place in one line of text: a control character (line breaks
    included), a line or paragraph separator, or a bidirectional override or isolate."""
    return unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI_CONTROLS


def check_single_line(value: str) -> str:
    """Strip ``value`` and refuse what a one-line name must not hold.

    Raises ValidationError for control characters (line breaks included) and bidirectional
    overrides, and for a value with no visible character (only spaces or zero-width ones).
    """
    value = value.strip().strip(_INVISIBLE_EDGES).strip()
    for character in value:
        if is_control_character(character):
            raise ValidationError(
                "Use a single line of text, without line breaks or control characters.",
                code="control_character",
            )
    if value and not any(unicodedata.category(c)[0] in "LNPS" for c in value):
        raise ValidationError("Enter some visible text.", code="invisible")
    return value


class SingleLineCharField(forms.CharField):
    """One line of text with something visible in it: names, venues, addresses."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return check_single_line(value)


class MultiLineCharField(forms.CharField):
    """Free text where line breaks and tabs are fine but other control characters are not."""

    def to_python(self, value):
        value = super().to_python(value)
        if any(unicodedata.category(c) == "Cc" and c not in "\r\n\t" for c in value or ""):
            raise ValidationError(
                "Remove the control characters from this text.", code="control_character"
            )
        return value


def event_date_window(
    now: datetime | None = None, *, years_back: int = 1
) -> tuple[datetime, datetime]:
    """The instants an event (or its sale) may be set to: a year back, ten years ahead.

    Far dates are refused as mistakes, and because the arithmetic on them (zone conversion,
    the search index's sort key) overflows past year 2225 and before 1677.
    """
    now = now or timezone.now()
    return now - timedelta(days=366 * years_back), now + timedelta(days=3653)


def check_in_window(
    moment: datetime | date, *, now: datetime | None = None, years_back: int = 1
) -> None:
    """Raise ValidationError unless ``moment`` (a wall-clock time, a day, or an aware
    instant) falls in ``event_date_window``, with a day's margin either side for zones."""
    earliest, latest = event_date_window(now, years_back=years_back)
    day = moment.date() if isinstance(moment, datetime) else moment
    if not (earliest.date() - timedelta(days=1) <= day <= latest.date() + timedelta(days=1)):
        raise ValidationError(
            "Pick a date between %(earliest)s and %(latest)s.",
            code="out_of_range",
            params={
                "earliest": f"{earliest:%-d %b %Y}",
                "latest": f"{latest:%-d %b %Y}",
            },
        )


class WindowedDateField(forms.DateField):
    """A day typed as YYYY-MM-DD (what date inputs send) within ``event_date_window``."""

    input_formats = ["%Y-%m-%d"]
    default_error_messages = {"invalid": "Enter a date such as 2027-06-30."}

    def __init__(self, *, years_back: int = 1, **kwargs):
        self.years_back = years_back
        super().__init__(**kwargs)

    def to_python(self, value):
        # strptime reads any Unicode digits; the window check below assumes ASCII ones.
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_in_window(value, years_back=self.years_back)


class IdConverter:
    """``<id:name>`` in URLs: a positive integer that fits the database's keys. Anything
    longer does not match, so the URL answers 404 instead of overflowing a query."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)
