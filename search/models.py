"""The search index: one document per published event, and the words the index knows.

Only portable columns are declared here. The text itself lives beside these rows in
database-specific structures created by the migrations (PostgreSQL: tsvector columns with
GIN indexes and a trigram index on the words; SQLite: FTS5 tables), written by the
backends in ``search/backends/``.
"""

from django.db import models

from events.models import Event


class EventDocument(models.Model):
    """A published event as the index holds it. Drafts and cancelled events have none."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # When the event is over, in minutes, with the event id in the low bits (search.ordering):
    # one unique integer that orders results soonest first and splits upcoming from past.
    # SQLite's FTS5 rows use it as their rowid so the full-text index returns them in order.
    sort_key = models.BigIntegerField(unique=True)
    starts_at = models.DateTimeField()
    over_at = models.DateTimeField(help_text="ends_at, or starts_at when the event has no end.")

    def __str__(self) -> str:
        return f"search document of event {self.event_id}"


class SearchTerm(models.Model):
    """A word that occurs (or occurred) in an indexed event, folded as the index folds it.

    Typo tolerance looks words up here by trigram similarity: the vocabulary is far smaller
    than the documents, so a misspelt word is corrected against it and the corrected words
    are then matched by the full-text index. A prefix being typed is expanded here to the
    words it starts, most frequent first. Indexing adds words; the hourly refresh
    (search.services.refresh_vocabulary) counts them and drops those no event has any more.
    """

    word = models.CharField(max_length=64, unique=True)
    documents = models.PositiveIntegerField(
        null=True, help_text="Indexed events containing the word at the last refresh; null: new."
    )

    def __str__(self) -> str:
        return self.word
