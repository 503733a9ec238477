import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from events.models import TicketType
from tests.factories import EventFactory, TicketTypeFactory
from tickets.models import Ticket
from waitlist import services
from waitlist.models import WaitingListEntry

pytestmark = pytest.mark.django_db(transaction=True)
Status = WaitingListEntry.Status


def post_join(client, ticket_type, quantity="1"):
    return client.post(
        reverse("waitlist_join"), {"ticket_type_id": str(ticket_type.pk), "quantity": quantity}
    )


def test_anonymous_visitors_are_asked_to_sign_in_to_join(client, paid_type):
    response = post_join(client, paid_type)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    page = client.get(reverse("event_detail", args=[paid_type.event_id])).content.decode()
    assert "Sign in to get tickets" in page
    assert not WaitingListEntry.objects.exists()


def test_joining_from_the_event_page_shows_the_offer_and_its_countdown(client, buyer, paid_type):
    client.force_login(buyer)
    response = post_join(client, paid_type, quantity="2")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "2 tickets held for you" in page
    assert "data-expires-at" in page
    assert "Decline" in page


def test_a_waiting_buyer_sees_their_position_on_the_event_page_and_my_queue(
    client, buyers, paid_type
):
    services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=4)
    services.join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=2)
    client.force_login(buyers[2])
    post_join(client, paid_type, quantity="1")

    event_page = client.get(reverse("event_detail", args=[paid_type.event_id])).content.decode()
    my_queue = client.get(reverse("my_queue")).content.decode()

    assert "1 person ahead of you" in event_page and "(2 tickets)" in event_page
    assert "2 people in the queue" in event_page
    assert "1 person ahead of you (2 tickets)" in my_queue


def test_claiming_a_free_offer_issues_tickets(client, buyer, free_type):
    client.force_login(buyer)
    post_join(client, free_type, quantity="2")
    entry = WaitingListEntry.objects.get()
    response = client.post(reverse("waitlist_accept", args=[entry.pk]))
    assert response.status_code == 302
    assert Ticket.objects.filter(owner=buyer).count() == 2


def test_the_fourth_join_in_half_an_hour_is_429_and_creates_nothing(client, buyer, organiser):
    types = [
        TicketTypeFactory(event=EventFactory(organiser=organiser, ticket_types=[]))
        for _ in range(4)
    ]
    client.force_login(buyer)
    for ticket_type in types[:3]:
        assert post_join(client, ticket_type).status_code == 302
    response = post_join(client, types[3])
    assert response.status_code == 429
    assert (
        "You&#x27;ve joined waiting lists too often. Please wait 30 minutes before trying again."
        in response.content.decode()
    )
    assert WaitingListEntry.objects.count() == 3


def test_a_refused_join_says_in_retry_after_when_the_oldest_join_leaves_the_window(
    client, buyer, organiser, time_machine
):
    types = [
        TicketTypeFactory(event=EventFactory(organiser=organiser, ticket_types=[]))
        for _ in range(4)
    ]
    client.force_login(buyer)
    started = timezone.now()
    for minutes, ticket_type in zip((0, 10, 20), types[:3], strict=True):
        time_machine.move_to(started + timedelta(minutes=minutes), tick=False)
        assert post_join(client, ticket_type).status_code == 302

    time_machine.move_to(started + timedelta(minutes=25), tick=False)
    page = post_join(client, types[3])
    fragment = client.post(
        reverse("waitlist_join"),
        {"ticket_type_id": str(types[3].pk), "quantity": "1"},
        headers={"HX-Request": "true"},
    )

    # The first join (at 0) leaves the 30-minute window at 30: five minutes from now.
    assert page.status_code == fragment.status_code == 429
    assert page["Retry-After"] == fragment["Retry-After"] == str(5 * 60)


@pytest.mark.postgres_only  # row locks with a lock timeout
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_join_that_cannot_lock_its_ticket_type_is_503_with_retry_after(
    client, buyer, paid_type, settings, htmx
):
    settings.LOCK_TIMEOUT_MS = 200
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with transaction.atomic():
            TicketType.objects.select_for_update().get(pk=paid_type.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        client.force_login(buyer)
        response = client.post(
            reverse("waitlist_join"),
            {"ticket_type_id": str(paid_type.pk), "quantity": "1"},
            headers={"HX-Request": "true"} if htmx else {},
        )
    finally:
        release.set()
        holder.join()

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "busy right now" in response.content.decode()
    assert not WaitingListEntry.objects.exists()


@pytest.mark.parametrize(
    ("quantity", "status", "message"),
    [
        ("0", 400, "Choose at least one ticket"),
        ("5", 400, "Choose between 1 and 4 tickets"),
        ("many", 400, "Enter a whole number"),
        ("", 400, "This field is required"),
    ],
)
def test_bad_join_input_is_refused(client, buyer, paid_type, quantity, status, message):
    client.force_login(buyer)
    response = post_join(client, paid_type, quantity=quantity)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not WaitingListEntry.objects.exists()


def test_unknown_or_unpublished_ticket_types_are_404(client, buyer):
    client.force_login(buyer)
    draft = TicketTypeFactory(event=EventFactory(status="draft", ticket_types=[]))
    assert (
        client.post(
            reverse("waitlist_join"), {"ticket_type_id": "999999", "quantity": "1"}
        ).status_code
        == 404
    )
    assert post_join(client, draft).status_code == 404
    assert not WaitingListEntry.objects.exists()


def test_someone_else_s_entry_is_404_for_every_action(client, buyers, free_type):
    entry = services.join_waiting_list(
        user=buyers[0], ticket_type_id=free_type.pk, quantity=1
    ).entry
    client.force_login(buyers[1])
    for name in ("waitlist_accept", "waitlist_decline", "waitlist_leave"):
        assert client.post(reverse(name, args=[entry.pk])).status_code == 404
    entry.refresh_from_db()
    assert entry.status == Status.OFFERED


def test_accepting_after_expiry_is_410(client, buyer, free_type):
    entry = services.join_waiting_list(user=buyer, ticket_type_id=free_type.pk, quantity=1).entry
    client.force_login(buyer)
    with time_machine.travel(entry.expires_at + timedelta(seconds=1)):
        response = client.post(reverse("waitlist_accept", args=[entry.pk]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Ticket.objects.exists()


def test_actions_need_post(client, buyer, free_type):
    entry = services.join_waiting_list(user=buyer, ticket_type_id=free_type.pk, quantity=1).entry
    client.force_login(buyer)
    assert client.get(reverse("waitlist_join")).status_code == 405
    assert client.get(reverse("waitlist_accept", args=[entry.pk])).status_code == 405


def test_the_organiser_sees_queue_figures_and_others_get_404(client, organiser, buyers, paid_type):
    services.join_waiting_list(user=buyers[0], ticket_type_id=paid_type.pk, quantity=4)
    services.join_waiting_list(user=buyers[1], ticket_type_id=paid_type.pk, quantity=1)
    url = reverse("organiser_queue", args=[paid_type.event_id])
    client.force_login(buyers[0])
    assert client.get(url).status_code == 404
    client.force_login(organiser)
    figures = client.get(url).context["figures"]
    assert (figures[0].waiting_entries, figures[0].live_offers, figures[0].held_tickets) == (
        1,
        1,
        4,
    )


def test_the_ticket_panel_polls_without_a_full_page(client, buyer, paid_type):
    client.force_login(buyer)
    response = client.get(reverse("ticket_panel", args=[paid_type.event_id]))
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="ticket-panel"' in response.content


@pytest.mark.parametrize(
    ("ticket_type_id", "quantity"),
    [
        ("99999999999999999999", "1"),
        ("-1", "1"),
        ("0", "1"),
        ("١", "1"),
        ("{pk}", "99999999999999999999"),
        ("{pk}", "1_0"),
        ("{pk}", "٢"),
        ("{pk}", "1e1"),
    ],
)
def test_out_of_range_or_non_ascii_numbers_in_a_join_are_refused_with_400(
    client, buyer, paid_type, ticket_type_id, quantity
):
    client.force_login(buyer)
    response = client.post(
        reverse("waitlist_join"),
        {"ticket_type_id": ticket_type_id.format(pk=paid_type.pk), "quantity": quantity},
    )
    assert response.status_code == 400
    assert "Please check your request" in response.content.decode()
    assert not WaitingListEntry.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/events/99999999999999999999/",
        "/events/9223372036854775808/tickets/",
        "/organiser/events/99999999999999999999/edit/",
        "/waitlist/entries/99999999999999999999/accept/",
        "/offers/99999999999999999999/checkout/",
    ],
)
def test_ids_past_the_database_s_range_in_a_url_are_not_found(client, buyer, path):
    client.force_login(buyer)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
