"""ASGI entry point, served by uvicorn (``uvicorn tickethub.asgi:application``).

Live-update streams (/live/events) are answered by a plain ASGI route before Django, so an
open stream holds no thread and no database connection (see waitlist/live.py); every other
request goes to Django, at most MAX_CONCURRENT_REQUESTS at once (tickethub/overload.py), so
a crowd queues for the process's database connections instead of exhausting them. Open
streams do not count towards that limit.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickethub.settings")

django_application = get_asgi_application()

from tickethub.overload import RequestLimit  # noqa: E402  (needs Django set up first)
from waitlist.live import live_events_app  # noqa: E402

limited_django_application = RequestLimit(django_application)

LIVE_EVENTS_PATH = "/live/events"


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == LIVE_EVENTS_PATH:
        await live_events_app(scope, receive, send)
    else:
        await limited_django_application(scope, receive, send)
