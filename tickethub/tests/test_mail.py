import pytest

from tickethub.mail import SUBJECT_NAME_MAX_CHARS, email_subject


@pytest.mark.parametrize(
    "name",
    [
        "tickets\r\nBcc: x@example.com",
        "tickets\nBcc: x@example.com",
        "tickets\rBcc: x@example.com",
        "tickets\x00\x0bBcc: x@example.com",
        "tickets\u2028Bcc: x@example.com",
        "tickets\x85Bcc: x@example.com",
        "tickets\u202e\u2066Bcc: x@example.com",
    ],
)
def test_a_subject_is_one_line_whatever_the_name_holds(name):
    assert email_subject("Your tickets for {event}", event=name) == (
        "[Ticket Hub] Your tickets for tickets Bcc: x@example.com"
    )


def test_a_long_name_is_shortened_in_the_subject():
    subject = email_subject("Your tickets for {event}", event="Night " * 100)
    name = subject.removeprefix("[Ticket Hub] Your tickets for ")
    assert len(name) <= SUBJECT_NAME_MAX_CHARS
    assert name.endswith("…")
