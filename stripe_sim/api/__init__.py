"""The ``/v1`` API: Stripe's endpoints, as the stripe SDK calls them."""

from typing import TYPE_CHECKING

from starlette.routing import Route

from stripe_sim.api import checkout, connect, events, payments
from stripe_sim.api.endpoint import Operation, make_endpoint

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


def api_routes(sim: "Simulator") -> list[Route]:
    """One route per path; the endpoint picks the operation by method."""
    operations = [
        *connect.OPERATIONS,
        *checkout.OPERATIONS,
        *payments.OPERATIONS,
        *events.OPERATIONS,
    ]
    by_path: dict[str, dict[str, Operation]] = {}
    for operation in operations:
        by_path.setdefault(operation.path, {})[operation.method] = operation
    return [
        Route(path, make_endpoint(sim, methods), methods=list(methods))
        for path, methods in by_path.items()
    ]
