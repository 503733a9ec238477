"""Access to the bundled OpenAPI subset (Stripe API 2024-04-10, see openapi/README.md).

The simulator reads it at run time to accept exactly the parameters Stripe accepts; the
contract tests read it to check the simulator's answers.
"""

import functools
import json
from pathlib import Path
from typing import Any

SPEC_FILE = Path(__file__).parent / "openapi" / "openapi-subset.json"
_REF_PREFIX = "#/components/schemas/"


@functools.cache
def load_spec() -> dict[str, Any]:
    with SPEC_FILE.open(encoding="utf-8") as spec_file:
        return json.load(spec_file)


def component(name: str) -> dict[str, Any]:
    return load_spec()["components"]["schemas"][name]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` links until a concrete schema is reached."""
    while "$ref" in schema:
        schema = component(schema["$ref"].removeprefix(_REF_PREFIX))
    return schema


def operation(method: str, spec_path: str) -> dict[str, Any]:
    return load_spec()["paths"][spec_path][method.lower()]


@functools.cache
def request_schema(method: str, spec_path: str) -> dict[str, Any]:
    """The parameters of an operation as one object schema.

    POST operations describe their form body in ``requestBody``; GET and DELETE list query
    parameters one by one, which are gathered here into the same shape.
    """
    op = operation(method, spec_path)
    if method.upper() == "POST":
        content = op.get("requestBody", {}).get("content", {})
        form = content.get("application/x-www-form-urlencoded", {})
        return form.get("schema", {"type": "object", "properties": {}})
    query = [param for param in op.get("parameters", []) if param["in"] == "query"]
    return {
        "type": "object",
        "properties": {param["name"]: param["schema"] for param in query},
        "required": [param["name"] for param in query if param.get("required")],
    }


def response_schema(method: str, spec_path: str) -> dict[str, Any]:
    op = operation(method, spec_path)
    return op["responses"]["200"]["content"]["application/json"]["schema"]
