from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self):
        from events.images import limit_image_decoding_memory

        limit_image_decoding_memory()
