import io
from collections import Counter
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from audit.models import AuditLogEntry
from demo.seed import BUYER, ORGANISERS
from events.models import Event, TicketType
from events.selectors import event_availability, upcoming_public_events
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _stripe(stripe_sim):
    """The demo organisers are onboarded on the simulator, as under bin/start."""
    return stripe_sim


def run_seed_demo() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_lists_an_upcoming_catalogue_with_ticket_types():
    run_seed_demo()

    events = list(Event.objects.prefetch_related("ticket_types"))
    assert len(events) >= 28
    assert all(1 <= len(event.ticket_types.all()) <= 4 for event in events)
    assert all(event.image for event in events)
    published = {event for event in events if event.status == Event.Status.PUBLISHED}
    assert len(published) >= 25
    assert set(upcoming_public_events()) == published
    assert any(event.status == Event.Status.DRAFT for event in events)
    assert {"GBP", "EUR"} <= {event.currency for event in events}
    assert {"Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York"} <= {
        event.timezone for event in events
    }
    assert TicketType.objects.filter(price_minor=0).exists()
    assert TicketType.objects.filter(sale_ends_at__isnull=False).exists()


def test_seed_demo_leaves_one_type_with_two_places_and_one_event_sold_out():
    run_seed_demo()

    nearly_sold_out = [t for t in TicketType.objects.all() if t.remaining == 2]
    assert len(nearly_sold_out) == 1
    assert nearly_sold_out[0].tickets.count() == nearly_sold_out[0].capacity - 2
    assert nearly_sold_out[0].tickets.filter(owner__email=BUYER.email).exists()

    sold_out_events = [
        event
        for event in Event.objects.filter(status=Event.Status.PUBLISHED)
        if {a.state for a in event_availability(event=event)} == {"sold_out"}
    ]
    assert len(sold_out_events) == 1
    sold_out_type = sold_out_events[0].ticket_types.get()
    assert sold_out_type.tickets.count() == sold_out_type.capacity

    held_per_person_per_event = Counter(
        Ticket.objects.values_list("owner_id", "ticket_type__event_id")
    )
    assert max(held_per_person_per_event.values()) <= 4
    assert sum(TicketType.objects.values_list("sold_count", flat=True)) == Ticket.objects.count()


def test_demo_accounts_sign_in_with_verified_addresses_and_the_chosen_password(client, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-chosen-demo-password")

    output = run_seed_demo()

    assert "a-chosen-demo-password" in output
    for account in (*ORGANISERS, BUYER):
        assert account.email in output
        address = EmailAddress.objects.get(email=account.email)
        assert address.verified and address.primary
    response = client.post(
        reverse("account_login"),
        {"login": BUYER.email, "password": "a-chosen-demo-password"},
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == address.user_id


def test_seed_demo_a_second_time_changes_nothing(settings):
    run_seed_demo()
    models = (get_user_model(), EmailAddress, Event, TicketType, Ticket, AuditLogEntry)
    counts_before = {model: model.objects.count() for model in models}
    sold_before = dict(TicketType.objects.values_list("pk", "sold_count"))
    posters_before = sorted((settings.MEDIA_ROOT / "events").iterdir())

    output = run_seed_demo()

    assert output.strip() == "Demo data already loaded."
    assert {model: model.objects.count() for model in models} == counts_before
    assert dict(TicketType.objects.values_list("pk", "sold_count")) == sold_before
    assert sorted((settings.MEDIA_ROOT / "events").iterdir()) == posters_before


def test_demo_posters_are_valid_jpegs():
    run_seed_demo()

    for event in Event.objects.all():
        with event.image.open("rb") as stored, Image.open(stored) as poster:
            assert (poster.format, poster.size) == ("JPEG", (1280, 720))
            poster.verify()


@time_machine.travel(datetime(2031, 10, 20, 23, 30, tzinfo=UTC), tick=False)
def test_demo_events_are_upcoming_whenever_the_demo_is_loaded():
    run_seed_demo()

    first = Event.objects.order_by("starts_at").first()
    assert first.starts_at > datetime(2031, 10, 21, tzinfo=UTC)
    assert (
        upcoming_public_events().count()
        == Event.objects.filter(status=Event.Status.PUBLISHED).count()
    )


@pytest.mark.django_db
def test_the_sold_out_demo_event_has_a_waiting_list():
    from waitlist.models import QueueState, WaitingListEntry

    call_command("seed_demo", stdout=io.StringIO())
    state = QueueState.objects.get(ticket_type__event__name="Improv Jam: Totally Unscripted")
    assert state.waiting_entries == 5
    assert not WaitingListEntry.objects.filter(status="offered").exists()


def test_demo_organisers_can_take_card_payments_on_the_simulator(stripe_sim):
    from payments.models import ConnectedAccount

    run_seed_demo()

    accounts = ConnectedAccount.objects.filter(organiser__email__in=[o.email for o in ORGANISERS])
    assert accounts.count() == len(ORGANISERS)
    client = stripe_sim.client()
    for account in accounts:
        assert account.charges_enabled and account.payouts_enabled
        assert client.v1.accounts.retrieve(account.stripe_account_id).charges_enabled
