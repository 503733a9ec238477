"""Was: index the events published before search existed. Moved to 0004, after the last
change to the index's tables: the rebuild is the current code's SQL, which needs them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations: list = []
