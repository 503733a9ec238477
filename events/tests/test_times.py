"""The event_time tag: an event's times in its own zone, naming the zone."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template

from events.times import format_event_time


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (at(2027, 6, 12, 18, 30), "Europe/London", "Sat 12 Jun 2027, 19:30 BST (Europe/London)"),
        (at(2027, 1, 9, 19, 30), "Europe/London", "Sat 9 Jan 2027, 19:30 GMT (Europe/London)"),
        (
            at(2027, 6, 12, 23, 30),
            "America/New_York",
            "Sat 12 Jun 2027, 19:30 EDT (America/New_York)",
        ),
        (
            at(2027, 1, 10, 0, 30),
            "America/New_York",
            "Sat 9 Jan 2027, 19:30 EST (America/New_York)",
        ),
        (at(2027, 6, 12, 10, 30), "Asia/Tokyo", "Sat 12 Jun 2027, 19:30 JST (Asia/Tokyo)"),
        # Offsets off the hour; the tz database has no letters for Nepal, only "+0545".
        (
            at(2027, 6, 12, 13, 45),
            "Asia/Kathmandu",
            "Sat 12 Jun 2027, 19:30 UTC+5:45 (Asia/Kathmandu)",
        ),
        (at(2027, 6, 12, 14, 0), "Asia/Kolkata", "Sat 12 Jun 2027, 19:30 IST (Asia/Kolkata)"),
        (
            at(2027, 6, 12, 22, 30),
            "America/Sao_Paulo",
            "Sat 12 Jun 2027, 19:30 UTC\u22123 (America/Sao_Paulo)",
        ),
        (at(2027, 6, 12, 19, 30), "UTC", "Sat 12 Jun 2027, 19:30 UTC (UTC)"),
    ],
)
def test_a_time_is_shown_in_the_event_s_zone_and_names_it(moment, zone, shown):
    assert format_event_time(moment, zone) == shown


def render(source: str, **context) -> str:
    return Template("{% load catalogue %}" + source).render(Context(context))


class Event:
    timezone = "America/New_York"


def test_the_tag_gives_a_time_element_with_the_instant_and_the_zone():
    html = render("{% event_time starts event %}", starts=at(2027, 6, 12, 23, 30), event=Event())
    assert html == (
        '<time datetime="2027-06-12T19:30:00-04:00" data-zone="America/New_York">'
        "Sat 12 Jun 2027, 19:30 EDT (America/New_York)</time>"
    )


def test_an_end_on_the_same_local_day_shows_only_its_clock_time():
    starts, ends = at(2027, 6, 12, 23, 30), at(2027, 6, 13, 3, 0)  # 19:30 to 23:00 in New York
    html = render(
        "{% event_time ends event after=starts %}", starts=starts, ends=ends, event=Event()
    )
    assert ">23:00 EDT (America/New_York)</time>" in html
    next_day = at(2027, 6, 13, 5, 0)
    html = render(
        "{% event_time ends event after=starts %}", starts=starts, ends=next_day, event=Event()
    )
    assert ">Sun 13 Jun 2027, 01:00 EDT (America/New_York)</time>" in html


def test_the_plain_text_filter_names_the_zone_and_nothing_is_escaped():
    text = render("{{ moment|in_event_zone:'Asia/Kathmandu' }}", moment=at(2027, 6, 12, 13, 45))
    assert text == "Sat 12 Jun 2027, 19:30 UTC+5:45 (Asia/Kathmandu)"
    assert render("{% event_time nothing 'UTC' %}", nothing=None) == ""
