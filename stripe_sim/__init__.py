"""A local stand-in for the parts of Stripe's API that Ticket Hub uses.

The site talks to it only through the real ``stripe`` SDK, so everything here follows the
wire protocol, objects and webhooks of Stripe's API version 2024-04-10 (see ``openapi/``).
Start it with ``python -m stripe_sim`` or, in tests, with ``stripe_sim.testing.SimulatorServer``.
"""

from stripe_sim.app import create_app
from stripe_sim.settings import SimulatorSettings

__all__ = ["SimulatorSettings", "create_app"]
