import zoneinfo
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Event(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        # Cancelled by its organiser, its tickets still being refunded: off sale like a
        # cancelled event; it becomes CANCELLED once no valid ticket is left.
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"

    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organised_events"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(max_length=10_000, blank=True)
    venue_name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default=settings.TIME_ZONE)
    image = models.ImageField(upload_to="events/", blank=True)
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    offer_window_minutes = models.PositiveIntegerField(
        default=30, help_text="How long a waiting-list offer holds its tickets (5 to 1440)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["status", "starts_at"], name="event_listing_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="event_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "cancelling", "cancelled"]),
                name="event_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="event_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(offer_window_minutes__gte=5, offer_window_minutes__lte=1440),
                name="event_offer_window_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        """Cancelled by its organiser, whether or not every refund has landed yet."""
        return self.status in (self.Status.CANCELLING, self.Status.CANCELLED)

    @property
    def over_at(self) -> datetime:
        """When the event is over: its end, or its start when it has no end."""
        return self.ends_at or self.starts_at

    def is_over(self, now: datetime | None = None) -> bool:
        return self.over_at <= (now or timezone.now())


class TicketType(models.Model):
    """A kind of ticket for an event, with its price and how many exist.

    ``sold_count`` and ``held_count`` are kept beside ``capacity`` so that one row lock (or
    one conditional UPDATE) decides every claim; the database refuses any write that would
    let them exceed capacity.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="ticket_types")
    name = models.CharField(max_length=100)
    price_minor = models.PositiveIntegerField(help_text="Price in minor units (pence, cents).")
    capacity = models.PositiveIntegerField()
    sale_starts_at = models.DateTimeField(null=True, blank=True)
    sale_ends_at = models.DateTimeField(null=True, blank=True)
    sold_count = models.PositiveIntegerField(default=0)
    held_count = models.PositiveIntegerField(default=0)
    max_per_entry = models.PositiveSmallIntegerField(
        default=4, help_text="Most tickets one waiting-list entry may ask for."
    )
    max_per_buyer = models.PositiveSmallIntegerField(
        default=4, help_text="Most tickets of this type one buyer may hold or wait for."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="ticket_type_capacity_min"),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="ticket_type_price_min"),
            models.CheckConstraint(
                condition=Q(max_per_entry__gte=1) & Q(max_per_buyer__gte=1),
                name="ticket_type_limits_min",
            ),
            models.CheckConstraint(
                condition=Q(sold_count__gte=0) & Q(held_count__gte=0),
                name="ticket_type_counts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(sold_count__lte=F("capacity") - F("held_count")),
                name="ticket_type_never_oversold",
            ),
            models.CheckConstraint(
                condition=Q(sale_starts_at__isnull=True)
                | Q(sale_ends_at__isnull=True)
                | Q(sale_ends_at__gt=F("sale_starts_at")),
                name="ticket_type_sale_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.name}: {self.name}"

    @property
    def remaining(self) -> int:
        return self.capacity - self.sold_count - self.held_count

    @property
    def quantity_choices(self) -> range:
        return range(1, self.max_per_entry + 1)

    @property
    def is_free(self) -> bool:
        return self.price_minor == 0


class Seller(models.Model):
    """What the catalogue must know of an organiser's payments: whether their paid tickets
    can be sold now. Payments keeps ``can_take_payments`` equal to the organiser's Stripe
    account's ``charges_enabled`` (payments.services.accounts is its only writer, through
    events.services.set_seller_payments_ready), so the apps below payments — the sale-state
    rule, the join, the event page — know it without importing payments. No row: cannot."""

    organiser = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    can_take_payments = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"seller {self.organiser_id}: {'can' if self.can_take_payments else 'cannot'} charge"
