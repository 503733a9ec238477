"""E-mails about waiting-list entries, sent by a job after the change has committed."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from tickethub.mail import email_subject
from waitlist.models import WaitingListEntry
from waitlist.selectors import queue_position

SUBJECTS = {
    "joined": "You're on the waiting list for {event}",
    "offer_made": "Your tickets for {event} are ready: reply before they pass on",
    "offer_expired": "Your offer for {event} has expired",
    "event_cancelled": "{event} has been cancelled",
}


def send_entry_email(*, entry_id: int, kind: str) -> None:
    entry = (
        WaitingListEntry.objects.select_related("user", "ticket_type__event")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or kind not in SUBJECTS:
        return
    # The entry may have moved on since the job was queued (offered straight after joining,
    # bought before the expiry mail): only say what is still true.
    still_true = {
        "joined": entry.status == WaitingListEntry.Status.WAITING,
        "offer_made": entry.status == WaitingListEntry.Status.OFFERED,
        "offer_expired": entry.status == WaitingListEntry.Status.EXPIRED,
        "event_cancelled": entry.status == WaitingListEntry.Status.CANCELLED,
    }[kind]
    if not still_true:
        return
    event = entry.ticket_type.event
    context = {
        "entry": entry,
        "event": event,
        "ticket_type": entry.ticket_type,
        "event_url": settings.SITE_URL + reverse("event_detail", args=[event.pk]),
        "my_queue_url": settings.SITE_URL + reverse("my_queue"),
        "position": queue_position(entry) if kind == "joined" else None,
    }
    send_mail(
        subject=email_subject(SUBJECTS[kind], event=event.name),
        message=render_to_string(f"waitlist/email/{kind}.txt", context),
        from_email=None,
        recipient_list=[entry.user.email],
    )
