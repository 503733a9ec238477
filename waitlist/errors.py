"""The waiting list's refusals (DomainErrors: DomainErrorMiddleware answers them)."""

from tickethub.errors import DomainError


class WaitlistError(DomainError):
    """A waiting-list rule refused the request."""

    status = 409


class OfferNoLongerLive(WaitlistError):
    """The offer was taken, declined or expired before this request could act on it."""


class OfferExpired(OfferNoLongerLive):
    status = 410
