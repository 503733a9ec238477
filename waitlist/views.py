from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from events import selectors as event_selectors
from events.forms import EventEditor
from events.models import Event
from events.services import CatalogueError
from tickethub.errors import DomainError
from tickets.selectors import refund_progress_of_event
from waitlist import selectors, services
from waitlist.forms import JoinForm
from waitlist.models import WaitingListEntry


def _back_to_event(entry: WaitingListEntry) -> HttpResponse:
    return redirect(reverse("event_detail", args=[entry.ticket_type.event_id]) + "#tickets")


@login_required
@require_POST
def join(request: HttpRequest) -> HttpResponse:
    form = JoinForm(request.POST)
    if not form.is_valid():
        message = "; ".join(error for errors in form.errors.values() for error in errors)
        raise DomainError(f"Please check your request: {message}")
    result = services.join_waiting_list(
        user=request.user,
        ticket_type_id=form.cleaned_data["ticket_type_id"],
        quantity=form.cleaned_data["quantity"],
    )
    entry = result.entry
    if not result.created:
        messages.info(request, "You are already in this queue.")
    elif entry.status == WaitingListEntry.Status.OFFERED:
        messages.success(
            request, "Your tickets are held for you. Complete before the time runs out."
        )
    else:
        messages.success(
            request, "You've joined the waiting list. We'll e-mail you when it's your turn."
        )
    return _back_to_event(entry)


@login_required
@require_POST
def accept(request: HttpRequest, entry_id: int) -> HttpResponse:
    tickets = services.accept_offer(user=request.user, entry_id=entry_id)
    messages.success(
        request, f"Done! {len(tickets)} ticket{'s' if len(tickets) != 1 else ''} issued."
    )
    return redirect("my_queue")


@login_required
@require_POST
def decline(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = services.decline_offer(user=request.user, entry_id=entry_id)
    messages.info(request, "Offer declined; the tickets went to the next person in line.")
    return _back_to_event(entry)


@login_required
@require_POST
def leave(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = services.leave_waiting_list(user=request.user, entry_id=entry_id)
    messages.info(request, "You've left the waiting list.")
    return _back_to_event(entry)


@login_required
def my_queue(request: HttpRequest) -> HttpResponse:
    entries = list(selectors.entries_of(user=request.user)[:100])
    positions = selectors.queue_positions(
        [entry for entry in entries if entry.status == WaitingListEntry.Status.WAITING]
    )
    rows = [(entry, positions.get(entry.pk)) for entry in entries]
    live_token = selectors.live_token_for_buyer(user=request.user)
    return render(request, "waitlist/my_queue.html", {"rows": rows, "live_token": live_token})


def ticket_types_panel(request: HttpRequest, event_id: int) -> HttpResponse:
    """The event page's ticket panel alone: the polling fallback for live updates."""
    event = event_selectors.public_event(event_id=event_id, viewer=request.user)
    services.expire_overdue_offers_of_event(event_id=event.pk)
    offers = selectors.event_offers(event=event, viewer=request.user)
    return render(request, "waitlist/_ticket_panel.html", {"event": event, "offers": offers})


@login_required
def organiser_queue(request: HttpRequest, event_id: int) -> HttpResponse:
    event = event_selectors.organiser_event(organiser=request.user, event_id=event_id)
    figures = selectors.organiser_queue_figures(event=event)
    return render(request, "waitlist/organiser_queue.html", {"event": event, "figures": figures})


# --- Event pages that move with the queue ---------------------------------------------------
# They live here, not in events/views.py, because they use the waiting list: the public
# page shows the queue and the buyer's place in it; the organiser's edit hands the places a
# capacity rise adds to the queue (waitlist.services.update_event).


def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = event_selectors.public_event(event_id=event_id, viewer=request.user)
    services.expire_overdue_offers_of_event(event_id=event.pk)
    offers = selectors.event_offers(event=event, viewer=request.user)
    live_token = selectors.live_token_for_event(event=event)
    context = {"event": event, "offers": offers, "live_token": live_token}
    if event.status == Event.Status.CANCELLING:
        context["refund_progress"] = refund_progress_of_event(event_id=event.pk)
    return render(request, "events/detail.html", context)


@login_required
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    event = event_selectors.organiser_event(organiser=request.user, event_id=event_id)
    editor = EventEditor(request.POST or None, request.FILES or None, event=event)
    if request.method == "POST" and editor.is_valid():
        try:
            services.update_event(
                event=event,
                actor=request.user,
                details=editor.event_form.event_details(),
                ticket_types=editor.ticket_type_specs,
                image=editor.event_form.cleaned_data["image"],
                remove_image=request.POST.get("image-clear") == "on",
            )
        except CatalogueError as error:
            editor.event_form.add_error(None, error.message)
        else:
            messages.success(request, "Changes saved.")
            return redirect("event_edit", event_id=event.pk)
    status = 400 if request.method == "POST" else 200
    payments_ready = event_selectors.seller_can_take_payments(organiser_id=request.user.pk)
    context = {"editor": editor, "event": event, "payments_ready": payments_ready}
    return render(request, "events/edit.html", context, status=status)
