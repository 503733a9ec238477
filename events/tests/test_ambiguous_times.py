"""Wall-clock times the clocks pass twice (fall back) or skip (spring forward): the editor
asks which one is meant, or refuses, and never guesses."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from events.forms import EventForm
from events.models import Event
from events.tests.test_views import edit_post, event_post
from tests.factories import EventFactory, TicketTypeFactory

NEW_YORK = "America/New_York"
TWICE = "2027-11-07T01:30"  # 01:30 EDT (05:30 UTC), then 01:30 EST (06:30 UTC)
SKIPPED = "2027-03-14T02:30"  # 02:00 EST jumps to 03:00 EDT
FIRST, SECOND = datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def event_form(**overrides) -> EventForm:
    data = {
        key: value
        for key, value in event_post(timezone=NEW_YORK, **overrides).items()
        if not key.startswith("types-")
    }
    return EventForm(data)


def test_a_repeated_time_is_refused_with_a_choice_of_its_two_readings():
    form = event_form(starts_at=TWICE)
    assert not form.is_valid()
    assert form.errors["starts_at"] == [
        "01:30 on Sun 7 Nov 2027 happens twice in America/New_York: the clocks go back "
        "then. Choose below which one you mean."
    ]
    assert form.ambiguous_times == {"starts_at"}
    assert form.fields["starts_at_fold"].choices == [
        (0, "01:30 EDT (UTC\u22124), the first"),
        (1, "01:30 EST (UTC\u22125), the second"),
    ]


@pytest.mark.parametrize(("fold", "instant"), [("0", FIRST), ("1", SECOND)])
def test_the_chosen_reading_of_a_repeated_time_is_kept(fold, instant):
    form = event_form(starts_at=TWICE, starts_at_fold=fold)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["starts_at"] == instant


def test_a_skipped_time_is_refused():
    form = event_form(starts_at=SKIPPED)
    assert not form.is_valid()
    assert form.errors["starts_at"] == [
        "02:30 on Sun 14 Mar 2027 does not exist in America/New_York: the clocks go forward "
        "then and skip it. Choose a time before or after the change."
    ]
    assert form.ambiguous_times == set()


def test_an_end_in_the_first_reading_is_before_a_start_in_the_second():
    form = event_form(
        starts_at=TWICE, starts_at_fold="1", ends_at="2027-11-07T01:45", ends_at_fold="0"
    )
    assert not form.is_valid()
    assert form.errors["ends_at"] == ["The event must end after it starts."]


def test_a_reading_sent_for_an_ordinary_time_is_ignored():
    form = event_form(starts_at="2027-11-07T12:00", starts_at_fold="1")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["starts_at"] == datetime(2027, 11, 7, 17, 0, tzinfo=UTC)
    assert form.ambiguous_times == set()


# --- the editor's views -----------------------------------------------------------------


@pytest.mark.django_db
def test_creating_at_a_repeated_time_asks_which_then_saves_the_choice(client, organiser):
    client.force_login(organiser)
    data = event_post(timezone=NEW_YORK, starts_at=TWICE)
    response = client.post(reverse("event_create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "happens twice in America/New_York" in html
    assert 'name="starts_at_fold"' in html
    assert "01:30 EST (UTC\u22125), the second" in html
    assert not Event.objects.exists()

    response = client.post(reverse("event_create"), {**data, "starts_at_fold": "1"})
    assert response.status_code == 302
    assert Event.objects.get().starts_at == SECOND


@pytest.mark.django_db
def test_a_repeated_sale_start_asks_which_then_saves_the_choice(client, organiser):
    client.force_login(organiser)
    data = event_post(
        timezone=NEW_YORK, starts_at="2027-12-01T19:30", **{"types-0-sale_starts_at": TWICE}
    )
    response = client.post(reverse("event_create"), data)
    assert response.status_code == 400
    assert 'name="types-0-sale_starts_at_fold"' in response.content.decode()
    assert not Event.objects.exists()

    response = client.post(reverse("event_create"), {**data, "types-0-sale_starts_at_fold": "0"})
    assert response.status_code == 302
    assert Event.objects.get().ticket_types.get(name="Standard").sale_starts_at == FIRST


@pytest.mark.django_db
def test_creating_at_a_skipped_time_is_refused(client, organiser):
    client.force_login(organiser)
    response = client.post(
        reverse("event_create"), event_post(timezone=NEW_YORK, starts_at=SKIPPED)
    )
    assert response.status_code == 400
    assert "does not exist in America/New_York" in response.content.decode()
    assert 'name="starts_at_fold"' not in response.content.decode()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_event_stored_at_the_second_reading_redisplays_and_saves_as_the_second(
    client, organiser
):
    event = EventFactory(organiser=organiser, timezone=NEW_YORK, starts_at=SECOND, ticket_types=[])
    TicketTypeFactory(event=event)
    client.force_login(organiser)
    html = client.get(reverse("event_edit", args=[event.pk])).content.decode()
    assert 'value="2027-11-07T01:30"' in html
    chosen = re.search(r'<input[^>]*name="starts_at_fold"[^>]*checked[^>]*>', html)
    assert chosen and 'value="1"' in chosen.group(0)

    data = edit_post(event, timezone=NEW_YORK, starts_at=TWICE, starts_at_fold="1")
    response = client.post(reverse("event_edit", args=[event.pk]), data)
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.starts_at == SECOND
