"""What every e-mail the site sends has in common: a subject on one line, of bounded length,
and one rule for which delivery errors are worth another try.

A subject is a header: a line break in it (an event name stored before names were checked
at input, say) makes Python's e-mail package refuse the whole message, so nothing is sent,
and a lenient one would let the text after the break become a header of its own.
"""

import smtplib

from django.conf import settings

from tickethub.fields import is_control_character

# E-mail jobs retry transient errors after 30 s, 1, 2 and 4 minutes: past the few minutes
# a greylisting server asks for, and short enough that an offer's e-mail is still useful.
EMAIL_JOB_RETRIES = 4
EMAIL_JOB_RETRY_DELAY = 30
EMAIL_JOB_RETRY_BACKOFF = 2

# Long enough for any event name a person reads at a glance; the rest is in the e-mail.
SUBJECT_NAME_MAX_CHARS = 80


def one_line(text: str) -> str:
    """``text`` with each run of spaces, line breaks, control characters and bidirectional
    overrides replaced by a single space, stripped."""
    return " ".join("".join(" " if is_control_character(c) else c for c in text).split())


def shortened(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, an ellipsis marking the cut."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1].rstrip() + "…"


def email_subject(template: str, /, **names: object) -> str:
    """The site's subject prefix and ``template`` filled in with ``names`` (an event's name,
    …), each made one line and shortened, so the subject is one line of bounded length."""
    values = {
        key: shortened(one_line(str(value)), SUBJECT_NAME_MAX_CHARS) for key, value in names.items()
    }
    return one_line(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + template.format(**values))


def is_transient_delivery_error(error: BaseException) -> bool:
    """True for a delivery error that may pass if the e-mail is sent again later: the SMTP
    server unreachable, slow or gone mid-conversation, or answering 4xx ("try again later":
    greylisting, a full queue). A 5xx answer ("no such user", "rejected") and any other
    error (a header Python refuses, a bug) would only repeat."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(_is_transient_reply(code) for code in codes)
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return _is_transient_reply(error.smtp_code)
    if isinstance(error, smtplib.SMTPException):
        return False  # the server lacks something we need (SMTPNotSupportedError, …)
    # Refused or reset connections, timeouts, DNS failures (smtplib's errors are OSErrors
    # too, hence checked first).
    return isinstance(error, OSError)


def _is_transient_reply(code: int) -> bool:
    return 400 <= code < 500
