"""The waiting list's services, by sub-domain:

- ``offers``: joining, declining, leaving, accepting, expiring and the sweep — the entry
  points views, jobs and payments call;
- ``queue``: the bookkeeping each of them is made of, under the ticket type's lock;
- ``checkout_hold``: how a paid offer whose buyer is paying outlives its expiry;
- ``catalogue``: catalogue changes that serve the queue (an event's capacity raised);
- ``closing``: an event cancelled, its queues closed.

Callers use the names exported here: ``from waitlist import services``.
"""

from waitlist.errors import OfferExpired, OfferNoLongerLive, WaitlistError
from waitlist.services.catalogue import update_event
from waitlist.services.closing import ClosedQueue, close_queue_of_event
from waitlist.services.offers import (
    JoinResult,
    accept_offer,
    decline_offer,
    expire_offer,
    expire_overdue_offers,
    expire_overdue_offers_of_event,
    hold_for_checkout,
    join_waiting_list,
    leave_waiting_list,
    release_after_checkout,
    serve_queue,
    sweep,
)

__all__ = [
    "ClosedQueue",
    "JoinResult",
    "OfferExpired",
    "OfferNoLongerLive",
    "WaitlistError",
    "accept_offer",
    "close_queue_of_event",
    "decline_offer",
    "expire_offer",
    "expire_overdue_offers",
    "expire_overdue_offers_of_event",
    "hold_for_checkout",
    "join_waiting_list",
    "leave_waiting_list",
    "release_after_checkout",
    "serve_queue",
    "sweep",
    "update_event",
]
