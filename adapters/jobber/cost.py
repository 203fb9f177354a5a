"""Client side of Jobber's query-cost leaky bucket.

Each answer carries ``extensions.cost.throttleStatus{maximumAvailable, currentlyAvailable,
restoreRate}`` (https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits/).
Before a query, the bucket is refilled by ``restoreRate`` since the last answer and, when it
holds less than what the same query cost last time, we wait for the difference.
``throttleStatus`` is read at run time rather than hard-coded (SOURCES.md §2.1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class CostBucket:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._available: float | None = None
        self._maximum = 0.0
        self._rate = 0.0
        self._at = 0.0
        self._costs: dict[str, float] = {}
        self.waits = 0  # how often a query was held back

    def _now_available(self) -> float | None:
        if self._available is None:
            return None
        refill = (self._clock() - self._at) * self._rate
        return min(self._maximum, self._available + refill)

    async def wait_for(self, query_name: str) -> None:
        need = self._costs.get(query_name, max(self._costs.values(), default=0.0))
        have = self._now_available()
        if have is None or have >= need or self._rate <= 0:
            return
        self.waits += 1
        await self._sleep((need - have) / self._rate)

    def observe(self, query_name: str, body: Any) -> None:
        try:
            cost = body["extensions"]["cost"]
            status = cost["throttleStatus"]
            self._costs[query_name] = float(cost["requestedQueryCost"])
            self._maximum = float(status["maximumAvailable"])
            self._rate = float(status["restoreRate"])
            self._available = float(status["currentlyAvailable"])
            self._at = self._clock()
        except (KeyError, TypeError, ValueError):
            return
