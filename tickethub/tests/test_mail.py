import smtplib

import pytest

from tickethub.mail import SUBJECT_NAME_MAX_CHARS, email_subject, is_transient_delivery_error


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


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPConnectError(421, b"too busy"), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (smtplib.SMTPDataError(452, b"mailbox full, try later"), True),
        (smtplib.SMTPSenderRefused(451, b"local error", "tickets@localhost"), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"greylisted")}), True),
        (smtplib.SMTPDataError(554, b"rejected as spam"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (
            smtplib.SMTPRecipientsRefused(
                {"a@example.com": (450, b"greylisted"), "b@example.com": (550, b"no such user")}
            ),
            False,
        ),
        (smtplib.SMTPNotSupportedError("no STARTTLS"), False),
        (ValueError("Header values may not contain linefeed"), False),
        (LookupError(), False),
    ],
)
def test_only_delivery_errors_that_may_pass_are_transient(error, transient):
    assert is_transient_delivery_error(error) is transient
