"""ASGI entry point, served by uvicorn (``uvicorn tickethub.asgi:application``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickethub.settings")

application = get_asgi_application()
