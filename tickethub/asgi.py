"""ASGI entry point, served by uvicorn (``uvicorn tickethub.asgi:application``).

Live-update streams (/live/events) are answered by a plain ASGI route before Django, so an
open stream holds no thread and no database connection (see waitlist/live.py); every other
request goes to Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickethub.settings")

django_application = get_asgi_application()

from waitlist.live import live_events_app  # noqa: E402  (needs Django set up first)

LIVE_EVENTS_PATH = "/live/events"


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == LIVE_EVENTS_PATH:
        await live_events_app(scope, receive, send)
    else:
        await django_application(scope, receive, send)
