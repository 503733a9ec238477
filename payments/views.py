import contextlib

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from events import selectors as event_selectors
from events.models import Event
from events.money import format_money
from payments import selectors
from payments.forms import RefundForm
from payments.models import Refund
from payments.services.accounts import (
    connected_account_of,
    express_dashboard_link,
    onboarding_link,
    refresh_account_status,
)
from payments.services.cancellation import (
    cancel_event,
    cancellation_preview,
    cancellation_progress,
)
from payments.services.checkout import start_checkout
from payments.services.fulfilment import refresh_order
from payments.services.refunds import refund_tickets, retry_refund, settle_outside_refund
from payments.services.webhooks import record_stripe_event
from payments.stripe_api import PaymentsError
from waitlist.selectors import live_token_for_event

# --- organisers ------------------------------------------------------------------------------


@login_required
@require_GET
def get_paid(request: HttpRequest) -> HttpResponse:
    status = selectors.payout_status(organiser=request.user)
    return render(request, "payments/get_paid.html", {"status": status})


@login_required
@require_POST
def start_onboarding(request: HttpRequest) -> HttpResponse:
    return redirect(_onboarding_url(request))


@login_required
@require_GET
def onboarding_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe sends the organiser here when a link has expired or was used: a new one."""
    return redirect(_onboarding_url(request))


def _onboarding_url(request: HttpRequest) -> str:
    return onboarding_link(
        organiser=request.user,
        return_url=request.build_absolute_uri(reverse("payments_onboarding_return")),
        refresh_url=request.build_absolute_uri(reverse("payments_onboarding_refresh")),
    )


@login_required
@require_GET
def onboarding_return(request: HttpRequest) -> HttpResponse:
    account = connected_account_of(request.user)
    if account is not None:
        try:
            account = refresh_account_status(stripe_account_id=account.stripe_account_id)
        except stripe.StripeError:
            messages.warning(request, "Stripe did not answer; your status will update shortly.")
    if account is not None and account.charges_enabled:
        messages.success(request, "Your Stripe account can take payments. You're ready to sell.")
    return redirect("payments_get_paid")


@login_required
@require_POST
def express_dashboard(request: HttpRequest) -> HttpResponse:
    url = express_dashboard_link(organiser=request.user)
    if url is None:
        raise PaymentsError("Finish setting up your Stripe account first.")
    return redirect(url)


@login_required
@require_GET
def event_orders(request: HttpRequest, event_id: int) -> HttpResponse:
    event = event_selectors.organiser_event(organiser=request.user, event_id=event_id)
    orders = selectors.event_orders(event=event)
    money_log = selectors.money_log(event=event)
    context = {"event": event, "orders": orders, "money_log": money_log}
    return render(request, "payments/event_orders.html", context)


@login_required
def refund_order(request: HttpRequest, order_id: int) -> HttpResponse:
    """GET: what the ticked tickets come to, and a button to confirm; POST: refund them."""
    order = selectors.organiser_order(organiser=request.user, order_id=order_id)
    orders_page = reverse("payments_event_orders", args=[order.ticket_type.event_id])
    form = RefundForm(
        request.POST if request.method == "POST" else request.GET,
        refundable=selectors.refundable_tickets(order),
    )
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("__all__", ["Choose what to refund."])))
        return redirect(orders_page)
    if request.method == "POST" and form.cleaned_data["confirmed"]:
        refund = refund_tickets(
            organiser=request.user, order_id=order.pk, ticket_ids=form.ticket_ids()
        )
        _tell_refund_outcome(request, refund)
        return redirect(orders_page)
    return render(request, "payments/refund_confirm.html", {"order": order, "form": form})


@login_required
@require_POST
def retry_failed_refund(request: HttpRequest, refund_id: int) -> HttpResponse:
    refund = retry_refund(refund_id=refund_id, organiser=request.user)
    _tell_refund_outcome(request, refund)
    return redirect("payments_event_orders", refund.order.ticket_type.event_id)


@login_required
@require_POST
def settle_outside_refund_view(request: HttpRequest, refund_id: int) -> HttpResponse:
    """The organiser ticks the tickets a dashboard refund covers, or none to ignore it."""
    ticket_ids = [int(t) for t in request.POST.getlist("tickets") if t.isdigit()]
    refund = settle_outside_refund(
        organiser=request.user, refund_id=refund_id, ticket_ids=ticket_ids
    )
    messages.success(
        request,
        "The refund now covers the tickets you chose."
        if ticket_ids
        else "The refund is kept as money only; the tickets stay valid.",
    )
    return redirect("payments_event_orders", refund.order.ticket_type.event_id)


def _tell_refund_outcome(request: HttpRequest, refund: Refund) -> None:
    amount = format_money(refund.amount_minor, refund.currency)
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(request, f"Refunded {amount} (refund #{refund.pk}); the buyer is told.")
    elif refund.status == Refund.Status.FAILED:
        messages.error(request, f"Stripe refused refund #{refund.pk}: {refund.failure_reason}")
    else:
        messages.warning(
            request,
            f"Stripe has not answered about refund #{refund.pk} yet; we keep asking, and the "
            "tickets are refunded once it does.",
        )


@login_required
def event_cancel(request: HttpRequest, event_id: int) -> HttpResponse:
    """GET: what cancelling the event will do, and a button to confirm; POST: cancel it."""
    if request.method == "POST":
        cancel_event(organiser=request.user, event_id=event_id)
        messages.success(request, "The event is cancelled; everyone is being refunded.")
        return redirect("event_cancellation", event_id=event_id)
    preview = cancellation_preview(organiser=request.user, event_id=event_id)
    if preview.event.is_cancelled:
        return redirect("event_cancellation", event_id=event_id)
    if preview.event.status == Event.Status.DRAFT:
        # Confirming would only be refused (cancel_event does not cancel drafts).
        messages.error(request, "A draft is not on sale: there is nothing to cancel.")
        return redirect("event_edit", event_id=event_id)
    return render(request, "payments/event_cancel.html", {"preview": preview})


@login_required
@require_GET
def event_cancellation(request: HttpRequest, event_id: int) -> HttpResponse:
    progress = cancellation_progress(organiser=request.user, event_id=event_id)
    if not progress.event.is_cancelled:
        return redirect("event_edit", event_id=event_id)  # nothing is being refunded
    context = {"progress": progress, "live_token": live_token_for_event(event=progress.event)}
    return render(request, "payments/event_cancellation.html", context)


@login_required
@require_GET
def event_cancellation_panel(request: HttpRequest, event_id: int) -> HttpResponse:
    """The progress panel alone, fetched again by htmx when a refund lands."""
    progress = cancellation_progress(organiser=request.user, event_id=event_id)
    return render(request, "payments/_cancellation_panel.html", {"progress": progress})


# --- buyers ----------------------------------------------------------------------------------


@login_required
@require_POST
def checkout(request: HttpRequest, entry_id: int) -> HttpResponse:
    success = request.build_absolute_uri(reverse("checkout_success"))
    order = start_checkout(
        buyer=request.user,
        entry_id=entry_id,
        # Stripe replaces the template with the session id (Checkout's success_url rules).
        success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=request.build_absolute_uri(reverse("checkout_cancelled", args=[entry_id])),
    )
    return redirect(order.checkout_url)


@login_required
@require_GET
def checkout_success(request: HttpRequest) -> HttpResponse:
    order = selectors.order_of_buyer_by_session(
        buyer=request.user, session_id=request.GET.get("session_id", "")
    )
    if order is None:
        raise Http404("No such order.")
    # The buyer may be back before the webhook: ask Stripe, so they see tickets at once. If
    # Stripe doesn't answer, the webhook or the sweep settles it; the page keeps checking.
    with contextlib.suppress(stripe.StripeError):
        order = refresh_order(order=order)
    template = "payments/_order_status.html" if request.htmx else "payments/success.html"
    return render(request, template, {"order": order, "tickets": order.tickets.all()})


@login_required
@require_GET
def checkout_cancelled(request: HttpRequest, entry_id: int) -> HttpResponse:
    messages.info(request, "Payment cancelled. Your tickets stay held until the offer expires.")
    return redirect("my_queue")


# --- Stripe ----------------------------------------------------------------------------------


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the check
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    record_stripe_event(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    return JsonResponse({"received": True})
