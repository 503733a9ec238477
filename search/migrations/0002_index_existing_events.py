"""Index the events published before search existed (e.g. the demo data of a running site)."""

from django.db import migrations


def index_published_events(apps, schema_editor):
    # The rebuild is SQL over the tables as 0001 created them; if a later migration
    # changes them, freeze that SQL here instead of calling the current code.
    from search.services import rebuild_search_index

    Event = apps.get_model("events", "Event")
    if Event.objects.filter(status="published").exists():
        rebuild_search_index()


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(index_published_events, migrations.RunPython.noop)]
