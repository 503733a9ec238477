"""A plain-Python model of the waiting list: what the engine should do, worked out without
it. The state machine in test_model_based.py checks the database against it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tickethub.errors import DomainError
from waitlist import selectors, services
from waitlist.models import WaitingListEntry

Status = WaitingListEntry.Status
OFFER_WINDOW_MINUTES = 30
OFFER_WINDOW = timedelta(minutes=OFFER_WINDOW_MINUTES)


# --- the model ------------------------------------------------------------------------------


@dataclass
class ModelEntry:
    pk: int
    user_pk: int
    type_pk: int
    quantity: int
    sequence: int
    status: str = Status.WAITING
    expires_at: datetime | None = None
    offered_price_minor: int | None = None
    paid_each_minor: int = 0


@dataclass
class ModelType:
    pk: int
    name: str
    capacity: int
    price_minor: int
    max_per_entry: int
    max_per_buyer: int
    last_sequence: int = 0
    entries: list[ModelEntry] = field(default_factory=list)  # in join order

    def with_status(self, status: str) -> list[ModelEntry]:
        return [entry for entry in self.entries if entry.status == status]

    @property
    def sold(self) -> int:
        return sum(entry.quantity for entry in self.with_status(Status.PURCHASED))

    @property
    def held(self) -> int:
        """Held by offers the database still calls offered, overdue or not."""
        return sum(entry.quantity for entry in self.with_status(Status.OFFERED))

    @property
    def remaining(self) -> int:
        return self.capacity - self.sold - self.held

    def live_offers(self, now: datetime) -> list[ModelEntry]:
        return [entry for entry in self.with_status(Status.OFFERED) if entry.expires_at > now]

    def overdue_offers(self, now: datetime) -> list[ModelEntry]:
        return [entry for entry in self.with_status(Status.OFFERED) if entry.expires_at <= now]

    def position(self, entry: ModelEntry) -> selectors.QueuePosition:
        ahead = [e for e in self.with_status(Status.WAITING) if e.sequence < entry.sequence]
        return selectors.QueuePosition(len(ahead), sum(e.quantity for e in ahead))


@dataclass
class ExpiryJob:
    entry_pk: int
    type_pk: int
    eta: datetime


@dataclass
class QueueModel:
    """What the engine should have done, worked out without it."""

    now: datetime
    types: dict[int, ModelType] = field(default_factory=dict)
    entries: dict[int, ModelEntry] = field(default_factory=dict)
    jobs: list[ExpiryJob] = field(default_factory=list)

    def live_entry(self, user_pk: int, type_pk: int) -> ModelEntry | None:
        for entry in self.types[type_pk].entries:
            if entry.user_pk == user_pk and entry.status in (Status.WAITING, Status.OFFERED):
                return entry
        return None

    def tickets_of(self, user_pk: int, type_pk: int) -> int:
        purchased = self.types[type_pk].with_status(Status.PURCHASED)
        return sum(entry.quantity for entry in purchased if entry.user_pk == user_pk)

    def join_refusal(self, user_pk: int, ticket_type: ModelType, quantity: int):
        if not 1 <= quantity <= ticket_type.max_per_entry:
            return DomainError, f"Choose between 1 and {ticket_type.max_per_entry} tickets."
        if quantity > ticket_type.capacity:
            return services.WaitlistError, (
                f"Only {ticket_type.capacity} “{ticket_type.name}” tickets exist; "
                f"ask for {ticket_type.capacity} or fewer."
            )
        allowed = ticket_type.max_per_buyer - self.tickets_of(user_pk, ticket_type.pk)
        if quantity <= allowed:
            return None
        if allowed <= 0:
            return services.WaitlistError, (
                f"You already have the most “{ticket_type.name}” tickets one buyer may have "
                f"({ticket_type.max_per_buyer})."
            )
        return (
            services.WaitlistError,
            f"You can ask for at most {allowed} more “{ticket_type.name}”",
        )

    def add_entry(self, *, pk: int, user_pk: int, ticket_type: ModelType, quantity: int):
        ticket_type.last_sequence += 1
        entry = ModelEntry(pk, user_pk, ticket_type.pk, quantity, ticket_type.last_sequence)
        ticket_type.entries.append(entry)
        self.entries[pk] = entry
        return entry

    def settle(self, ticket_type: ModelType) -> None:
        """Expire the overdue offers, then offer free places in join order, stopping at the
        first entry that doesn't fit."""
        for entry in ticket_type.overdue_offers(self.now):
            entry.status = Status.EXPIRED
        for entry in ticket_type.with_status(Status.WAITING):
            if entry.quantity > ticket_type.remaining:
                return
            entry.status = Status.OFFERED
            entry.expires_at = self.now + OFFER_WINDOW
            entry.offered_price_minor = ticket_type.price_minor
            self.jobs.append(ExpiryJob(entry.pk, ticket_type.pk, entry.expires_at))

    def needs_sweep(self, ticket_type: ModelType) -> bool:
        waiting = ticket_type.with_status(Status.WAITING)
        return bool(ticket_type.overdue_offers(self.now) or (waiting and ticket_type.remaining > 0))
