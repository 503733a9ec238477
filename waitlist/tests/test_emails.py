"""The waiting list's e-mails, sent by the real job queue to Django's locmem outbox."""

import pytest
from django.core import mail

from tests.factories import EventFactory, TicketTypeFactory
from waitlist import services

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_an_event_named_with_a_line_break_still_gets_its_offer_e_mail(buyer, organiser, jobs):
    # Stored before names were checked at input: straight through the ORM.
    event = EventFactory(organiser=organiser, name="tickets\r\nBcc: x@example.com", ticket_types=[])
    ticket_type = TicketTypeFactory(event=event, price_minor=2500, capacity=4)
    services.join_waiting_list(user=buyer, ticket_type_id=ticket_type.pk, quantity=1)

    jobs.run_due()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@example.com"]
    assert message.bcc == []
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "tickets Bcc: x@example.com" in message.subject
    sent = message.message().as_bytes()
    headers = sent.split(b"\n\n", 1)[0].decode()
    assert "x@example.com" not in [line.split(":", 1)[0] for line in headers.splitlines()]
    assert not any(line.lower().startswith("bcc:") for line in headers.splitlines())
