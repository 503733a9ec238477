from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path, register_converter
from django.views.static import serve

from tickethub.fields import IdConverter

# A database that refused a connection is answered 503 + Retry-After, anything else 500.
handler500 = "tickethub.overload.server_error"

# Before the apps' URLconfs load: they use <id:…> for every stored object's id.
register_converter(IdConverter, "id")


def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    # MEDIA_ROOT is read per request (not when the URLconf loads) so it follows settings.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


# allauth renders its rate-limit refusals through this (with Retry-After).
handler429 = "accounts.views.rate_limited"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("events.urls")),
    path("", include("waitlist.urls")),
    path("", include("payments.urls")),
    path("", include("search.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve_media)]
