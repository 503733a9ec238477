"""The vocabulary behind prefixes and typos: finished words match themselves, prefixes
expand to the most frequent words, and the hourly refresh counts words and drops those no
event holds any more, without losing a word an event is being indexed with."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event
from search.models import SearchTerm
from search.query import MAX_COMPLETIONS, finished_words
from search.selectors import search_events
from search.services import index_event, refresh_vocabulary
from search.tasks import refresh_vocabulary_hourly
from tests.factories import EventFactory


def names(text: str) -> list[str]:
    return [hit.event.name for hit in search_events(text).hits]


def test_the_word_being_typed_is_the_last_one_with_nothing_after_it():
    assert finished_words("rock nig") == {"rock"}
    assert finished_words("rock night ") == {"rock", "night"}
    assert finished_words("rock night,") == {"rock", "night"}
    assert finished_words("") == frozenset()


@pytest.mark.django_db
def test_a_finished_word_matches_itself_and_the_word_being_typed_its_completions(make_event):
    make_event(name="Rock Night")
    make_event(name="Rockabilly Night")

    assert names("rock") == ["Rock Night", "Rockabilly Night"]
    assert names("rock ") == ["Rock Night"]
    assert names("rock nig") == ["Rock Night"]
    hit = search_events("rock nig").hits[0]
    assert hit.name == "<mark>Rock</mark> <mark>Night</mark>"


@pytest.mark.django_db
def test_the_search_page_keeps_the_space_that_finishes_a_word(client, make_event):
    make_event(name="Rock Night")
    make_event(name="Rockabilly Night")

    html = client.get("/search", {"q": "rock "}).content.decode()

    assert "Rock</mark> Night" in html
    assert "Rockabilly" not in html


@pytest.mark.django_db
def test_a_finished_word_the_index_does_not_know_still_matches_as_prefix_or_typo(make_event):
    make_event(name="Jazz Brunch")

    assert names("jaz brunch") == ["Jazz Brunch"]
    assert names("jazzz brunch") == ["Jazz Brunch"]


@pytest.mark.django_db
def test_a_prefix_of_many_words_expands_to_the_most_frequent(make_event):
    later = timezone.now() + timedelta(days=300)
    for number in range(MAX_COMPLETIONS + 6):
        make_event(name=f"Ma{number:03d}x Fair", starts_at=later)
    for _ in range(2):
        make_event(name="Mazurka Fair")
    refresh_vocabulary()

    page = search_events("ma")

    assert page.matches[0].completions[0] == "mazurka"
    assert len(page.matches[0].completions) == MAX_COMPLETIONS
    assert [hit.event.name for hit in page.hits][:2] == ["Mazurka Fair", "Mazurka Fair"]


@pytest.mark.django_db
def test_the_refresh_counts_words_and_drops_those_no_event_holds(make_event):
    zanzibar = make_event(name="Zanzibar Night")
    make_event(name="Quiet Night")
    zanzibar.name = "Harbour Night"
    zanzibar.save()
    index_event(event=zanzibar)
    assert SearchTerm.objects.filter(word="zanzibar").exists()  # stale until the refresh

    dropped = refresh_vocabulary()

    assert dropped >= 1
    assert not SearchTerm.objects.filter(word="zanzibar").exists()
    assert SearchTerm.objects.get(word="night").documents == 2
    assert SearchTerm.objects.get(word="harbour").documents == 1
    assert names("zanzibr") == []
    assert refresh_vocabulary() == 0  # idempotent


@pytest.mark.django_db
def test_the_hourly_job_refreshes(make_event):
    event = make_event(name="Ceilidh Night")
    event.status = Event.Status.CANCELLED
    event.save()
    index_event(event=event)

    refresh_vocabulary_hourly.call_local()

    assert not SearchTerm.objects.filter(word="ceilidh").exists()


@pytest.mark.django_db(transaction=True)
def test_the_refresh_keeps_a_word_an_event_is_being_indexed_with():
    """An event indexed with a word the vocabulary already holds (stale: no committed event
    has it) does not insert it again; the refresh must not drop it meanwhile. It waits for
    the indexing transaction, then finds the word in its document."""
    stale = EventFactory(name="Xylophone Recital")
    index_event(event=stale)
    stale.name = "Cello Recital"
    stale.save()
    index_event(event=stale)
    indexing = EventFactory(name="Xylophone Matinee")
    indexed, commit = threading.Event(), threading.Event()
    refreshed: list[int] = []

    def index_and_wait():
        try:
            with transaction.atomic():
                index_event(event=indexing)
                indexed.set()
                commit.wait(10)
        finally:
            connection.close()

    def refresh():
        try:
            refreshed.append(refresh_vocabulary())
        finally:
            connection.close()

    indexer = threading.Thread(target=index_and_wait)
    indexer.start()
    assert indexed.wait(10)
    refresher = threading.Thread(target=refresh)
    refresher.start()
    refresher.join(0.5)
    waited = refresher.is_alive()
    commit.set()
    indexer.join(10)
    refresher.join(10)

    assert waited, "the refresh dropped words while an event was being indexed"
    assert refreshed == [0]
    assert SearchTerm.objects.filter(word="xylophone").exists()
    assert names("xylophne") == ["Xylophone Matinee"]
