"""Client-side rate limits per ledger tenant, respected *before* a request is sent."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` requests in any window of ``per`` seconds."""

    limit: int
    per: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per <= 0:
            raise ValueError(f"a rate needs limit >= 1 and per > 0, got {self.limit}/{self.per}s")

    def scaled(self, factor: float) -> Rate:
        """The same window with ``limit`` multiplied by ``factor`` (see :func:`scaled_count`)."""
        return Rate(scaled_count(self.limit, factor), self.per)


def scaled_count(count: int, factor: float) -> int:
    """``count`` requests (or concurrent calls) multiplied by a rate scale: rounded down,
    never below 1, and exactly ``count`` at a factor of 1."""
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"a rate scale must be a positive finite number, got {factor!r}")
    return max(1, math.floor(count * factor + 1e-9))


class RateLimiter:
    """Token bucket for one tenant where every token spent comes back exactly one window
    later (a sliding window), with any number of rates held at once (QBO: 10/s and 500/min).

    A bucket refilled at a constant rate lets ``2 × limit`` through in a window that
    straddles a refill, and a ledger counting per window answers 429 to that. This one never
    lets more than ``limit`` start in any ``per × (1 + slack)`` seconds; ``slack`` absorbs
    the gap between our clock at send time and the ledger's clock at arrival. Waiters are
    served in arrival order.
    """

    def __init__(
        self,
        *rates: Rate,
        slack: float = 0.05,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rates:
            raise ValueError("a rate limiter needs at least one Rate")
        self.rates = rates
        self._windows = [(r.limit, r.per * (1 + slack)) for r in rates]
        self._keep = max(r.limit for r in rates)
        self._sent: deque[float] = deque(maxlen=self._keep)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits every rate, then count it as sent."""
        async with self._lock:
            while (delay := self._delay(self._clock())) > 0:
                await self._sleep(delay)
            self._sent.append(self._clock())

    def _delay(self, now: float) -> float:
        waits = [
            self._sent[-limit] + window - now
            for limit, window in self._windows
            if len(self._sent) >= limit
        ]
        return max(waits, default=0.0)


class RateLimiters:
    """One limiter per tenant key (e.g. ``qbo:<realm id>``), shared by every client of
    that tenant in this process. Built by the composition root, never at import time."""

    def __init__(self, *rates: Rate, slack: float = 0.05) -> None:
        self._rates = rates
        self._slack = slack
        self._limiters: dict[str, RateLimiter] = {}

    def for_tenant(self, key: str) -> RateLimiter:
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(*self._rates, slack=self._slack)
        return self._limiters[key]
