"""Hooks: how a lower app lets a higher one react, without importing it.

The apps depend one way (README, "How the apps depend on each other"): audit, events,
tickets, waitlist, payments, then search. When something in a lower app must make a higher
app act — an event changed, so the search index must follow; an offer ended while its
buyer was at Stripe's checkout, so payments must close that checkout — the lower app
declares a ``Hook`` in its ``hooks.py`` and calls ``fire`` at the moment it happens; the
higher app connects a listener in its ``AppConfig.ready()``.

Listeners run synchronously, in the caller's transaction and under the caller's locks, in
the order they were connected. A listener that must not run before the commit (a job, an
e-mail, a call to Stripe) defers itself with ``transaction.on_commit``; one that writes to
the database (the search index) runs in the transaction, so its write commits or rolls
back with the change. An exception in a listener propagates: the change rolls back.

Every hook and who listens (``tests/test_hooks.py`` checks this list against the
listeners actually connected):

- ``events.hooks.event_changed``: an event was created, edited, published or unpublished.
  Listeners: ``search.listeners.reindex_event``.
- ``waitlist.hooks.checkout_must_close``: an offer whose buyer may be paying at Stripe ended
  (declined, or overdue while its checkout was open). Listeners:
  ``payments.listeners.close_checkout_after_commit``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Hook[Payload]:
    """A named point in a lower app that higher apps may react to; ``Payload`` is the
    frozen dataclass passed to every listener."""

    name: str
    listeners: list[Callable[[Payload], None]] = field(default_factory=list)

    def connect(self, listener: Callable[[Payload], None]) -> None:
        """Add a listener (from an AppConfig.ready()); connecting one twice is a no-op, so a
        ready() that runs again (tests) does not make it run twice."""
        if listener not in self.listeners:
            self.listeners.append(listener)

    def fire(self, payload: Payload) -> None:
        for listener in self.listeners:
            listener(payload)

    def listener_names(self) -> list[str]:
        return [f"{listener.__module__}.{listener.__qualname__}" for listener in self.listeners]
