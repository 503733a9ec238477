"""Domain errors: services raise these; DomainErrorMiddleware turns them into responses."""


class DomainError(Exception):
    """A business rule refused the request. ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    status = 403


class Busy(DomainError):
    """A lock could not be taken in time; nothing was changed and a retry may succeed."""

    status = 503
