"""``expand[]``: replace an id in a response by the object it names, as Stripe does.

https://docs.stripe.com/expand: dotted paths reach into expanded objects
(``payment_intent.latest_charge``), ``data.`` reaches into the items of a list, and a
few fields exist only when expanded (a session's ``line_items``, a charge's ``refunds``).
"""

import copy
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.common import list_object
from stripe_sim.protocol import invalid_request

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

MAX_DEPTH = 4  # Stripe: "You can expand … up to four levels deep"
_KIND_BY_PREFIX = {
    "pi_": "payment_intent",
    "ch_": "charge",
    "re_": "refund",
    "fee_": "application_fee",
    "acct_": "account",
    "cs_": "checkout.session",
}
# Objects that live on the platform even when the call is made for a connected account.
_PLATFORM_KINDS = {"application_fee", "account"}


def expand(
    sim: "Simulator", body: dict[str, Any], paths: list[str], account: str | None
) -> dict[str, Any]:
    if not paths:
        return body
    body = copy.deepcopy(body)  # never expand the stored object itself
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise invalid_request(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        _expand_path(sim, body, parts, account, path)
    return body


def _expand_path(
    sim: "Simulator", obj: dict[str, Any], parts: list[str], account: str | None, path: str
) -> None:
    if obj.get("object") == "list" and parts[0] == "data":
        for item in obj["data"]:
            _expand_path(sim, item, parts[1:], account, path)
        return
    if not parts:
        return
    field, rest = parts[0], parts[1:]
    value = obj.get(field)
    if value is None:
        value = _includable(sim, obj, field, account)
        if value is None:
            if field in obj:
                return  # a null reference stays null
            raise _cannot_expand(path)
        obj[field] = value
    elif isinstance(value, str):
        value = obj[field] = _load(sim, value, account, path)
    if rest:
        if not isinstance(value, dict):
            raise _cannot_expand(path)
        _expand_path(sim, value, rest, account, path)


def _load(sim: "Simulator", object_id: str, account: str | None, path: str) -> dict[str, Any]:
    for prefix, kind in _KIND_BY_PREFIX.items():
        if object_id.startswith(prefix):
            scope = None if kind in _PLATFORM_KINDS else account
            record = sim.store.get(kind, object_id, scope)
            if record is not None:
                return copy.deepcopy(record.body)
    raise _cannot_expand(path)


def _includable(
    sim: "Simulator", obj: dict[str, Any], field: str, account: str | None
) -> dict[str, Any] | None:
    kind, object_id = obj.get("object"), obj.get("id", "")
    if kind == "checkout.session" and field == "line_items":
        record = sim.store.find("checkout.session", object_id)
        items = record.private["line_items"] if record else []
        return list_object(items, f"/v1/checkout/sessions/{object_id}/line_items")
    if kind == "charge" and field == "refunds":
        refunds = [
            record.body
            for record in sim.store.records("refund", account)
            if record.body["charge"] == object_id
        ]
        return list_object(copy.deepcopy(refunds), f"/v1/charges/{object_id}/refunds")
    return None


def _cannot_expand(path: str):
    return invalid_request(f"This property cannot be expanded ({path}).", param="expand")
