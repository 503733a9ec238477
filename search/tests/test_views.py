"""/search without JavaScript, its htmx partials, and the search box on every page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketTypeFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def link_to(event) -> str:
    return f'href="{reverse("event_detail", args=[event.pk])}"'


def test_search_page_works_without_javascript(client, make_event):
    event = make_event(name="Jazz on the Roof", venue_name="Skyline Bar")

    response = client.get("/search", {"q": "jaz"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'value="jaz"' in html  # the box keeps the query; the URL can be shared
    assert "<mark>Jazz</mark> on the Roof" in html
    assert reverse("event_detail", args=[event.pk]) in html
    assert "Skyline Bar" in html


def test_no_results_is_a_clear_message_not_an_error(client, make_event):
    make_event(name="Jazz on the Roof")

    response = client.get("/search", {"q": "bagpipes"})

    assert response.status_code == 200
    assert "No events match “bagpipes”" in response.content.decode()


def test_empty_search_invites_typing(client):
    response = client.get("/search")

    assert response.status_code == 200
    assert "Type part of an event" in response.content.decode()


@pytest.mark.parametrize("page", ["abc", "0", "-1", "2", "99999999999999999999"])
def test_a_bad_page_number_is_404_like_the_home_page(client, make_event, page):
    make_event(name="Jazz on the Roof")

    assert client.get("/search", {"q": "jazz", "page": page}).status_code == 404


def test_pages_link_to_each_other_keeping_the_query_and_filters(client, make_event):
    quizzes = [
        make_event(name=f"Quiz {day}", starts_at=timezone.now() + timedelta(days=day))
        for day in range(1, 23)
    ]

    first = client.get("/search", {"q": "quiz", "with_tickets": "on"}).content.decode()
    second = client.get("/search", {"q": "quiz", "with_tickets": "on", "page": "2"})

    assert "/search?q=quiz&amp;with_tickets=on&amp;page=2" in first
    assert second.status_code == 200
    assert link_to(quizzes[20]) in second.content.decode()
    assert link_to(quizzes[20]) not in first


def test_filters_come_from_the_url_and_a_bad_one_is_shown_and_ignored(client, make_event):
    free = make_event(name="Gig Free", ticket_types=[])
    TicketTypeFactory(event=free, price_minor=0)
    paid = make_event(name="Gig Paid")

    html = client.get("/search", {"q": "gig", "free_only": "on"}).content.decode()
    assert link_to(free) in html and link_to(paid) not in html

    response = client.get("/search", {"q": "gig", "date_from": "not-a-date"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a date such as 2027-06-30." in html
    assert link_to(free) in html and link_to(paid) in html


@pytest.mark.parametrize(
    ("date_from", "message"),
    [
        ("9999-12-31", "Pick a date between"),
        ("1677-01-01", "Pick a date between"),
        ("0001-01-01", "Pick a date between"),
        ("٢٠٢٧-٠١-٠١", "Enter a date such as"),
        ("2027-1-1\x00", "Enter a date such as"),
    ],
)
def test_a_date_outside_the_searchable_years_is_shown_and_ignored(
    client, make_event, date_from, message
):
    event = make_event(name="Gig Anytime")
    response = client.get("/search", {"q": "gig", "date_from": date_from})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert link_to(event) in html


def test_typing_in_the_box_gets_the_main_content_with_title_and_announcement(client, make_event):
    make_event(name="Jazz on the Roof")

    response = client.get("/search", {"q": "jazz"}, HTTP_HX_TARGET="main", **HTMX)

    html = response.content.decode()
    assert "<html" not in html
    assert "<title>jazz · Search · Ticket Hub</title>" in html
    assert 'id="search-filters"' in html
    assert '<span id="search-status" hx-swap-oob="innerHTML">1 event found</span>' in html
    assert "HX-Request" in response["Vary"]


def test_typing_takes_one_history_entry_not_one_per_keystroke(client):
    """From another page the first answer is pushed onto the history; on the search page
    the next ones replace it, so Back leaves the search in one step."""
    from_event_page = client.get(
        "/search",
        {"q": "ja"},
        HTTP_HX_TARGET="main",
        HTTP_HX_CURRENT_URL="http://testserver/events/7/",
        **HTMX,
    )
    on_search_page = client.get(
        "/search",
        {"q": "jaz"},
        HTTP_HX_TARGET="main",
        HTTP_HX_CURRENT_URL="http://testserver/search?q=ja",
        **HTMX,
    )

    assert from_event_page["HX-Push-Url"] == "/search?q=ja"
    assert "HX-Replace-Url" not in from_event_page
    assert on_search_page["HX-Replace-Url"] == "/search?q=jaz"
    assert "HX-Push-Url" not in on_search_page


def test_a_filter_change_pushes_a_clean_url(client):
    response = client.get(
        "/search",
        {"q": "jazz", "date_from": "", "max_price": "", "free_only": "on"},
        HTTP_HX_TARGET="search-results",
        HTTP_HX_CURRENT_URL="http://testserver/search?q=jazz",
        **HTMX,
    )

    assert response["HX-Push-Url"] == "/search?q=jazz&free_only=on"


def test_changing_a_filter_gets_only_the_results(client, make_event):
    make_event(name="Jazz on the Roof")

    response = client.get("/search", {"q": "jazz"}, HTTP_HX_TARGET="search-results", **HTMX)

    html = response.content.decode()
    assert "<mark>Jazz</mark> on the Roof" in html
    assert 'id="search-filters"' not in html
    assert 'hx-swap-oob="innerHTML">1 event found<' in html


def test_htmx_history_restore_gets_the_whole_page(client):
    response = client.get(
        "/search",
        {"q": "jazz"},
        HTTP_HX_TARGET="main",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        **HTMX,
    )

    assert "<html" in response.content.decode()


def test_event_text_is_escaped_on_the_page(client, make_event):
    make_event(name="<script>alert('x')</script> Jazz")

    html = client.get("/search", {"q": "jazz"}).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <mark>Jazz</mark>" in html


def test_every_page_has_the_search_box(client):
    html = client.get(reverse("home")).content.decode()

    assert '<form role="search" method="get" action="/search"' in html
    assert '<label for="site-search-q"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'hx-sync="this:replace"' in html
    assert 'id="search-status" role="status"' in html
