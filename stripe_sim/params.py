"""Parameter checking against the spec, as Stripe's API does it.

Stripe refuses parameters it does not know ("Received unknown parameter: …") and values of
the wrong type ("Invalid integer: abc"); the simulator does the same from the bundled spec,
so a request that works here is one the real API would accept. Values arrive as strings
(form or query encoding) and leave as ints, bools, lists and dicts.
"""

import re
from typing import Any

from stripe_sim import spec
from stripe_sim.protocol import StripeError, invalid_request, parameter_missing

_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def validate_params(method: str, spec_path: str, raw: dict[str, Any]) -> dict[str, Any]:
    schema = spec.request_schema(method, spec_path)
    return _coerce_object(schema, raw, "")


def _child(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if path else str(key)


def _coerce(schema: dict[str, Any], value: Any, path: str) -> Any:
    schema = spec.resolve(schema)
    if "anyOf" in schema:
        return _coerce_any_of(schema["anyOf"], value, path)
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid_request(f"Invalid object: {path} must be a hash", param=path)
        return _coerce_object(schema, value, path)
    if kind == "array":
        if not isinstance(value, list):
            raise invalid_request(f"Invalid array: {path} must be an array", param=path)
        return [_coerce(schema["items"], item, _child(path, i)) for i, item in enumerate(value)]
    if not isinstance(value, str):
        raise invalid_request(f"Invalid {path}: expected a single value", param=path)
    return _coerce_scalar(schema, kind, value, path)


def _coerce_object(schema: dict[str, Any], value: dict[str, Any], path: str) -> dict[str, Any]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", False)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            result[key] = _coerce(properties[key], item, _child(path, key))
        elif isinstance(extra, dict):
            result[key] = _coerce(extra, item, _child(path, key))
        elif extra is True:
            result[key] = item
        else:
            name = _child(path, key)
            raise invalid_request(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
    for key in schema.get("required", []):
        if key not in result:
            raise parameter_missing(_child(path, key))
    return result


def _coerce_scalar(schema: dict[str, Any], kind: str | None, value: str, path: str) -> Any:
    if kind == "integer":
        if not _INTEGER.fullmatch(value):
            raise invalid_request(
                f"Invalid integer: {value}", param=path, code="parameter_invalid_integer"
            )
        return int(value)
    if kind == "number":
        if not _NUMBER.fullmatch(value):
            raise invalid_request(f"Invalid decimal: {value}", param=path)
        return float(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise invalid_request(f"Invalid boolean: {value}", param=path)
        return value == "true"
    choices = schema.get("enum")
    if choices is not None and value not in choices:
        raise invalid_request(f"Invalid {path}: must be one of {_one_of(choices)}", param=path)
    limit = schema.get("maxLength")
    if limit is not None and len(value) > limit:
        raise invalid_request(
            f"Invalid {path}: must be at most {limit} characters",
            param=path,
            code="parameter_invalid_string_size",
        )
    return value


def _coerce_any_of(options: list[dict[str, Any]], value: Any, path: str) -> Any:
    """Take the first alternative of the value's shape that accepts it.

    Stripe uses ``anyOf`` for "an object, or an empty string to unset it" and for
    "an integer, or a range like created[gte]"; the shape of the value picks the branch.
    """
    fitting = [option for option in map(spec.resolve, options) if _fits(option, value)]
    if not fitting:
        raise invalid_request(f"Invalid value for {path}", param=path)
    errors: list[StripeError] = []
    for option in fitting:
        try:
            return _coerce(option, value, path)
        except StripeError as error:
            errors.append(error)
    raise errors[0]


def _fits(schema: dict[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    if "anyOf" in schema or kind is None:
        return True
    if isinstance(value, dict):
        return kind == "object"
    if isinstance(value, list):
        return kind == "array"
    return kind not in ("object", "array")


def _one_of(choices: list[Any]) -> str:
    names = [str(choice) for choice in choices if choice != ""]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f", or {names[-1]}"
