from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.defaults import page_not_found

from tickethub.errors import Busy, DomainError, NotFound
from tickethub.locks import busy_retry_after_seconds, is_busy_error

# Said when a write anywhere (not only a locked() block) could not get its lock in time.
BUSY_WRITE_MESSAGE = "Ticket Hub is busy right now. Please try again in a moment."


class RequestBodyLimitMiddleware:
    """Refuse oversized request bodies with 413 before anything reads them.

    Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams file uploads to
    disk whatever their size, so a huge upload would otherwise be read in full.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse("Invalid Content-Length.", status=400, content_type="text/plain")
        if declared_length > settings.MAX_REQUEST_BYTES:
            limit_mb = settings.MAX_REQUEST_BYTES // (1024 * 1024)
            body = render_to_string(
                "413.html",
                {"limit_mb": limit_mb, "image_limit_mb": settings.IMAGE_MAX_BYTES // (1024 * 1024)},
            )
            return HttpResponse(body, status=413)
        return self.get_response(request)


class DomainErrorMiddleware:
    """Turn a DomainError a service raised into a page with its message and HTTP status,
    in one place, so views stay thin and no business refusal becomes a 500. A lock wait
    that ran out or a deadlock escaping a view from any write (a BEGIN IMMEDIATE that timed
    out on SQLite, a lock timeout on PostgreSQL) is answered as Busy, 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_busy_error(exception):
            exception = Busy(BUSY_WRITE_MESSAGE, retry_after_seconds=busy_retry_after_seconds())
        if not isinstance(exception, DomainError):
            return None
        if isinstance(exception, NotFound) and not request.headers.get("HX-Request"):
            return page_not_found(request, Http404(exception.message))
        if request.headers.get("HX-Request"):
            response = HttpResponse(
                exception.message, status=exception.status, content_type="text/plain"
            )
        else:
            response = render(
                request,
                "error.html",
                {"message": exception.message, "status": exception.status},
                status=exception.status,
            )
        if exception.retry_after_seconds is not None:
            response["Retry-After"] = str(exception.retry_after_seconds)
        return response
