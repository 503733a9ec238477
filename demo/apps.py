from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo site's accounts, catalogue and sales (``manage.py seed_demo``). It sits on top
    of every domain app and goes through their services, as a person would."""

    name = "demo"
