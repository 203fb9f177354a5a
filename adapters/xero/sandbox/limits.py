"""Xero's API limits as the sandbox enforces them (developer.xero.com/faq/limits; the 429s:
``refusals.py``, ``limit.*``). Every answer carries ``X-DayLimit-Remaining``,
``X-MinLimit-Remaining`` and ``X-AppMinLimit-Remaining``. Xero counts in fixed windows that
reset at different times per tenant; the sandbox counts in sliding windows, which a client
that respects them also respects. Windows are parameters so tests can shrink a minute to a
second. Refused calls are not counted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.xero.sandbox.errors import refuse


@dataclass
class _Window:
    rate: Rate
    rule: str
    stamps: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float | None:
        """Seconds until a call fits, or None when one fits now."""
        while self.stamps and self.stamps[0] <= now - self.rate.per:
            self.stamps.popleft()
        if len(self.stamps) < self.rate.limit:
            return None
        return self.stamps[0] + self.rate.per - now

    def remaining(self) -> int:
        return max(0, self.rate.limit - len(self.stamps))


class XeroLimits:
    """The limits of one sandbox app and its tenants."""

    def __init__(
        self,
        *,
        per_minute: Rate,
        per_day: Rate,
        app_per_minute: Rate,
        concurrent: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tenant_rates = (per_minute, per_day)
        self._app = _Window(app_per_minute, "limit.appminute")
        self._concurrent = concurrent
        self._clock = clock
        self._tenants: dict[str, tuple[_Window, _Window]] = {}
        self._in_flight: dict[str, int] = {}

    def admit(self, tenant: str) -> None:
        """Count one call, or raise the 429 Xero would answer."""
        if self._in_flight.get(tenant, 0) >= self._concurrent:
            raise refuse("limit.concurrent")
        now = self._clock()
        windows = (*self._windows(tenant), self._app)
        for window in windows:
            wait = window.wait(now)
            if wait is not None:
                raise refuse(window.rule, retry_after=float(max(1, math.ceil(wait))))
        for window in windows:
            window.stamps.append(now)
        self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1

    def release(self, tenant: str) -> None:
        self._in_flight[tenant] = max(0, self._in_flight.get(tenant, 0) - 1)

    def headers(self, tenant: str | None) -> dict[str, str]:
        headers = {"X-AppMinLimit-Remaining": str(self._app.remaining())}
        if tenant is not None:
            minute, day = self._windows(tenant)
            headers["X-MinLimit-Remaining"] = str(minute.remaining())
            headers["X-DayLimit-Remaining"] = str(day.remaining())
        return headers

    def _windows(self, tenant: str) -> tuple[_Window, _Window]:
        if tenant not in self._tenants:
            minute, day = self._tenant_rates
            self._tenants[tenant] = (_Window(minute, "limit.minute"), _Window(day, "limit.day"))
        return self._tenants[tenant]
