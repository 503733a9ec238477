from django.conf import settings
from django.db import models
from django.db.models import Q

from events.models import TicketType

LIVE_STATUSES = ("waiting", "offered")


class WaitingListEntry(models.Model):
    """A buyer's place in one ticket type's queue, and the offer it may turn into.

    ``sequence`` is the join order within the ticket type, handed out under the ticket
    type's lock, so serving by sequence is serving in the order joins committed.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered"
        PURCHASED = "purchased", "Purchased"
        EXPIRED = "expired", "Expired"
        DECLINED = "declined", "Declined"
        LEFT = "left", "Left the queue"
        # The event was cancelled while the entry waited or held an offer: not the buyer's
        # choice (left, declined) nor their lateness (expired), and its e-mail says so.
        CANCELLED = "cancelled", "Event cancelled"

    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="waiting_list_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waiting_list_entries"
    )
    quantity = models.PositiveSmallIntegerField()
    sequence = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    offered_price_minor = models.PositiveIntegerField(
        null=True, blank=True, help_text="Unit price fixed when the offer was made."
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    # A paid offer whose buyer has started paying: at expiry its places are released only
    # once Stripe confirms the checkout closed unpaid (payments asks; see waitlist.services).
    checkout_started_at = models.DateTimeField(null=True, blank=True)
    checkout_close_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "waiting list entries"
        ordering = ["ticket_type_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ticket_type"],
                condition=Q(status__in=LIVE_STATUSES),
                name="one_live_entry_per_user_and_type",
            ),
            models.UniqueConstraint(
                fields=["ticket_type", "sequence"], name="entry_sequence_unique_per_type"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="entry_quantity_min"),
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(expires_at__isnull=False),
                name="offer_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "waiting",
                        "offered",
                        "purchased",
                        "expired",
                        "declined",
                        "left",
                        "cancelled",
                    ]
                ),
                name="entry_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket_type", "status", "sequence"], name="entry_queue_idx"),
            models.Index(fields=["status", "expires_at"], name="entry_expiry_idx"),
            models.Index(fields=["user", "status"], name="entry_user_status_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.user} ×{self.quantity} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class QueueBlock(models.Model):
    """Waiting entries and tickets per block of BLOCK_SIZE sequence numbers of one ticket
    type, so "how many are ahead of me" sums a few hundred rows instead of counting up to
    a million entries."""

    BLOCK_SIZE = 1024

    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="+")
    block = models.BigIntegerField()
    waiting_entries = models.IntegerField(default=0)
    waiting_tickets = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket_type", "block"], name="queue_block_unique"),
            models.CheckConstraint(
                condition=Q(waiting_entries__gte=0) & Q(waiting_tickets__gte=0),
                name="queue_block_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_type_id}/{self.block}: {self.waiting_entries}"


class QueueState(models.Model):
    """Per-ticket-type queue totals and the last sequence number handed out."""

    ticket_type = models.OneToOneField(
        TicketType, on_delete=models.CASCADE, primary_key=True, related_name="queue_state"
    )
    last_sequence = models.BigIntegerField(default=0)
    waiting_entries = models.IntegerField(default=0)
    waiting_tickets = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(waiting_entries__gte=0) & Q(waiting_tickets__gte=0),
                name="queue_state_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"queue of {self.ticket_type_id}: {self.waiting_entries} waiting"


class LiveEvent(models.Model):
    """A change pushed to open pages: written just after the change commits, one INSERT for
    all the topics of its transaction (waitlist.live.publish), so it is never sent for a
    change that rolled back; a crash between the commit and the INSERT loses only the push
    (pages also poll). Read by every web process's live hub, and replayed to a stream that
    reconnects with the id of the last event it saw (``Last-Event-ID``). Old rows are
    deleted by the sweep."""

    topic = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["topic", "id"], name="live_event_topic_idx")]

    def __str__(self) -> str:
        return f"{self.pk} {self.topic} {self.kind}"
