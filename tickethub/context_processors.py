from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {"TEST_MODE": settings.TEST_MODE, "SITE_URL": settings.SITE_URL}
