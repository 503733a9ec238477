"""Pages a person (or Playwright) uses: onboarding, Checkout and the Express dashboard."""

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_sim import hosted_html
from stripe_sim.services import accounts
from stripe_sim.services.balance import balance_for
from stripe_sim.services.cards import CardInput
from stripe_sim.services.payments import SessionNotPayable, pay_session
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Stripe's pages never end up in a shared cache; neither should these.
NO_STORE = {"Cache-Control": "no-store"}


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's request.form() needs python-multipart, not a dependency.
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status, headers=NO_STORE)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def _not_found() -> HTMLResponse:
    return _html(hosted_html.message_page("Page not found", "This link is not valid."), 404)


def hosted_routes(sim: "Simulator") -> list[Route]:
    async def onboarding(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "POST":
            return await _submit_onboarding(sim, request, token)
        with sim.store.lock:
            visit = accounts.visit_onboarding_link(sim, token)
        if visit is None:
            return _not_found()
        if isinstance(visit, accounts.SendAway):
            return _redirect(visit.url)
        return _html(hosted_html.onboarding_page(visit.account, visit.form_token))

    async def express_dashboard(request: Request) -> Response:
        with sim.store.lock:
            record = accounts.use_login_link(sim, request.path_params["token"])
            if record is None:
                return _html(
                    hosted_html.message_page("Link expired", "This login link has expired."), 410
                )
            charges = [charge.body for charge in sim.store.records("charge", record.id)]
            page = hosted_html.express_dashboard_page(
                record.body, balance_for(sim, record.id), charges
            )
        return _html(page)

    async def checkout(request: Request) -> Response:
        form = await _form(request) if request.method == "POST" else None
        with sim.store.lock:
            return _checkout(sim, request.path_params["session_id"], form)

    async def index(request: Request) -> Response:
        return _html(
            hosted_html.message_page(
                "Stripe simulator",
                "A local stand-in for Stripe's API, in test mode. See stripe_sim/README.md.",
            )
        )

    return [
        Route("/", index),
        Route("/hosted/onboarding/{token}", onboarding, methods=["GET", "POST"]),
        Route("/hosted/express/{token}", express_dashboard),
        Route("/hosted/checkout/{session_id}", checkout, methods=["GET", "POST"]),
    ]


async def _submit_onboarding(sim: "Simulator", request: Request, token: str) -> Response:
    form = await _form(request)
    with sim.store.lock:
        if form.get("tos") != "accepted":
            link = sim.store.get("account_link", token, None)
            account = link and sim.store.get("account", link.private["account"], None)
            if link is None or account is None:
                return _not_found()
            page = hosted_html.onboarding_page(
                account.body,
                form.get("form_token", ""),
                error="Accept the Stripe Connected Account Agreement to continue.",
            )
            return _html(page, 400)
        redirect = accounts.submit_onboarding(sim, token, form.get("form_token", ""), form)
    return _redirect(redirect) if redirect else _not_found()


def _checkout(sim: "Simulator", session_id: str, form: dict[str, str] | None) -> Response:
    record = sim.store.find("checkout.session", session_id)
    if record is None:
        return _not_found()
    if form is None:
        return _show_checkout(sim, record)
    card = CardInput(
        number=form.get("card_number", ""),
        expiry=form.get("expiry", "12 / 34"),
        cvc=form.get("cvc", "123"),
    )
    try:
        result = pay_session(
            sim, record, card, email=form.get("email") or None, name=form.get("name") or None
        )
    except SessionNotPayable as problem:
        return _html(hosted_html.message_page("Payment not possible", str(problem)), 400)
    if result.error is not None:
        page = hosted_html.checkout_page(
            record.body, record.private["line_items"], _merchant(sim, record), result.error.message
        )
        return _html(page, 402)
    return _redirect(result.redirect_url or record.body["success_url"])


def _show_checkout(sim: "Simulator", record: Record) -> Response:
    status = record.body["status"]
    if status == "complete":
        message = "This Checkout Session has already been paid."
        return _html(hosted_html.message_page("Payment complete", message))
    if status == "expired" and not sim.faults.late_payment:
        message = "This Checkout Session has expired. Return to the site to start again."
        return _html(hosted_html.message_page("Session expired", message))
    page = hosted_html.checkout_page(
        record.body, record.private["line_items"], _merchant(sim, record)
    )
    return _html(page)


def _merchant(sim: "Simulator", record: Record) -> str:
    """The name the customer sees: the connected account's, as on Stripe's page."""
    owner = sim.store.get("account", record.account, None) if record.account else None
    name = owner.body["settings"]["dashboard"]["display_name"] if owner else None
    return name or "Ticket Hub"
