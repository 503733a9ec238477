from django.conf import settings
from django.db import models
from django.db.models import Q

from events.models import TicketType


class Ticket(models.Model):
    """One admission to an event. Valid and used tickets count against capacity."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        USED = "used", "Used"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets"
    )
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="tickets")
    entry = models.ForeignKey(
        "waitlist.WaitingListEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        help_text="The waiting-list offer these tickets were bought through.",
    )
    order = models.ForeignKey(
        "payments.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        help_text="The paid order that issued this ticket.",
    )
    position_in_order = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALID)
    amount_minor = models.PositiveIntegerField(help_text="What was paid for this ticket.")
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["owner", "status"], name="ticket_owner_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["valid", "used", "refunded", "cancelled"]),
                name="ticket_status_valid",
            ),
            # An order's tickets are numbered 1..quantity, so fulfilling an order a second
            # time cannot insert a second set.
            models.UniqueConstraint(
                fields=["order", "position_in_order"],
                condition=Q(order__isnull=False),
                name="ticket_once_per_order_position",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(position_in_order__isnull=False),
                name="ticket_order_has_position",
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket #{self.pk} ({self.ticket_type})"
