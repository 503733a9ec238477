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
        ]

    def __str__(self) -> str:
        return f"Ticket #{self.pk} ({self.ticket_type})"
