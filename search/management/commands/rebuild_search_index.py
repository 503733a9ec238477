"""``manage.py rebuild_search_index``: refill the search index from the published events."""

import time

from django.core.management.base import BaseCommand

from search.services import rebuild_search_index


class Command(BaseCommand):
    help = (
        "Rebuild the search index from every published event, in one transaction (searches "
        "wait for it). The site keeps the index current by itself; use this after loading "
        "events by other means than the catalogue's services."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        indexed = rebuild_search_index()
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"Search index rebuilt: {indexed} events in {seconds:.1f} s.")
        )
