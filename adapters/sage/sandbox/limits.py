"""Sage's second published limit: "Maximum 100MB in any 60 minute period (per Accounting
business)" (developer.sage.com, Making an API request). The sandbox counts the bytes of
request and response bodies per business in a sliding window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MEGABYTE = 1024 * 1024


class ByteWindow:
    """Bytes moved in the last ``per`` seconds; refuses once ``limit`` is reached."""

    def __init__(
        self, limit: int, per: float = 3600.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._per = per
        self._clock = clock
        self._moved: deque[tuple[float, int]] = deque()
        self._total = 0

    def wait(self) -> float | None:
        """None while under the limit; otherwise seconds until enough bytes age out."""
        now = self._expire(self._clock())
        if self._total < self.limit:
            return None
        return self._moved[0][0] + self._per - now

    def add(self, size: int) -> None:
        self._moved.append((self._clock(), size))
        self._total += size

    def _expire(self, now: float) -> float:
        while self._moved and self._moved[0][0] + self._per <= now:
            self._total -= self._moved.popleft()[1]
        return now
