"""Ranking, filters, past events and paging of search_events."""

from datetime import timedelta

import pytest
from django.core.paginator import EmptyPage
from django.utils import timezone

from search.selectors import SearchFilters, search_events
from tests.factories import TicketTypeFactory

pytestmark = pytest.mark.django_db


def names(text: str = "", **filters) -> list[str]:
    return [hit.event.name for hit in search_events(text, filters=SearchFilters(**filters)).hits]


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


def test_name_ranks_above_place_above_description_whatever_the_dates(make_event):
    make_event(name="Evening Recital", description="Solo harp and song.", starts_at=in_days(1))
    make_event(name="Afternoon Tea", venue_name="The Harp Inn", starts_at=in_days(2))
    make_event(name="Harp Night", starts_at=in_days(20))

    assert names("harp") == ["Harp Night", "Afternoon Tea", "Evening Recital"]


def test_every_word_must_match_somewhere_and_the_weakest_field_sets_the_rank(make_event):
    make_event(name="Jazz Brunch", address="1 Quay, Bristol", starts_at=in_days(3))
    make_event(name="Bristol Jazz Brunch", starts_at=in_days(9))
    make_event(name="Jazz Brunch", address="2 Dock Road, Liverpool", starts_at=in_days(1))

    assert names("jazz bristol") == ["Bristol Jazz Brunch", "Jazz Brunch"]


def test_sooner_events_rank_first_when_equally_relevant(make_event):
    make_event(name="Folk Night III", starts_at=in_days(30))
    make_event(name="Folk Night I", starts_at=in_days(2))
    make_event(name="Folk Night II", starts_at=in_days(9))

    assert names("folk") == ["Folk Night I", "Folk Night II", "Folk Night III"]


def test_past_events_are_left_out_unless_asked_for_then_listed_after_upcoming_ones(make_event):
    make_event(name="Quiz Old", starts_at=in_days(-30))
    make_event(
        name="Quiz Last Week", starts_at=in_days(-7), ends_at=in_days(-7) + timedelta(hours=2)
    )
    make_event(name="Quiz Now", starts_at=in_days(-0.1), ends_at=in_days(0.1))
    make_event(name="Quiz Soon", starts_at=in_days(5))

    assert names("quiz") == ["Quiz Now", "Quiz Soon"]
    assert names("quiz", include_past=True) == [
        "Quiz Now",
        "Quiz Soon",
        "Quiz Last Week",
        "Quiz Old",
    ]


def test_a_typo_is_corrected_and_a_known_prefix_is_not(make_event):
    make_event(name="Bath Festival")
    make_event(name="Baths Reopening")
    make_event(name="Glastonbury Tor Walk")

    assert names("glastonbery") == ["Glastonbury Tor Walk"]
    assert names("bath") == ["Bath Festival", "Baths Reopening"]
    page = search_events("glastonbery")
    assert page.corrections == ["glastonbury"]


def test_a_short_word_missing_a_letter_is_still_found(make_event):
    """Few trigrams survive a typo in a short word ("lnes" shares 3 of 8 with "lines");
    one edit away is close enough."""
    make_event(name="Laugh Lines")
    make_event(name="Laugh Riot")

    assert names("laugh lnes") == ["Laugh Lines"]
    assert search_events("laugh lnes").hits[0].name == "<mark>Laugh</mark> <mark>Lines</mark>"


def test_a_word_nothing_matches_is_left_out_rather_than_emptying_the_results(make_event):
    make_event(name="Jazz Night")

    assert names("jazz qwxzvbn") == ["Jazz Night"]
    assert names("qwxzvbn") == []


def test_date_range_keeps_events_overlapping_it(make_event):
    today = timezone.localdate()
    make_event(name="Gig Before", starts_at=in_days(3))
    make_event(name="Gig Long", starts_at=in_days(4), ends_at=in_days(9))
    make_event(name="Gig Inside", starts_at=in_days(10))
    make_event(name="Gig After", starts_at=in_days(20))

    found = names("gig", date_from=today + timedelta(days=8), date_to=today + timedelta(days=12))
    assert found == ["Gig Long", "Gig Inside"]


def test_price_cap_is_in_each_events_own_currency_and_zero_means_free(make_event):
    for name, price, currency in [
        ("Talk Free", 0, "GBP"),
        ("Talk Nine Pounds", 900, "GBP"),
        ("Talk Twenty Euros", 2000, "EUR"),
        ("Talk Five Hundred Yen", 500, "JPY"),
    ]:
        event = make_event(name=name, currency=currency, ticket_types=[])
        TicketTypeFactory(event=event, price_minor=price)

    assert names("talk", max_price=0) == ["Talk Free"]
    assert names("talk", max_price=10) == ["Talk Free", "Talk Nine Pounds"]
    assert names("talk", max_price=500) == [
        "Talk Free",
        "Talk Nine Pounds",
        "Talk Twenty Euros",
        "Talk Five Hundred Yen",
    ]


def test_tickets_available_needs_one_type_with_places_on_sale_matching_the_price_too(make_event):
    sold_out = make_event(name="Show Sold Out", ticket_types=[])
    TicketTypeFactory(event=sold_out, capacity=10, sold_count=10)
    ended = make_event(name="Show Sale Ended", ticket_types=[])
    TicketTypeFactory(event=ended, sale_ends_at=in_days(-1))
    mixed = make_event(name="Show Free Gone Paid Left", ticket_types=[])
    TicketTypeFactory(event=mixed, price_minor=0, capacity=5, sold_count=3, held_count=2)
    TicketTypeFactory(event=mixed, price_minor=2500)
    make_event(name="Show Available")

    assert names("show", with_tickets=True) == ["Show Free Gone Paid Left", "Show Available"]
    assert names("show", with_tickets=True, max_price=0) == []


def test_filters_alone_list_events_soonest_first(make_event):
    make_event(name="Later", starts_at=in_days(12))
    make_event(name="Sooner", starts_at=in_days(2))

    assert names(with_tickets=True) == ["Sooner", "Later"]
    assert search_events("").searched is False


def test_paging_twenty_at_a_time_and_a_page_past_the_end_is_empty_page(make_event):
    for day in range(1, 26):
        make_event(name=f"Ceilidh {day:02d}", starts_at=in_days(day))

    first = search_events("ceilidh")
    second = search_events("ceilidh", page=2)

    assert [hit.event.name for hit in first.hits] == [f"Ceilidh {d:02d}" for d in range(1, 21)]
    assert first.has_next and not first.has_previous
    assert [hit.event.name for hit in second.hits] == [f"Ceilidh {d:02d}" for d in range(21, 26)]
    assert second.has_previous and not second.has_next
    for bad_page in (0, 3, 51):
        with pytest.raises(EmptyPage):
            search_events("ceilidh", page=bad_page)


def test_pages_run_on_from_one_tier_into_the_next(make_event):
    for number in range(15):
        make_event(name=f"Swing Name {number:02d}", starts_at=in_days(30 + number))
        make_event(
            name=f"Place {number:02d}", venue_name="Swing Hall", starts_at=in_days(1 + number)
        )
        make_event(name=f"Text {number:02d}", description="Swing!", starts_at=in_days(1 + number))

    pages = [names_on_page("swing", page) for page in (1, 2, 3)]

    assert pages[0] == [f"Swing Name {n:02d}" for n in range(15)] + [
        f"Place {n:02d}" for n in range(5)
    ]
    assert pages[1] == [f"Place {n:02d}" for n in range(5, 15)] + [
        f"Text {n:02d}" for n in range(10)
    ]
    assert pages[2] == [f"Text {n:02d}" for n in range(10, 15)]


def names_on_page(text: str, page: int) -> list[str]:
    return [hit.event.name for hit in search_events(text, page=page).hits]


def test_a_search_takes_two_queries(make_event, django_assert_num_queries):
    make_event(name="Opera Gala")

    with django_assert_num_queries(2):
        page = search_events("opera gala")
    assert [hit.event.name for hit in page.hits] == ["Opera Gala"]
