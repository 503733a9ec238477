from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"

    def ready(self) -> None:
        from events.hooks import event_changed
        from search.listeners import reindex_event

        event_changed.connect(reindex_event)
