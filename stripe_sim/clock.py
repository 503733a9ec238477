"""The simulator's clock: wall time plus an offset that tests can move forward."""

import threading
import time


class Clock:
    """Every time-dependent rule (expiry of sessions and links, ``created`` stamps, webhook
    signatures) reads this clock, so ``POST /_sim/clock`` moves them all together."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return time.time() + self._offset

    def timestamp(self) -> int:
        """Unix seconds, the unit of every Stripe timestamp (``created``, ``expires_at``)."""
        return int(self.now())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def set_offset(self, offset_seconds: float) -> None:
        with self._lock:
            self._offset = offset_seconds
