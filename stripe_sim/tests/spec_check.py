"""A small recursive checker of Stripe objects against the bundled OpenAPI spec.

For an object schema: every required field is present; every field present is one the
spec lists (when it lists any) and has the right type. ``$ref`` is followed, ``anyOf``
passes when one alternative passes (this is how the spec writes "an id, or the expanded
object"), and null passes only where the spec says ``nullable``.
"""

from typing import Any

from stripe_sim import spec

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def problems(schema: dict[str, Any] | str, value: Any, path: str = "$") -> list[str]:
    """Everything wrong with ``value``; an empty list means it fits the schema."""
    if isinstance(schema, str):
        schema = spec.component(schema)
    schema = spec.resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null where the spec allows none"]
    if "anyOf" in schema:
        return _any_of(schema["anyOf"], value, path)
    kind = schema.get("type")
    if kind is None:
        return []
    is_boolean = isinstance(value, bool)
    if is_boolean != (kind == "boolean") or not isinstance(value, _PYTHON_TYPES[kind]):
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
    if kind == "object":
        return _object(schema, value, path)
    if kind == "array":
        found: list[str] = []
        for index, item in enumerate(value):
            found += problems(schema["items"], item, f"{path}[{index}]")
        return found
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    return []


def _object(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    found = [
        f"{path}.{key}: required field missing"
        for key in schema.get("required", [])
        if key not in value
    ]
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if properties is not None and key in properties:
            found += problems(properties[key], item, f"{path}.{key}")
        elif isinstance(extra, dict):
            found += problems(extra, item, f"{path}.{key}")
        elif properties:
            found.append(f"{path}.{key}: not a field of this object in the spec")
    return found


def _any_of(options: list[dict[str, Any]], value: Any, path: str) -> list[str]:
    results = [problems(option, value, path) for option in options]
    if any(not result for result in results):
        return []
    return min(results, key=len)


def check_operation(method: str, spec_path: str, body: Any) -> list[str]:
    """Problems of a 200 answer of ``method spec_path``."""
    return problems(spec.response_schema(method, spec_path), body, f"{method} {spec_path}")
