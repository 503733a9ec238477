"""/v1/checkout/sessions."""

from typing import Any

from stripe_sim.api.endpoint import ApiCall, Operation
from stripe_sim.services import checkout
from stripe_sim.services.listing import paginate


def create_session(call: ApiCall) -> dict[str, Any]:
    return checkout.create_session(call.sim, call.params, call.account, call.base_url)


def list_sessions(call: ApiCall) -> dict[str, Any]:
    filters = {
        name: call.params[name] for name in ("payment_intent", "status") if name in call.params
    }
    sessions = [
        record.body
        for record in call.sim.store.records("checkout.session", call.account)
        if all(record.body.get(name) == value for name, value in filters.items())
    ]
    return paginate(sessions, call.params, call.path, "checkout.session")


def retrieve_session(call: ApiCall) -> dict[str, Any]:
    return checkout.session_record(call.sim, call.path_params["session"], call.account).body


def expire_session(call: ApiCall) -> dict[str, Any]:
    record = checkout.session_record(call.sim, call.path_params["session"], call.account)
    return checkout.expire_session(call.sim, record, call.origin)


def list_line_items(call: ApiCall) -> dict[str, Any]:
    record = checkout.session_record(call.sim, call.path_params["session"], call.account)
    return paginate(record.private["line_items"], call.params, call.path, "item")


OPERATIONS = [
    Operation("POST", "/v1/checkout/sessions", create_session),
    Operation("GET", "/v1/checkout/sessions", list_sessions),
    Operation("GET", "/v1/checkout/sessions/{session}", retrieve_session),
    Operation("POST", "/v1/checkout/sessions/{session}/expire", expire_session),
    Operation("GET", "/v1/checkout/sessions/{session}/line_items", list_line_items),
]
