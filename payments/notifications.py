"""E-mails about orders, sent by a job after the change has committed."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from payments.models import Order, Refund
from tickethub.mail import email_subject
from tickets.models import Ticket

SUBJECTS = {
    "fulfilled": "Your tickets for {event}",
    "refunded": "Your payment for {event} has been refunded",
}


def send_order_email(*, order_id: int, kind: str) -> None:
    order = Order.objects.select_related("buyer", "ticket_type__event").filter(pk=order_id).first()
    if order is None or kind not in SUBJECTS:
        return
    event = order.ticket_type.event
    context = {
        "order": order,
        "event": event,
        "ticket_type": order.ticket_type,
        "event_url": settings.SITE_URL + reverse("event_detail", args=[event.pk]),
    }
    send_mail(
        subject=email_subject(SUBJECTS[kind], event=event.name),
        message=render_to_string(f"payments/email/{kind}.txt", context),
        from_email=None,
        recipient_list=[order.buyer.email],
    )


def send_tickets_cancelled_email(*, event_id: int, owner_id: int) -> None:
    """Tell a holder of free tickets that the event is cancelled and their tickets with it
    (paid tickets are told by their refund's e-mail instead)."""
    tickets = list(
        Ticket.objects.filter(
            ticket_type__event_id=event_id, owner_id=owner_id, status=Ticket.Status.CANCELLED
        ).select_related("owner", "ticket_type__event")
    )
    if not tickets:
        return
    event = tickets[0].ticket_type.event
    context = {
        "event": event,
        "quantity": len(tickets),
        "event_url": settings.SITE_URL + reverse("event_detail", args=[event.pk]),
    }
    send_mail(
        subject=email_subject("{event} is cancelled", event=event.name),
        message=render_to_string("payments/email/tickets_cancelled.txt", context),
        from_email=None,
        recipient_list=[tickets[0].owner.email],
    )


def send_refund_email(*, refund_id: int) -> None:
    """Tell the buyer which tickets were refunded and how much goes back to them."""
    refund = (
        Refund.objects.select_related("order__buyer", "order__ticket_type__event")
        .filter(pk=refund_id, status=Refund.Status.SUCCEEDED)
        .first()
    )
    if refund is None:
        return
    order = refund.order
    event = order.ticket_type.event
    context = {
        "refund": refund,
        "order": order,
        "event": event,
        "ticket_type": order.ticket_type,
        "quantity": refund.refunded_tickets.count(),
        "event_url": settings.SITE_URL + reverse("event_detail", args=[event.pk]),
    }
    send_mail(
        subject=email_subject("Your tickets for {event} have been refunded", event=event.name),
        message=render_to_string("payments/email/tickets_refunded.txt", context),
        from_email=None,
        recipient_list=[order.buyer.email],
        html_message=render_to_string("payments/email/tickets_refunded.html", context),
    )
