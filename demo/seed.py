"""Demo data for a fresh Ticket Hub: accounts, an upcoming catalogue with posters, and sales.

Everything goes through the same services the site uses (create_event, publish_event,
issue_tickets), so the demo obeys every catalogue rule and leaves the usual audit rows.
"""

import os
import random
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from demo.catalogue import DEMO_CATALOGUE, DemoEvent, DemoTicketType
from demo.posters import event_poster
from demo.stripe_accounts import onboard_demo_organiser
from events.models import Event, TicketType
from events.selectors import seller_can_take_payments
from events.services import EventDetails, TicketTypeSpec, create_event, publish_event
from tickets.services import issue_tickets
from waitlist.services import join_waiting_list

DEMO_SEED = 20_240_601
DEMO_EMAIL_DOMAIN = "demo.tickethub.test"
DEFAULT_DEMO_PASSWORD = "tickethub-demo"
# The most tickets one demo account holds for one event, as a real box office would allow.
MAX_TICKETS_PER_PERSON = 4


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    first_name: str
    last_name: str


ORGANISERS = (
    DemoAccount("organiser", f"organiser1@{DEMO_EMAIL_DOMAIN}", "Olivia", "Hart"),
    DemoAccount("organiser", f"organiser2@{DEMO_EMAIL_DOMAIN}", "Lukas", "Brandt"),
)
BUYER = DemoAccount("buyer", f"buyer@{DEMO_EMAIL_DOMAIN}", "Sam", "Carter")
ATTENDEE_NAMES = (
    ("Aisha", "Khan"), ("Ben", "Walsh"), ("Chloé", "Martin"), ("Dev", "Patel"),
    ("Ella", "Murphy"), ("Finn", "Schneider"), ("Grace", "Okoye"), ("Hugo", "Lefèvre"),
    ("Isla", "Campbell"), ("Jonas", "Becker"), ("Kemi", "Adeyemi"), ("Leo", "Rossi"),
    ("Maya", "Cohen"), ("Niamh", "O'Brien"), ("Oscar", "Lindqvist"), ("Priya", "Nair"),
    ("Rory", "MacLeod"), ("Sofia", "García"), ("Tom", "Evans"), ("Zoe", "Novak"),
)  # fmt: skip
ATTENDEES = tuple(
    DemoAccount("attendee", f"attendee{number:02d}@{DEMO_EMAIL_DOMAIN}", first, last)
    for number, (first, last) in enumerate(ATTENDEE_NAMES, start=1)
)


@dataclass(frozen=True)
class DemoLoadResult:
    """What seed_demo did; ``loaded`` is False when the demo was already there."""

    loaded: bool
    password: str = ""
    events_created: int = 0
    events_published: int = 0
    tickets_issued: int = 0


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def demo_data_loaded() -> bool:
    return User.objects.filter(email__iexact=ORGANISERS[0].email).exists()


def seed_demo(*, password: str, now: datetime | None = None) -> DemoLoadResult:
    """Load the demo accounts, the catalogue and its sales, once.

    Idempotent: when the first demo organiser exists, nothing is written. Runs in one
    transaction, so a failure leaves no half-loaded demo (poster files aside).
    """
    now = now or timezone.now()
    rng = random.Random(DEMO_SEED)
    with transaction.atomic():
        if demo_data_loaded():
            return DemoLoadResult(loaded=False)
        password_hash = make_password(password)  # hashed once: it is the slow part
        organisers = [_create_account(account, password_hash) for account in ORGANISERS]
        for organiser in organisers:
            # A call to the local simulator inside the seeding transaction: acceptable for
            # one-off demo data, and a failure leaves no half-loaded demo.
            onboard_demo_organiser(organiser)
        buyer = _create_account(BUYER, password_hash)
        attendees = [_create_account(account, password_hash) for account in ATTENDEES]
        events_published = tickets_issued = 0
        posters_drawn: Counter[str] = Counter()
        for listing in DEMO_CATALOGUE:
            organiser = organisers[listing.organiser - 1]
            event = _create_demo_event(
                listing, organiser=organiser, now=now, variant=posters_drawn[listing.category]
            )
            posters_drawn[listing.category] += 1
            if listing.draft:
                continue
            publish_event(event=event, actor=organiser)
            events_published += 1
            tickets_issued += _sell_demo_tickets(
                event, listing, buyer=buyer, attendees=attendees, rng=rng
            )
    return DemoLoadResult(
        loaded=True,
        password=password,
        events_created=len(DEMO_CATALOGUE),
        events_published=events_published,
        tickets_issued=tickets_issued,
    )


def _create_account(account: DemoAccount, password_hash: str) -> User:
    user = User.objects.create(
        username=account.email,
        email=account.email,
        first_name=account.first_name,
        last_name=account.last_name,
        password=password_hash,
    )
    # allauth signs in by e-mail only once the address is verified (ACCOUNT_EMAIL_VERIFICATION).
    EmailAddress.objects.create(user=user, email=account.email, verified=True, primary=True)
    return user


def _create_demo_event(
    listing: DemoEvent, *, organiser: User, now: datetime, variant: int
) -> Event:
    zone = zoneinfo.ZoneInfo(listing.city.timezone)
    local_day = now.astimezone(zone).date() + timedelta(days=listing.days_ahead)
    starts_at = datetime.combine(local_day, listing.starts, tzinfo=zone)
    details = EventDetails(
        name=listing.name,
        description=listing.description,
        venue_name=listing.venue_name,
        address=listing.address,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=listing.hours),
        timezone=listing.city.timezone,
        currency=listing.city.currency,
    )
    poster = event_poster(
        name=listing.name,
        category=listing.category,
        caption=f"{listing.venue_name} · {listing.city.name}",
        variant=variant,
        seed=f"{DEMO_SEED}:{listing.name}",
    )
    poster.name = f"{slugify(listing.name)[:60]}.jpg"
    ticket_types = [
        _ticket_type_spec(demo_type, starts_at=starts_at, now=now)
        for demo_type in listing.ticket_types
    ]
    return create_event(
        organiser=organiser, details=details, ticket_types=ticket_types, image=poster
    )


def _ticket_type_spec(
    demo_type: DemoTicketType, *, starts_at: datetime, now: datetime
) -> TicketTypeSpec:
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    sale_starts_at = sale_ends_at = None
    if demo_type.sale == "early_bird":
        sale_starts_at = this_hour - timedelta(days=14)
        sale_ends_at = min(this_hour + timedelta(days=21), starts_at - timedelta(days=7))
    elif demo_type.sale == "later":
        sale_starts_at = this_hour + timedelta(days=10)
    return TicketTypeSpec(
        name=demo_type.name,
        price_minor=demo_type.price_minor,
        capacity=demo_type.capacity,
        sale_starts_at=sale_starts_at,
        sale_ends_at=sale_ends_at,
    )


def _sell_demo_tickets(
    event: Event,
    listing: DemoEvent,
    *,
    buyer: User,
    attendees: list[User],
    rng: random.Random,
) -> int:
    """Issue each type's ``sold`` tickets, in orders of one to four, to the buyer and attendees."""
    allowance = Counter({user.pk: MAX_TICKETS_PER_PERSON for user in [buyer, *attendees]})
    ticket_types = {ticket_type.name: ticket_type for ticket_type in event.ticket_types.all()}
    issued = 0
    for demo_type in listing.ticket_types:
        ticket_type = ticket_types[demo_type.name]
        orders = _demo_orders(
            demo_type, buyer=buyer, attendees=attendees, allowance=allowance, rng=rng
        )
        for owner, quantity in orders:
            issue_tickets(
                owner=owner,
                ticket_type=ticket_type,
                quantity=quantity,
                amount_minor_each=ticket_type.price_minor,
            )
            issued += quantity
        _queue_demo_attendees(demo_type, ticket_type, attendees=attendees, rng=rng)
    return issued


def _queue_demo_attendees(
    demo_type: DemoTicketType,
    ticket_type: TicketType,
    *,
    attendees: list[User],
    rng: random.Random,
) -> None:
    """Put ``queued`` attendees without tickets of this type in its waiting list."""
    if ticket_type.price_minor and not seller_can_take_payments(
        organiser_id=ticket_type.event.organiser_id
    ):
        return  # real Stripe keys: demo organisers cannot take payments, so no queue
    holders = set(ticket_type.tickets.values_list("owner_id", flat=True))
    waiting = [attendee for attendee in attendees if attendee.pk not in holders]
    for attendee in waiting[: demo_type.queued]:
        join_waiting_list(user=attendee, ticket_type_id=ticket_type.pk, quantity=rng.randint(1, 2))


def _demo_orders(
    demo_type: DemoTicketType,
    *,
    buyer: User,
    attendees: list[User],
    allowance: Counter[int],
    rng: random.Random,
) -> list[tuple[User, int]]:
    """Split a type's demo sales into orders, never past anyone's per-event allowance."""
    orders: list[tuple[User, int]] = []
    if demo_type.buyer_holds:
        if demo_type.buyer_holds > allowance[buyer.pk]:
            raise ValueError(f"The demo buyer cannot hold {demo_type.buyer_holds} more tickets.")
        orders.append((buyer, demo_type.buyer_holds))
        allowance[buyer.pk] -= demo_type.buyer_holds
    unsold = demo_type.sold - demo_type.buyer_holds
    queue = rng.sample(attendees, k=len(attendees))
    while unsold > 0:
        buying = [attendee for attendee in queue if allowance[attendee.pk] > 0]
        if not buying:
            raise ValueError(f"Too few demo attendees to sell {demo_type.sold} × {demo_type.name}.")
        for attendee in buying:
            wanted = rng.choice((1, 2, 2, 3, 4, 4))
            quantity = min(wanted, allowance[attendee.pk], unsold)
            orders.append((attendee, quantity))
            allowance[attendee.pk] -= quantity
            unsold -= quantity
            if unsold == 0:
                break
    return orders
