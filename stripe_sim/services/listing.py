"""Stripe's list endpoints: newest first, ``limit``, cursors and ``created`` ranges."""

from typing import Any

from stripe_sim.objects.common import list_object
from stripe_sim.protocol import invalid_request, resource_missing


def paginate(
    objects: list[dict[str, Any]], params: dict[str, Any], url: str, label: str
) -> dict[str, Any]:
    """One page of ``objects`` (already newest first), as ``{object: "list", data, has_more,
    url}``. ``label`` names the object in "No such …" errors for unknown cursors."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise invalid_request(
            "Invalid limit: must be between 1 and 100",
            param="limit",
            code="parameter_invalid_integer",
        )
    objects = [obj for obj in objects if _created_matches(obj, params.get("created"))]
    if "starting_after" in params and "ending_before" in params:
        raise invalid_request(
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    if "starting_after" in params:
        index = _index_of(objects, params["starting_after"], "starting_after", label)
        page = objects[index + 1 : index + 1 + limit]
        return list_object(page, url, has_more=len(objects) > index + 1 + limit)
    if "ending_before" in params:
        index = _index_of(objects, params["ending_before"], "ending_before", label)
        start = max(index - limit, 0)
        return list_object(objects[start:index], url, has_more=start > 0)
    return list_object(objects[:limit], url, has_more=len(objects) > limit)


def _index_of(objects: list[dict[str, Any]], object_id: str, param: str, label: str) -> int:
    for index, obj in enumerate(objects):
        if obj.get("id") == object_id:
            return index
    raise resource_missing(label, object_id, param=param, status=400)


def _created_matches(obj: dict[str, Any], created: int | dict[str, int] | None) -> bool:
    if created is None or "created" not in obj:
        return True
    value = obj["created"]
    if isinstance(created, int):
        return value == created
    bounds = {
        "gt": lambda limit: value > limit,
        "gte": lambda limit: value >= limit,
        "lt": lambda limit: value < limit,
        "lte": lambda limit: value <= limit,
    }
    return all(bounds[name](limit) for name, limit in created.items())
