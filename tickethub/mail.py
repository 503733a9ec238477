"""What every e-mail the site sends has in common: a subject on one line, of bounded length.

A subject is a header: a line break in it (an event name stored before names were checked
at input, say) makes Python's e-mail package refuse the whole message, so nothing is sent,
and a lenient one would let the text after the break become a header of its own.
"""

from django.conf import settings

from tickethub.fields import is_control_character

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
