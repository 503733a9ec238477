"""/v1/events: every event emitted, including those whose delivery was dropped."""

import fnmatch
from typing import Any

from stripe_sim.api.endpoint import ApiCall, Operation
from stripe_sim.protocol import resource_missing
from stripe_sim.services.listing import paginate


def _type_matches(event_type: str, params: dict[str, Any]) -> bool:
    # `type` takes one type or a wildcard ("checkout.session.*"); `types` a list of types.
    if "type" in params and not fnmatch.fnmatchcase(event_type, params["type"]):
        return False
    return "types" not in params or event_type in params["types"]


def list_events(call: ApiCall) -> dict[str, Any]:
    events = [
        record.body
        for record in call.sim.store.records("event", call.account)
        if _type_matches(record.body["type"], call.params)
    ]
    if "delivery_success" in call.params:
        wanted = call.params["delivery_success"]
        events = [event for event in events if (event["pending_webhooks"] == 0) == wanted]
    return paginate(events, call.params, call.path, "event")


def retrieve_event(call: ApiCall) -> dict[str, Any]:
    event_id = call.path_params["id"]
    record = call.sim.store.get("event", event_id, call.account)
    if record is None:
        raise resource_missing("event", event_id)
    return record.body


OPERATIONS = [
    Operation("GET", "/v1/events", list_events),
    Operation("GET", "/v1/events/{id}", retrieve_event),
]
