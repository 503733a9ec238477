"""Work that falls due with time rather than with a request (run by the ticker)."""

from typing import TYPE_CHECKING

from stripe_sim.services.checkout import expire_overdue_sessions
from stripe_sim.services.refunds import fail_due_refunds

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator


def run_due_work(sim: "Simulator") -> dict[str, int]:
    return {
        "expired_sessions": expire_overdue_sessions(sim),
        "failed_refunds": fail_due_refunds(sim),
    }
