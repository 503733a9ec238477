"""The ASGI application: the /v1 API, the hosted pages and the /_sim control API."""

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from stripe_sim.api import api_routes
from stripe_sim.control import control_routes
from stripe_sim.faults import INTERNAL_ERROR, FaultMiddleware
from stripe_sim.hosted import hosted_routes
from stripe_sim.protocol import API_VERSION, encode_json, new_request_id, unrecognized_url
from stripe_sim.ratelimit import RateLimitMiddleware
from stripe_sim.settings import SimulatorSettings
from stripe_sim.simulator import Simulator

logger = logging.getLogger(__name__)


def create_app(settings: SimulatorSettings | None = None) -> Starlette:
    """A new, independent simulator (its own state, clock and webhook worker); the worker
    and the expiry ticker run while the ASGI lifespan is up."""
    sim = Simulator(settings or SimulatorSettings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sim.start()
        try:
            yield
        finally:
            sim.stop()

    app = Starlette(
        routes=[*api_routes(sim), *hosted_routes(sim), *control_routes(sim)],
        # Outermost first: a rate-limited request is refused before any fault is drawn.
        middleware=[
            Middleware(
                RateLimitMiddleware, limiter_source=lambda: sim.rate_limiter, count=sim.count
            ),
            Middleware(FaultMiddleware, faults_source=lambda: sim.faults, count=sim.count),
        ],
        exception_handlers={404: _not_found, 405: _not_found, 500: _server_error},
        lifespan=lifespan,
    )
    app.state.simulator = sim
    return app


def _stripe_json(status: int, body: dict) -> Response:
    headers = {"Request-Id": new_request_id(), "Stripe-Version": API_VERSION}
    return Response(encode_json(body), status, headers, media_type="application/json")


async def _not_found(request: Request, exc: Exception) -> Response:
    # Stripe answers an unknown URL, or a known one with the wrong method, with a 404
    # invalid_request_error rather than a 405.
    if request.url.path.startswith("/v1/"):
        error = unrecognized_url(request.method, request.url.path)
        return _stripe_json(404, error.body())
    detail = exc.detail if isinstance(exc, HTTPException) else "Not Found"
    return PlainTextResponse(str(detail), status_code=getattr(exc, "status_code", 404))


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("stripe_sim: unhandled error on %s %s", request.method, request.url.path)
    if request.url.path.startswith("/v1/"):
        return _stripe_json(500, INTERNAL_ERROR.body())
    return PlainTextResponse("Internal Server Error", status_code=500)
