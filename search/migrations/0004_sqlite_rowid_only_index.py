"""SQLite: the events' full-text tables keep rowids only (``detail = none``): no positions,
no column sizes, no prefix indexes; then every published event is indexed again (on both
databases).

Search asks FTS5 for exact terms only (the words a prefix starts are looked up in the
vocabulary, search/query.py), never for phrases, NEAR, column filters or prefixes, and
ranks by its own sort key and highlights in Python, so positions and column sizes (for
bm25) were never read. Without them the index at 10^6 events is 486 MiB instead of 1,405,
the rebuild and the vocabulary's recount are faster, and searches take as long.
"""

from django.db import migrations

_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2', detail = none, columnsize = 0"
SQLITE = (
    "DROP TRIGGER IF EXISTS search_eventdocument_delete",
    "DROP TABLE IF EXISTS search_fts_terms",
    "DROP TABLE IF EXISTS search_fts_place",
    "DROP TABLE IF EXISTS search_fts_name",
    "DROP TABLE IF EXISTS search_fts",
    f"CREATE VIRTUAL TABLE search_fts USING fts5(name, location, description, {_TOKENIZE})",
    "CREATE VIRTUAL TABLE search_fts_name USING fts5(name,"
    f" content = 'search_fts', content_rowid = 'rowid', {_TOKENIZE})",
    "CREATE VIRTUAL TABLE search_fts_place USING fts5(name, location,"
    f" content = 'search_fts', content_rowid = 'rowid', {_TOKENIZE})",
    "CREATE VIRTUAL TABLE search_fts_terms USING fts5vocab(search_fts, 'row')",
    "CREATE TRIGGER search_eventdocument_delete AFTER DELETE ON search_eventdocument BEGIN"
    " INSERT INTO search_fts_name (search_fts_name, rowid, name)"
    " SELECT 'delete', rowid, name FROM search_fts WHERE rowid = old.sort_key;"
    " INSERT INTO search_fts_place (search_fts_place, rowid, name, location)"
    " SELECT 'delete', rowid, name, location FROM search_fts WHERE rowid = old.sort_key;"
    " DELETE FROM search_fts WHERE rowid = old.sort_key; END",
)


def recreate_sqlite_tables(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def index_published_events(apps, schema_editor):
    # The rebuild is SQL over the tables as the migrations up to this one leave them; if a
    # later migration changes them, freeze that SQL here instead of calling current code.
    from search.services import rebuild_search_index

    Event = apps.get_model("events", "Event")
    if Event.objects.filter(status="published").exists():
        rebuild_search_index()


class Migration(migrations.Migration):
    dependencies = [("search", "0003_searchterm_documents")]

    operations = [
        # Not reversible: 0001's tables with positions would need the same rebuild.
        migrations.RunPython(recreate_sqlite_tables, migrations.RunPython.noop),
        migrations.RunPython(index_published_events, migrations.RunPython.noop),
    ]
