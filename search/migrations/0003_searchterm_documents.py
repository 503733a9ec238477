from django.db import migrations, models

# SQLite: the trigram index of the vocabulary as fts5vocab tables, so a misspelt word's
# candidates are found from its rarest trigrams and counted without ranking every word that
# shares a common one (search/backends/sqlite.py).
SQLITE = (
    "CREATE VIRTUAL TABLE search_term_trigram_rows USING fts5vocab(search_term_trigrams, 'row')",
    "CREATE VIRTUAL TABLE search_term_trigram_instances"
    " USING fts5vocab(search_term_trigrams, 'instance')",
)
SQLITE_REVERSE = (
    "DROP TABLE IF EXISTS search_term_trigram_instances",
    "DROP TABLE IF EXISTS search_term_trigram_rows",
)


def _run_on(vendor, statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == vendor:
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_index_existing_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchterm",
            name="documents",
            field=models.PositiveIntegerField(
                help_text="Indexed events containing the word at the last refresh; null: new.",
                null=True,
            ),
        ),
        migrations.RunPython(_run_on("sqlite", SQLITE), _run_on("sqlite", SQLITE_REVERSE)),
    ]
