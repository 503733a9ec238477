"""Stripe's wire protocol: bracket-notation parameters, API keys, ids and the error object."""

import base64
import binascii
import json
import re
import secrets
import string
from typing import Any

# Stripe ids are a type prefix and a run of letters and digits (e.g. "cs_test_a1B2…").
_ID_ALPHABET = string.ascii_letters + string.digits
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")
API_VERSION = "2024-04-10"
DOCS = "https://stripe.com/docs"


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_request_id() -> str:
    return new_id("req_", 14)


class StripeError(Exception):
    """An answer in Stripe's error shape: ``{"error": {"type", "message", "code"?, "param"?}}``.

    stripe-python picks its exception class from the status (see
    ``_APIRequestor.specific_v1_api_error``): 400/404 InvalidRequestError, or IdempotencyError
    when ``type`` is ``idempotency_error``; 401 AuthenticationError; 402 CardError;
    403 PermissionError; 429 RateLimitError; anything else APIError.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return error

    def body(self) -> dict[str, Any]:
        return {"error": self.to_dict()}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def parameter_missing(param: str) -> StripeError:
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def resource_missing(label: str, object_id: str, *, param: str = "id", status: int = 404):
    """404 for an id in the path; Stripe answers 400 for an id named in the parameters."""
    return invalid_request(
        f"No such {label}: '{object_id}'", param=param, code="resource_missing", status=status
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see {DOCS} or we can help at "
        "https://support.stripe.com/.",
        status=404,
    )


def parse_form(text: str) -> dict[str, Any]:
    """Turn ``a[b][0][c]=1&expand[]=x`` into ``{"a": {"b": [{"c": "1"}]}, "expand": ["x"]}``.

    This is the encoding of stripe-python's ``_api_encode``: nested dicts become ``[key]``,
    lists become ``[0]``, ``[1]``… (``[]`` is accepted too, as Stripe's API does), booleans
    ``true``/``false``. Values stay strings here; ``params.py`` converts them per the spec.
    """
    from urllib.parse import parse_qsl

    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        _insert(root, _split_key(key), value, key)
    return _lists_from_indexes(root)


def _split_key(key: str) -> list[str]:
    bracket = key.find("[")
    if bracket == -1:
        return [key]
    rest = key[bracket:]
    parts = _KEY_PART.findall(rest)
    if "".join(f"[{part}]" for part in parts) != rest or bracket == 0:
        raise invalid_request(f"Invalid parameter name: {key}", param=key)
    return [key[:bracket], *parts]


def _insert(root: dict[str, Any], parts: list[str], value: str, full_key: str) -> None:
    node = root
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        name = str(len(node)) if part == "" else part
        if last:
            if isinstance(node.get(name), dict):
                raise invalid_request(f"Invalid parameter: {full_key}", param=full_key)
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid parameter: {full_key}", param=full_key)
        node = child


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexes(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def authenticate(authorization: str | None) -> str:
    """Return the secret key of ``Authorization: Bearer sk_test_…`` (or Basic, as curl -u
    sends it). Any test-mode secret key is accepted; this simulator has no live mode."""
    key = _key_from_header(authorization or "")
    if not key:
        raise invalid_request(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            f"YOUR_SECRET_KEY'). See {DOCS}/api#authentication for details, or we can help at "
            "https://support.stripe.com/.",
            status=401,
        )
    if not (key.startswith("sk_test_") or key.startswith("rk_test_")):
        raise invalid_request(f"Invalid API Key provided: {redact_key(key)}", status=401)
    return key


def api_key_of(authorization: str | None) -> str:
    """The key an ``Authorization`` header carries ("" when none), unchecked."""
    return _key_from_header(authorization or "")


def _key_from_header(header: str) -> str:
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    return ""


def redact_key(key: str) -> str:
    prefix = key[: key.find("_", key.find("_") + 1) + 1] if key.count("_") >= 2 else ""
    return prefix + "*" * max(len(key) - len(prefix) - 4, 0) + key[-4:]


def encode_json(body: Any) -> bytes:
    # Stripe answers (and signs webhooks over) JSON indented by two spaces.
    return json.dumps(body, indent=2).encode()


def error_response_parts(
    error: StripeError, request_id: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw ASGI headers and body of an error answer (for code below Starlette)."""
    body = encode_json(error.body())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"request-id", request_id.encode()),
        (b"stripe-version", API_VERSION.encode()),
    ]
    return error.status, headers, body
