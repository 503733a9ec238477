"""The control API under ``/_sim/``: for tests and demos only, never used by the site.

JSON in and out, no authentication (the simulator only ever listens on a private port).
Faults never apply here.
"""

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_sim.faults import Faults
from stripe_sim.protocol import parse_form
from stripe_sim.ratelimit import RateLimiter, check_requests_per_second
from stripe_sim.services.accounts import complete_onboarding
from stripe_sim.services.balance import AVAILABLE, set_available
from stripe_sim.services.cards import CardInput
from stripe_sim.services.payments import SessionNotPayable, pay_session
from stripe_sim.services.refunds import release_held_refunds
from stripe_sim.settings import WebhookEndpoint

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


class BadControlRequest(Exception):
    pass


async def _json_body(request: Request) -> dict[str, Any]:
    """JSON, or a form body (what curl -d and stripe's ``raw_request`` send)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return parse_form(raw.decode())
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadControlRequest(f"body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise BadControlRequest("body must be a JSON object")
    return body


def _problem(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class ControlApi:
    """One handler per control endpoint, bound to one simulator."""

    def __init__(self, sim: "Simulator") -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        routes = [
            Route("/_sim/reset", self.reset, methods=["POST"]),
            Route("/_sim/webhook", self.webhook, methods=["GET", "POST"]),
            Route("/_sim/faults", self.faults, methods=["GET", "POST"]),
            Route("/_sim/rate_limit", self.rate_limit, methods=["GET", "POST"]),
            Route("/_sim/clock", self.clock, methods=["GET", "POST"]),
            Route("/_sim/checkout/sessions/{session_id}/pay", self.pay, methods=["POST"]),
            Route(
                "/_sim/accounts/{account_id}/complete_onboarding", self.onboard, methods=["POST"]
            ),
            Route("/_sim/accounts/{account_id}/balance", self.balance, methods=["GET", "POST"]),
            Route("/_sim/deliver", self.deliver, methods=["POST"]),
            Route("/_sim/deliveries", self.deliveries),
            Route("/_sim/events", self.events),
            Route("/_sim/stats", self.stats),
            Route("/_sim/tick", self.tick, methods=["POST"]),
        ]
        return [Route(r.path, _guarded(r.endpoint), methods=r.methods) for r in routes]

    async def reset(self, request: Request) -> JSONResponse:
        self.sim.reset()
        return JSONResponse({"reset": True})

    async def webhook(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request)
            if not body.get("url") or not body.get("secret"):
                return _problem("url and secret are required")
            self.sim.webhook = WebhookEndpoint(
                url=body["url"],
                secret=body["secret"],
                connect_secret=body.get("connect_secret"),
                connect_url=body.get("connect_url"),
            )
        endpoint = self.sim.webhook
        return JSONResponse(dataclasses.asdict(endpoint) if endpoint else None)

    async def faults(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                self.sim.faults = Faults.from_mapping(await _json_body(request))
            except ValueError as error:
                return _problem(str(error))
        return JSONResponse(self.sim.faults.to_dict())

    async def rate_limit(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request)
            if set(body) - {"requests_per_second"}:
                return _problem("only requests_per_second can be set")
            value = body.get("requests_per_second")
            try:
                # A form body carries the number as text.
                value = float(value) if isinstance(value, str) else value
                self.sim.rate_limiter = RateLimiter(check_requests_per_second(value))
            except ValueError as error:
                return _problem(str(error))
        return JSONResponse({"requests_per_second": self.sim.rate_limiter.requests_per_second})

    async def clock(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            seconds = (await _json_body(request)).get("advance_seconds", 0)
            if not isinstance(seconds, int | float) or seconds < 0:
                return _problem("advance_seconds must be a number >= 0")
            # Expiring sessions emits events and takes the store lock: off the event loop.
            await run_in_threadpool(self.sim.advance_clock, seconds)
        clock = self.sim.clock
        return JSONResponse({"now": clock.timestamp(), "offset_seconds": clock.offset})

    async def pay(self, request: Request) -> JSONResponse:
        """The hosted Checkout form's code path, answering in JSON (a decline in Stripe's
        error shape, status 402, so the SDK's raw_request turns it into a CardError)."""
        body = await _json_body(request)
        card = CardInput(
            number=str(body.get("card", "4242424242424242")),
            expiry=str(body.get("expiry", "12 / 34")),
            cvc=str(body.get("cvc", "123")),
        )
        with self.sim.store.lock:
            record = self.sim.store.find("checkout.session", request.path_params["session_id"])
            if record is None:
                return _problem("no such checkout session", 404)
            try:
                result = pay_session(
                    self.sim,
                    record,
                    card,
                    email=body.get("email"),
                    name=body.get("name"),
                    ignore_expiry=body.get("ignore_expiry") in (True, "true"),
                )
            except SessionNotPayable as problem:
                return _problem(str(problem), 409)
            # Rendered under the lock: the ticker must not change the session mid-way.
            if result.error is not None:
                declined = {"paid": False, "error": result.error.to_dict()}
                return JSONResponse({**declined, "session": result.session}, 402)
            paid = {"paid": True, "redirect_url": result.redirect_url}
            return JSONResponse({**paid, "session": result.session})

    async def onboard(self, request: Request) -> JSONResponse:
        with self.sim.store.lock:
            record = self.sim.store.get("account", request.path_params["account_id"], None)
            if record is None:
                return _problem("no such account", 404)
            return JSONResponse(complete_onboarding(self.sim, record))

    async def balance(self, request: Request) -> JSONResponse:
        """The funds a connected account's refunds draw from: ``{available: N|null,
        currency?}`` (minor units; null: no limit, the default). Pending refunds the new
        amount covers are released at once."""
        body = await _json_body(request) if request.method == "POST" else {}
        with self.sim.store.lock:
            record = self.sim.store.get("account", request.path_params["account_id"], None)
            if record is None:
                return _problem("no such account", 404)
            released: list[str] = []
            if request.method == "POST":
                if set(body) - {"available", "currency"} or "available" not in body:
                    return _problem("give available (minor units, or null) and currency?")
                amount = _available_amount(body["available"])
                currency = str(body.get("currency") or record.body["default_currency"]).lower()
                set_available(record, currency, amount)
                self.sim.store.save(record)
                released = release_held_refunds(self.sim, record.id)
            available = record.private.get(AVAILABLE, {})
            return JSONResponse({"available": available, "released": released})

    async def deliver(self, request: Request) -> JSONResponse:
        body = await _json_body(request)
        # Waiting blocks: do it off the event loop, which must stay free to answer the
        # webhook receiver if it calls back into the simulator.
        counts = await run_in_threadpool(
            self.sim.dispatcher.flush,
            float(body.get("timeout", 30)),
            body.get("fast_forward") in (True, "true"),
        )
        return JSONResponse(counts)

    async def deliveries(self, request: Request) -> JSONResponse:
        return JSONResponse(self.sim.dispatcher.attempts())

    async def events(self, request: Request) -> JSONResponse:
        """Every event of the platform and all connected accounts, oldest first."""
        with self.sim.store.lock:
            found = [record.body for record in reversed(self.sim.store.all_records("event"))]
            return JSONResponse(found)

    async def stats(self, request: Request) -> JSONResponse:
        """API requests seen and faults injected since the last reset."""
        return JSONResponse(dict(self.sim.stats))

    async def tick(self, request: Request) -> JSONResponse:
        await run_in_threadpool(self.sim.run_due_work)
        return JSONResponse({"ran": True})


def _available_amount(value: Any) -> int | None:
    if isinstance(value, str):  # a form body
        if value in ("", "null"):
            return None
        value = int(value) if value.isdigit() else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadControlRequest("available must be an integer >= 0, or null")
    return value


def control_routes(sim: "Simulator") -> list[Route]:
    return ControlApi(sim).routes()


def _guarded(endpoint):
    async def guarded(request: Request) -> JSONResponse:
        try:
            return await endpoint(request)
        except BadControlRequest as error:
            return _problem(str(error))

    return guarded
