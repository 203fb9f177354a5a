"""Server-side request windows for sandbox ledgers: refuse what a platform would throttle."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from syncledger.adapters.ratelimit import Rate


class WindowThrottle:
    """Sliding windows per key (a realm, a tenant): a request is admitted while fewer than
    ``limit`` were admitted in the last ``per`` seconds, for every rate. Refused requests
    are not counted."""

    def __init__(self, *rates: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = rates
        self._keep = max((r.limit for r in rates), default=1)
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, key: str) -> float | None:
        """None when admitted (and counted); otherwise seconds until a slot frees."""
        now = self._clock()
        admitted = self._admitted.setdefault(key, deque(maxlen=self._keep))
        waits = [
            admitted[-r.limit] + r.per - now
            for r in self._rates
            if len(admitted) >= r.limit and admitted[-r.limit] + r.per > now
        ]
        if waits:
            return max(waits)
        admitted.append(now)
        return None
