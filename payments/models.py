"""Stripe Connect accounts of organisers, orders paid through Checkout, and the Stripe
events received by the webhook."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from events.models import TicketType


class ConnectedAccount(models.Model):
    """An organiser's Stripe Express account, created once, and its last known status."""

    organiser = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=64, unique=True)
    country = models.CharField(max_length=2)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stripe_account_id} ({self.organiser})"


class Order(models.Model):
    """One offer's payment: a Checkout Session on the organiser's account, then tickets or
    a refund. Never deleted; the status says how it ended."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        FULFILLED = "fulfilled", "Paid, tickets issued"
        REFUND_PENDING = "refund_pending", "Paid too late, refund under way"
        REFUNDED = "refunded", "Refunded"
        EXPIRED = "expired", "Checkout expired unpaid"

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    entry = models.OneToOneField(
        "waitlist.WaitingListEntry",
        on_delete=models.PROTECT,
        related_name="order",
        help_text="The offer this order pays for (one order per offer).",
    )
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField()
    unit_amount_minor = models.PositiveIntegerField()
    amount_minor = models.PositiveIntegerField()
    application_fee_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    stripe_account_id = models.CharField(max_length=64)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField()
    payment_intent_id = models.CharField(max_length=255, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="order_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor=models.F("unit_amount_minor") * models.F("quantity")),
                name="order_amount_is_unit_times_quantity",
            ),
            models.CheckConstraint(
                condition=Q(application_fee_minor__lte=models.F("amount_minor")),
                name="order_fee_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status="fulfilled") | Q(fulfilled_at__isnull=False),
                name="order_fulfilled_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.get_status_display()})"


class StripeEvent(models.Model):
    """A webhook event, stored once by its Stripe id; processed by a job."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    account = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Signed but of a shape no handler can read: kept for staff, never processed or retried.
    unprocessable = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(fields=["processed_at", "received_at"], name="stripe_event_todo_idx")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class Refund(models.Model):
    """The organiser's refund of some or all of an order's tickets: one Stripe refund on the
    order's PaymentIntent, requested under a key fixed at creation, so asking Stripe again
    (a retry, the sweep) can never refund twice. Never deleted; a failed one stays beside
    the retry that replaced it."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    class Origin(models.TextChoices):
        SITE = "site", "This site"
        OUTSIDE = "outside", "Stripe's dashboard"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    tickets = models.ManyToManyField(
        "tickets.Ticket", through="RefundedTicket", related_name="refunds"
    )
    amount_minor = models.PositiveIntegerField()
    application_fee_refunded_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    # Stripe reported the refund failed after it had succeeded (the card was closed, say):
    # the tickets were already refunded and their places may be sold again, so the money is
    # owed to the buyer by other means. Shown to the organiser until they deal with it.
    failed_after_success = models.BooleanField(default=False)
    # A refund the site did not ask for (made in Stripe's dashboard) is recorded when Stripe
    # reports it: a whole one with the order's remaining tickets, a partial one as money only.
    origin = models.CharField(
        max_length=8, choices=Origin.choices, default=Origin.SITE, db_default=Origin.SITE
    )
    # A partial outside refund: the money went back but no ticket is tied to it; shown to
    # the organiser, who decides which tickets it covers (or that none do).
    needs_attention = models.BooleanField(default=False, db_default=False)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds_requested",
        help_text="The organiser who asked; empty when the site did (an event cancelled).",
    )
    retry_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retried_by",
        help_text="The failed refund this one asks for again.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gte=1), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(application_fee_refunded_minor__lte=models.F("amount_minor")),
                name="refund_fee_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "succeeded", "failed"]),
                name="refund_status_valid",
            ),
            models.UniqueConstraint(
                fields=["stripe_refund_id"],
                condition=~Q(stripe_refund_id=""),
                name="refund_stripe_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk} of order #{self.order_id} ({self.get_status_display()})"


class RefundedTicket(models.Model):
    """A ticket a refund is for. ``claims_ticket`` stays True while the refund is requested
    or succeeded; the partial unique constraint lets a ticket be claimed by one such refund
    only, so a second refund of it is refused by the database even if two requests race.
    A refund Stripe refused lets go of its tickets, so a retry may claim them."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="refunded_tickets")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="refunded_tickets"
    )
    claims_ticket = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["refund", "ticket"], name="refunded_ticket_once"),
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(claims_ticket=True),
                name="ticket_refunded_at_most_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket #{self.ticket_id} in refund #{self.refund_id}"
