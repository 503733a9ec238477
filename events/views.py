from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from events import selectors, services
from events.forms import EventEditor


def home(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.upcoming_public_events(), settings.EVENTS_PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise Http404("No such page.") from None
    return render(request, "events/home.html", {"page": page})


@login_required
def my_events(request: HttpRequest) -> HttpResponse:
    events = selectors.organiser_events(organiser=request.user)
    return render(request, "events/my_events.html", {"events": events})


@login_required
def event_create(request: HttpRequest) -> HttpResponse:
    editor = EventEditor(request.POST or None, request.FILES or None)
    if request.method == "POST" and editor.is_valid():
        try:
            event = services.create_event(
                organiser=request.user,
                details=editor.event_form.event_details(),
                ticket_types=editor.ticket_type_specs,
                image=editor.event_form.cleaned_data["image"],
            )
        except services.CatalogueError as error:
            editor.event_form.add_error(None, error.message)
        else:
            messages.success(request, "Event created as a draft. Publish it when you are ready.")
            return redirect("event_edit", event_id=event.pk)
    status = 400 if request.method == "POST" else 200
    context = {"editor": editor, "payments_ready": _payments_ready(request)}
    return render(request, "events/edit.html", context, status=status)


def _payments_ready(request: HttpRequest) -> bool:
    return selectors.seller_can_take_payments(organiser_id=request.user.pk)


@login_required
@require_POST
def event_publish(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.organiser_event(organiser=request.user, event_id=event_id)
    services.publish_event(event=event, actor=request.user)
    messages.success(request, f"“{event.name}” is published and listed on the home page.")
    return redirect("event_edit", event_id=event.pk)


@login_required
@require_POST
def event_unpublish(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.organiser_event(organiser=request.user, event_id=event_id)
    try:
        services.unpublish_event(event=event, actor=request.user)
    except services.CatalogueError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"“{event.name}” is back to draft and no longer listed.")
    return redirect("event_edit", event_id=event.pk)
