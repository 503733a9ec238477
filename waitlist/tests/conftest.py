import pytest

from tests.factories import EventFactory, TicketTypeFactory, UserFactory


@pytest.fixture
def event(organiser):
    return EventFactory(organiser=organiser, ticket_types=[])


@pytest.fixture
def free_type(event):
    return TicketTypeFactory(event=event, name="Free talk", price_minor=0, capacity=4)


@pytest.fixture
def paid_type(event):
    return TicketTypeFactory(event=event, name="Standard", price_minor=2500, capacity=4)


@pytest.fixture
def buyers(db):
    return [UserFactory(email=f"buyer{n}@example.com") for n in range(8)]


@pytest.fixture(scope="session")
def _smtp_sink_session():
    from tests.smtp import SmtpSink

    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(_smtp_sink_session, settings):
    """E-mail goes to a real SMTP server (tests.smtp.SmtpSink), emptied for each test."""
    _smtp_sink_session.reset()
    settings.MAILERS = {"default": _smtp_sink_session.mailer}
    yield _smtp_sink_session
    _smtp_sink_session.reset()
