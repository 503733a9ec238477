"""Domain errors: services raise these; DomainErrorMiddleware turns them into responses."""


class DomainError(Exception):
    """A business rule refused the request. ``status`` is the HTTP status to answer with."""

    status = 400
    # Seconds after which a retry may succeed, sent as Retry-After (429 and 503 answers).
    retry_after_seconds: int | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    """No such object for this user (another owner's id included): answered as a 404, so
    nobody learns whether someone else's object exists."""

    status = 404


class Busy(DomainError):
    """A lock could not be taken in time; nothing was changed and a retry may succeed."""

    status = 503

    def __init__(self, message: str, *, retry_after_seconds: int = 5):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
