"""/v1/payment_intents, /v1/charges, /v1/refunds, /v1/application_fees and /v1/balance."""

import copy
from typing import Any

from stripe_sim.api.endpoint import ApiCall, Operation
from stripe_sim.protocol import resource_missing
from stripe_sim.services import refunds
from stripe_sim.services.balance import balance_for
from stripe_sim.services.events import emit, previous_attributes
from stripe_sim.services.listing import paginate
from stripe_sim.services.validation import check_metadata, merged_metadata, not_simulated
from stripe_sim.store import Record

# On objects Checkout made, only these can change through the API.
UPDATABLE = ("metadata", "description", "expand")


def _record(call: ApiCall, kind: str, path_param: str) -> Record:
    object_id = call.path_params[path_param]
    record = call.sim.store.get(kind, object_id, call.account)
    if record is None:
        raise resource_missing(kind, object_id, param=path_param)
    return record


def _update(call: ApiCall, record: Record) -> dict[str, Any]:
    for name in call.params:
        if name not in UPDATABLE:
            raise not_simulated(name)
    before = copy.deepcopy(record.body)
    if "metadata" in call.params:
        check_metadata(call.params["metadata"])
        record.body["metadata"] = merged_metadata(record.body["metadata"], call.params["metadata"])
    if "description" in call.params:
        record.body["description"] = call.params["description"] or None
    call.sim.store.save(record)
    return previous_attributes(before, record.body)


def retrieve_intent(call: ApiCall) -> dict[str, Any]:
    return _record(call, "payment_intent", "intent").body


def update_intent(call: ApiCall) -> dict[str, Any]:
    record = _record(call, "payment_intent", "intent")
    _update(call, record)  # Stripe has no payment_intent.updated event
    return record.body


def retrieve_charge(call: ApiCall) -> dict[str, Any]:
    return _record(call, "charge", "charge").body


def update_charge(call: ApiCall) -> dict[str, Any]:
    record = _record(call, "charge", "charge")
    changed = _update(call, record)
    if changed:
        emit(
            call.sim,
            "charge.updated",
            record.body,
            account=record.account,
            origin=call.origin,
            previous_attributes=changed,
        )
    return record.body


def create_refund(call: ApiCall) -> dict[str, Any]:
    return refunds.create_refund(call.sim, call.params, call.account, call.origin)


def list_refunds(call: ApiCall) -> dict[str, Any]:
    filters = {
        name: call.params[name] for name in ("charge", "payment_intent") if name in call.params
    }
    found = [
        record.body
        for record in call.sim.store.records("refund", call.account)
        if all(record.body.get(name) == value for name, value in filters.items())
    ]
    return paginate(found, call.params, call.path, "refund")


def retrieve_refund(call: ApiCall) -> dict[str, Any]:
    return refunds.refund_record(call.sim, call.path_params["refund"], call.account).body


def update_refund(call: ApiCall) -> dict[str, Any]:
    record = refunds.refund_record(call.sim, call.path_params["refund"], call.account)
    return refunds.update_refund(call.sim, record, call.params, call.origin)


def retrieve_application_fee(call: ApiCall) -> dict[str, Any]:
    # Fees are the platform's: a call made as the connected account does not see them.
    return _record(call, "application_fee", "id").body


def retrieve_balance(call: ApiCall) -> dict[str, Any]:
    return balance_for(call.sim, call.account)


OPERATIONS = [
    Operation("GET", "/v1/payment_intents/{intent}", retrieve_intent),
    Operation("POST", "/v1/payment_intents/{intent}", update_intent),
    Operation("GET", "/v1/charges/{charge}", retrieve_charge),
    Operation("POST", "/v1/charges/{charge}", update_charge),
    Operation("POST", "/v1/refunds", create_refund),
    Operation("GET", "/v1/refunds", list_refunds),
    Operation("GET", "/v1/refunds/{refund}", retrieve_refund),
    Operation("POST", "/v1/refunds/{refund}", update_refund),
    Operation("GET", "/v1/application_fees/{id}", retrieve_application_fee),
    Operation("GET", "/v1/balance", retrieve_balance),
]
