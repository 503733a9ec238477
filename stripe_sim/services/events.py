"""Emitting events: store them for /v1/events and queue them for the webhook endpoint."""

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.common import event_object

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


@dataclasses.dataclass(frozen=True)
class Origin:
    """The API request behind a change, reported in the event's ``request`` field; both are
    None for changes nobody asked for through the API (expiry, hosted pages)."""

    request_id: str | None = None
    idempotency_key: str | None = None


AUTOMATIC = Origin()


def emit(
    sim: "Simulator",
    event_type: str,
    data_object: dict[str, Any],
    *,
    account: str | None,
    origin: Origin = AUTOMATIC,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record an event about ``data_object`` as it is now (a deep copy: later changes to
    the object must not show in an event already sent)."""
    connected = account is not None
    event = event_object(
        event_type=event_type,
        created=sim.clock.timestamp(),
        data_object=copy.deepcopy(data_object),
        account=account,
        previous_attributes=previous_attributes,
        request_id=origin.request_id,
        idempotency_key=origin.idempotency_key,
        pending_webhooks=1 if sim.dispatcher.listens_for(connected) else 0,
    )
    sim.store.add("event", event, account=account)
    sim.dispatcher.enqueue(event)
    return event


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The old values of what changed, nested as Stripe sends ``data.previous_attributes``
    on ``*.updated`` events (only the changed keys of a changed sub-object)."""
    changed: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = old
    return changed
