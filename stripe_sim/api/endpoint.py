"""What every ``/v1`` call goes through: authentication, the Stripe-Account boundary,
idempotency keys, parameter checks against the spec, ``expand[]`` and the error shape."""

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from stripe_sim.api.expand import expand
from stripe_sim.params import validate_params
from stripe_sim.protocol import (
    API_VERSION,
    StripeError,
    authenticate,
    encode_json,
    new_request_id,
    parse_form,
)
from stripe_sim.services.events import Origin

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# Stripe keeps idempotency keys for at least 24 hours.
IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 60 * 60


@dataclasses.dataclass
class ApiCall:
    """One API request, checked and ready for a handler."""

    sim: "Simulator"
    params: dict[str, Any]
    path_params: dict[str, str]
    account: str | None  # the Stripe-Account header: whose objects this call sees
    origin: Origin
    base_url: str  # where hosted pages live, for the URLs in responses
    path: str


Handler = Callable[[ApiCall], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the spec's path template, which is also the route's
    handler: Handler


def make_endpoint(sim: "Simulator", operations: dict[str, Operation]):
    async def endpoint(request: Request) -> Response:
        request_id = new_request_id()
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get("stripe-version", API_VERSION),
        }
        try:
            authenticate(request.headers.get("authorization"))
            operation = operations.get(request.method) or operations["GET"]  # HEAD is GET
            raw = await _raw_params(request)
            with sim.store.lock:
                status, body, extra = _execute(sim, operation, request, raw, request_id)
                # Serialised under the lock: the body may be a stored object that the ticker
                # or the webhook worker changes as soon as the lock is free.
                content = encode_json(body)
            headers.update(extra)
        except StripeError as error:
            status, content = error.status, encode_json(error.body())
        return Response(content, status, headers, media_type="application/json")

    return endpoint


async def _raw_params(request: Request) -> dict[str, Any]:
    if request.method == "POST":
        return parse_form((await request.body()).decode())
    return parse_form(request.url.query)


def _execute(
    sim: "Simulator", operation: Operation, request: Request, raw: dict[str, Any], request_id: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    account = request.headers.get("stripe-account") or None
    if account is not None:
        _check_connected(sim, account)
    key = request.headers.get("idempotency-key") if request.method == "POST" else None
    scope = f"{account or 'platform'}:{key}"
    signature = {"method": request.method, "path": request.url.path, "params": raw}
    if key:
        replay = _replay(sim, scope, key, signature)
        if replay is not None:
            return replay
    params = validate_params(operation.method, operation.path, raw)
    call = ApiCall(
        sim=sim,
        params=params,
        path_params={name: unquote(value) for name, value in request.path_params.items()},
        account=account,
        origin=Origin(request_id, key),
        base_url=(sim.settings.public_url or str(request.base_url)).rstrip("/"),
        path=request.url.path,
    )
    try:
        body = expand(sim, operation.handler(call), params.get("expand", []), account)
    except StripeError as error:
        # Stripe saves a result once an endpoint began executing; only card errors get
        # that far here. Validation failures are not saved, so a corrected retry works.
        if key and error.status == 402:
            _remember(sim, scope, signature, error.status, error.body(), request_id)
        raise
    if key:
        _remember(sim, scope, signature, 200, body, request_id)
        return 200, body, {"Idempotency-Key": key}
    return 200, body, {}


def _check_connected(sim: "Simulator", account: str) -> None:
    if sim.store.get("account", account, None) is None:
        # What Stripe answers for a Stripe-Account the platform has no access to.
        raise StripeError(
            403,
            "invalid_request_error",
            f"The provided key does not have access to account '{account}' (or that account "
            "does not exist). Application access may have been revoked.",
            code="account_invalid",
        )


def _replay(
    sim: "Simulator", scope: str, key: str, signature: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """The saved answer for a repeated key, or an idempotency_error when the key was used
    for a different request (https://docs.stripe.com/api/idempotent_requests)."""
    saved = sim.store.idempotent_result(scope)
    if saved is None:
        return None
    first = f"{saved['method']} {saved['path']}"
    if first != f"{signature['method']} {signature['path']}":
        raise StripeError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{first}' vs '{signature['method']} {signature['path']}'). Try "
            f"using a key other than '{key}' if you meant to execute a different request.",
        )
    if saved["params"] != signature["params"]:
        raise StripeError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
        )
    headers = {
        "Idempotency-Key": key,
        "Idempotent-Replayed": "true",
        "Original-Request": saved["request_id"],
    }
    return saved["status"], saved["body"], headers


def _remember(
    sim: "Simulator",
    scope: str,
    signature: dict[str, Any],
    status: int,
    body: dict[str, Any],
    request_id: str,
) -> None:
    now = sim.clock.timestamp()
    entry = {**signature, "status": status, "body": body, "request_id": request_id, "created": now}
    sim.store.remember_result(scope, entry, oldest_created=now - IDEMPOTENCY_KEY_LIFETIME_SECONDS)
