import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from events.models import Event, TicketType
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db


def future(days=30) -> str:
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def event_post(**overrides) -> dict:
    data = {
        "name": "Spring Gala",
        "description": "Dinner\nand dancing",
        "venue_name": "Assembly Rooms",
        "address": "54 George Street, Edinburgh",
        "timezone": "Europe/London",
        "starts_at": future(),
        "ends_at": "",
        "currency": "GBP",
        "offer_window_minutes": "30",
        "types-TOTAL_FORMS": "2",
        "types-INITIAL_FORMS": "0",
        "types-MIN_NUM_FORMS": "1",
        "types-MAX_NUM_FORMS": "20",
        "types-0-name": "Standard",
        "types-0-price": "25.00",
        "types-0-capacity": "100",
        "types-0-max_per_entry": "4",
        "types-0-max_per_buyer": "4",
        "types-1-name": "VIP",
        "types-1-price": "80.50",
        "types-1-capacity": "10",
        "types-1-max_per_entry": "2",
        "types-1-max_per_buyer": "6",
    }
    data.update(overrides)
    return data


def edit_post(event: Event, **overrides) -> dict:
    ticket_types = list(event.ticket_types.all())
    data = event_post(
        name=event.name,
        starts_at=timezone.localtime(event.starts_at).strftime("%Y-%m-%dT%H:%M"),
        **{
            "types-TOTAL_FORMS": str(len(ticket_types)),
            "types-INITIAL_FORMS": str(len(ticket_types)),
        },
    )
    for key in [k for k in data if k.startswith("types-1-")]:
        del data[key]
    for index, ticket_type in enumerate(ticket_types):
        data[f"types-{index}-ticket_type_id"] = str(ticket_type.pk)
        data[f"types-{index}-name"] = ticket_type.name
        data[f"types-{index}-price"] = str(ticket_type.price_minor / 100)
        data[f"types-{index}-capacity"] = str(ticket_type.capacity)
        data[f"types-{index}-max_per_entry"] = str(ticket_type.max_per_entry)
        data[f"types-{index}-max_per_buyer"] = str(ticket_type.max_per_buyer)
    data.update(overrides)
    return data


def png_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- public pages -------------------------------------------------------------------------


def test_home_lists_upcoming_published_events_soonest_first(client, organiser):
    later = EventFactory(
        organiser=organiser, name="Later", starts_at=timezone.now() + timedelta(days=9)
    )
    sooner = EventFactory(
        organiser=organiser, name="Sooner", starts_at=timezone.now() + timedelta(days=2)
    )
    EventFactory(organiser=organiser, name="Draft", status=Event.Status.DRAFT)
    EventFactory(organiser=organiser, name="Cancelled", status=Event.Status.CANCELLED)
    EventFactory(organiser=organiser, name="Past", starts_at=timezone.now() - timedelta(days=1))

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [sooner, later]


def test_home_pages_through_events_and_refuses_bad_pages(client, organiser, settings):
    settings.EVENTS_PER_PAGE = 2
    for day in range(5):
        EventFactory(organiser=organiser, starts_at=timezone.now() + timedelta(days=day + 1))
    assert len(client.get("/?page=3").context["page"].object_list) == 1
    assert client.get("/?page=4").status_code == 404
    assert client.get("/?page=abc").status_code == 404
    assert client.get("/?page=-1").status_code == 404


def test_home_page_query_count_does_not_grow_with_events(
    client, organiser, django_assert_max_num_queries
):
    for day in range(10):
        EventFactory(organiser=organiser, starts_at=timezone.now() + timedelta(days=day + 1))
    with django_assert_max_num_queries(4):
        client.get("/")


def test_event_page_shows_ticket_types_and_availability(client, organiser, buyer):
    from tickets.services import issue_tickets

    event = EventFactory(organiser=organiser, ticket_types=[])
    TicketTypeFactory(event=event, name="Standing", price_minor=1250, capacity=5)
    full = TicketTypeFactory(event=event, name="Free talk", price_minor=0, capacity=1)
    issue_tickets(owner=buyer, ticket_type=full, quantity=1, amount_minor_each=0)

    response = client.get(reverse("event_detail", args=[event.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "£12.50" in content and "Available" in content
    assert "Free" in content and "Sold out" in content


def test_description_is_escaped_plain_text(client, organiser):
    event = EventFactory(organiser=organiser, description="<script>alert(1)</script>\nSecond line")
    content = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;" in content


@pytest.mark.parametrize("status", [Event.Status.DRAFT])
def test_drafts_are_hidden_from_everyone_but_their_organiser(client, organiser, buyer, status):
    event = EventFactory(organiser=organiser, status=status)
    url = reverse("event_detail", args=[event.pk])
    assert client.get(url).status_code == 404
    client.force_login(buyer)
    assert client.get(url).status_code == 404
    client.force_login(organiser)
    assert client.get(url).status_code == 200


def test_unknown_and_absurd_event_ids_are_404(client):
    assert client.get("/events/999999/").status_code == 404
    assert client.get("/events/99999999999999999999999/").status_code == 404
    assert client.get("/events/abc/").status_code == 404


# --- permissions matrix over every organiser URL --------------------------------------------

ORGANISER_URLS = [
    ("GET", "event_edit"),
    ("POST", "event_edit"),
    ("POST", "event_publish"),
    ("POST", "event_unpublish"),
]


@pytest.fixture
def owned_event(organiser):
    return EventFactory(organiser=organiser, status=Event.Status.DRAFT)


@pytest.mark.parametrize(("method", "url_name"), ORGANISER_URLS)
def test_anonymous_visitors_are_sent_to_sign_in(client, owned_event, method, url_name):
    url = reverse(url_name, args=[owned_event.pk])
    response = client.generic(method, url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", ["buyer", "other_organiser", "staff"])
@pytest.mark.parametrize(("method", "url_name"), ORGANISER_URLS)
def test_nobody_but_the_owner_reaches_an_event_s_organiser_urls(
    client, owned_event, request, role, method, url_name
):
    client.force_login(request.getfixturevalue(role))
    url = reverse(url_name, args=[owned_event.pk])
    data = edit_post(owned_event, name="Hijacked") if method == "POST" else None

    response = client.post(url, data) if method == "POST" else client.get(url)

    assert response.status_code == 404
    owned_event.refresh_from_db()
    assert owned_event.name != "Hijacked"
    assert owned_event.status == Event.Status.DRAFT


def test_owner_can_edit_publish_and_unpublish(client, organiser, owned_event):
    client.force_login(organiser)
    assert client.get(reverse("event_edit", args=[owned_event.pk])).status_code == 200

    response = client.post(
        reverse("event_edit", args=[owned_event.pk]), edit_post(owned_event, name="Renamed")
    )
    assert response.status_code == 302
    owned_event.refresh_from_db()
    assert owned_event.name == "Renamed"

    client.post(reverse("event_publish", args=[owned_event.pk]))
    owned_event.refresh_from_db()
    assert owned_event.status == Event.Status.PUBLISHED
    client.post(reverse("event_unpublish", args=[owned_event.pk]))
    owned_event.refresh_from_db()
    assert owned_event.status == Event.Status.DRAFT


def test_unpublishing_an_event_with_sold_tickets_says_to_cancel_it_instead(
    client, organiser, owned_event
):
    from tickets.services import issue_tickets

    client.force_login(organiser)
    client.post(reverse("event_publish", args=[owned_event.pk]))
    issue_tickets(
        owner=UserFactory(),
        ticket_type=owned_event.ticket_types.first(),
        quantity=1,
        amount_minor_each=0,
    )

    response = client.post(reverse("event_unpublish", args=[owned_event.pk]), follow=True)

    assert "Cancel the event instead: 1 ticket is sold or on offer" in response.content.decode()
    owned_event.refresh_from_db()
    assert owned_event.status == Event.Status.PUBLISHED


def test_staff_edit_events_through_the_admin(client, staff, owned_event):
    client.force_login(staff)
    response = client.get(reverse("admin:events_event_change", args=[owned_event.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("url_name", ["event_publish", "event_unpublish"])
def test_state_changes_need_post(client, organiser, owned_event, url_name):
    client.force_login(organiser)
    assert client.get(reverse(url_name, args=[owned_event.pk])).status_code == 405


def test_my_events_lists_only_my_own(client, organiser, other_organiser, owned_event):
    client.force_login(other_organiser)
    response = client.get(reverse("my_events"))
    assert response.status_code == 200
    assert owned_event not in response.context["events"]
    assert all(event.organiser == other_organiser for event in response.context["events"])


# --- creating events and bad input ----------------------------------------------------------


def test_create_event_with_two_ticket_types_and_an_image(client, organiser):
    client.force_login(organiser)
    data = event_post(image=io.BytesIO(png_bytes()))
    data["image"].name = "poster.png"

    response = client.post(reverse("event_create"), data)

    event = Event.objects.get()
    assert response.status_code == 302
    assert event.organiser == organiser
    assert event.status == Event.Status.DRAFT
    assert event.starts_at.tzinfo is not None
    assert [
        (t.name, t.price_minor, t.capacity, t.max_per_entry, t.max_per_buyer)
        for t in event.ticket_types.all()
    ] == [("Standard", 2500, 100, 4, 4), ("VIP", 8050, 10, 2, 6)]
    assert event.offer_window_minutes == 30
    assert event.image.name.endswith(".jpg")


def test_times_are_read_in_the_event_s_time_zone(client, organiser):
    client.force_login(organiser)
    client.post(
        reverse("event_create"),
        event_post(timezone="America/New_York", starts_at="2030-07-01T19:30"),
    )
    event = Event.objects.get()
    assert event.starts_at.astimezone(event.zone).strftime("%Y-%m-%d %H:%M") == "2030-07-01 19:30"
    assert event.starts_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"starts_at": future(days=-30)}, "must start in the future"),
        ({"starts_at": "2001-01-01T10:00"}, "Pick a date between"),
        ({"starts_at": "9999-12-31T23:00", "timezone": "America/New_York"}, "Pick a date between"),
        ({"starts_at": "2300-01-01T10:00"}, "Pick a date between"),
        (
            {"starts_at": "0001-01-01T00:00", "timezone": "Pacific/Kiritimati"},
            "Pick a date between",
        ),
        ({"starts_at": "٢٠٣٠-٠١-٠١T10:00"}, "Enter a valid date/time"),
        ({"starts_at": "not a date"}, "Enter a valid date/time"),
        ({"types-0-price": "-5"}, "greater than or equal to 0"),
        ({"types-0-price": "ten"}, "Enter an amount such as 12.50"),
        ({"types-0-price": "1_000"}, "Enter an amount such as 12.50"),
        ({"types-0-price": "١٢"}, "Enter an amount such as 12.50"),
        ({"types-0-price": "1e3"}, "Enter an amount such as 12.50"),
        ({"types-0-price": "NaN"}, "Enter an amount such as 12.50"),
        ({"types-0-price": "0.01"}, "Card payments in GBP start at £0.30"),
        ({"types-0-price": "0.29"}, "Card payments in GBP start at £0.30"),
        ({"currency": "JPY", "types-0-price": "1"}, "Card payments in JPY start at ¥50"),
        ({"currency": "EUR", "types-0-price": "0.49"}, "Card payments in EUR start at"),
        ({"types-0-price": "1.005"}, "decimal places"),
        ({"types-0-capacity": "0"}, "greater than or equal to 1"),
        ({"types-0-capacity": "-3"}, "greater than or equal to 1"),
        ({"types-0-capacity": "lots"}, "Enter a whole number"),
        ({"types-0-capacity": "1_000"}, "Enter a whole number"),
        ({"types-0-capacity": "١٠"}, "Enter a whole number"),
        ({"types-0-capacity": "99999999999999999999"}, "less than or equal to 1000000"),
        ({"types-0-capacity": "9" * 5000}, "less than or equal to 1000000"),
        ({"types-0-capacity": "-" + "9" * 5000}, "greater than or equal to 1"),
        ({"offer_window_minutes": "9" * 5000}, "less than or equal to"),
        ({"types-0-ticket_type_id": "9" * 5000}, "Reload the page and try again"),
        ({"types-0-ticket_type_id": "99999999999999999999"}, "Reload the page and try again"),
        ({"types-0-ticket_type_id": "-1"}, "Reload the page and try again"),
        ({"offer_window_minutes": "٣٠"}, "Enter a whole number"),
        ({"currency": "JPY", "types-0-price": "10.50"}, "JPY has no minor unit"),
        ({"currency": "XYZ"}, "Select a valid choice"),
        ({"timezone": "Nowhere/Land"}, "Select a valid choice"),
        ({"timezone": "localtime"}, "Select a valid choice"),
        ({"timezone": "Factory"}, "Select a valid choice"),
        ({"timezone": "EST5EDT"}, "Select a valid choice"),
        ({"timezone": "US/Eastern"}, "Select a valid choice"),
        ({"name": "\u200b\u200b\ufeff"}, "This field is required"),
        ({"name": "\u200b \u2060"}, "This field is required"),
        ({"name": "\u202e\u202e"}, "line breaks or control characters"),
        ({"name": "tickets\r\nBcc: x@example.com"}, "line breaks or control characters"),
        ({"venue_name": "Hall\x1b[31m"}, "line breaks or control characters"),
        ({"types-0-name": "VIP\u2028Row"}, "line breaks or control characters"),
        ({"description": "bell\x07"}, "Remove the control characters"),
        ({"name": ""}, "This field is required"),
        ({"starts_at": "2030-03-31T01:30"}, "does not exist in Europe/London"),
        ({"ends_at": future(days=-30)}, "must end after it starts"),
        ({"types-TOTAL_FORMS": "0"}, "at least one ticket type"),
        ({"types-TOTAL_FORMS": "abc"}, "at least one ticket type"),
        ({"types-TOTAL_FORMS": "21"}, "at most 20 ticket types"),
        ({"offer_window_minutes": "4"}, "greater than or equal to 5"),
        ({"offer_window_minutes": "1441"}, "less than or equal to 1440"),
        ({"types-0-max_per_entry": "5"}, "more than the limit per buyer"),
        ({"types-0-max_per_buyer": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_event_input_is_refused_with_a_message_and_changes_nothing(
    client, organiser, overrides, message
):
    client.force_login(organiser)
    response = client.post(reverse("event_create"), event_post(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Event.objects.exists()
    assert not TicketType.objects.exists()


def test_a_non_image_upload_is_refused(client, organiser):
    client.force_login(organiser)
    upload = io.BytesIO(b"%PDF-1.4 definitely not an image")
    upload.name = "poster.png"
    response = client.post(reverse("event_create"), event_post(image=upload))
    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()
    assert not Event.objects.exists()


def test_a_huge_body_is_refused_with_413(client, organiser, settings):
    client.force_login(organiser)
    settings.MAX_REQUEST_BYTES = 1024
    upload = io.BytesIO(b"x" * 4096)
    upload.name = "huge.png"
    response = client.post(reverse("event_create"), event_post(image=upload))
    assert response.status_code == 413
    assert not Event.objects.exists()


def test_lowering_capacity_below_sales_shows_the_reason(client, organiser, buyer):
    from tickets.services import issue_tickets

    event = EventFactory(organiser=organiser, ticket_types=[])
    ticket_type = TicketTypeFactory(event=event, capacity=10, price_minor=1000)
    issue_tickets(owner=buyer, ticket_type=ticket_type, quantity=3, amount_minor_each=1000)
    client.force_login(organiser)

    response = client.post(
        reverse("event_edit", args=[event.pk]), edit_post(event, **{"types-0-capacity": "2"})
    )

    assert response.status_code == 400
    assert "Cannot reduce capacity below 3: tickets sold or on offer." in response.content.decode()
    ticket_type.refresh_from_db()
    assert ticket_type.capacity == 10


def test_another_organiser_s_ticket_type_id_in_the_form_is_refused(
    client, organiser, other_organiser
):
    event = EventFactory(organiser=organiser)
    foreign = TicketType.objects.get(event__organiser=other_organiser)
    client.force_login(organiser)

    response = client.post(
        reverse("event_edit", args=[event.pk]),
        edit_post(event, **{"types-0-ticket_type_id": str(foreign.pk), "types-0-name": "Mine now"}),
    )

    assert response.status_code == 400
    foreign.refresh_from_db()
    assert foreign.name != "Mine now"


def test_publishing_an_event_that_is_over_is_refused_with_400(client, organiser):
    event = EventFactory(
        organiser=organiser,
        status=Event.Status.DRAFT,
        starts_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(organiser)
    response = client.post(reverse("event_publish", args=[event.pk]))
    assert response.status_code == 400
    assert "over" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_a_form_post_without_its_csrf_token_is_refused_with_403(organiser):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(organiser)
    response = csrf_client.post(reverse("event_create"), event_post())
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_every_page_says_test_mode_without_a_live_stripe_key(client):
    assert "TEST MODE" in client.get("/").content.decode()


def test_uploaded_images_are_served_back(client, organiser):
    client.force_login(organiser)
    data = event_post(image=io.BytesIO(png_bytes()))
    data["image"].name = "poster.png"
    client.post(reverse("event_create"), data)
    event = Event.objects.get()

    response = client.get(event.image.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # a JPEG
