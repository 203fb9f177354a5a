"""Client-side rate limits per ledger tenant, respected *before* a request is sent.

A limiter can be handed over between processes (issue 13, "Shared rate limits"): its
usage (:meth:`RateLimiter.usage`) is published by the partition's owner and seeded into
the next owner's limiter (:meth:`RateLimiter.seed`); a *horizon* and an *allowance*
(:meth:`RateLimiter.hold_until`) bound how long, and how many more requests, the owner may
send after its last published usage. The handover
itself (what is assumed for the unknown gap, which snapshot is ignored) is in
:mod:`syncledger.adapters.rate_usage`.

A limiter also tells how close it is to holding requests back (:meth:`RateLimiter.used`,
:meth:`RateLimiter.pressed`); :class:`LimiterPressure` collects the limiters a ledger
adapter builds (:func:`watching_pressure`) and is the worker's
:class:`syncledger.core.ports.RatePressure` for that ledger (issue 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from syncledger.core.metrics import RATE_LIMIT_WAIT

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: a limiter whose tightest window is more than this share used is pressed
PRESSED_AT = 0.7


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


class LimiterRegistry(Protocol):
    """Collects the limiters built while it is current (:data:`LIMITER_REGISTRY`)."""

    def register(self, limiter: RateLimiter) -> None: ...


#: the registry limiters join when they are built (set by the partition owner around the
#: work of one partition, so the limiters its adapters build can be handed over); none
#: by default, when a limiter is just a limiter
LIMITER_REGISTRY: ContextVar[LimiterRegistry | None] = ContextVar("LIMITER_REGISTRY", default=None)


@dataclass(frozen=True, slots=True)
class LimiterUsage:
    """What a limiter has counted, on its own clock: the answered requests' times and
    how many requests are still in flight."""

    answered: tuple[float, ...]
    in_flight: int
    started: int  # requests started since the limiter was built, ever


class _Slot:
    """One request's place in the window: its send time, then its answer time."""

    __slots__ = ("at", "done")

    def __init__(self, at: float, done: bool) -> None:
        self.at = at
        self.done = done


class RateLimiter:
    """Sliding windows for one tenant, any number of rates held at once (QBO: 10/s and
    500/min), respected before a request is sent.

    A ledger counts a request when it *arrives*, somewhere between our send and its
    answer. So a request still in flight counts as "now" until its answer, and an answered
    one counts at its answer time (``slot()``): no arrival jitter can make the ledger see
    more than ``limit`` in a window. (A bucket refilled at a constant rate would let
    ``2 × limit`` through around a refill.) ``slack`` widens each window a little more for
    clock differences. Waiters are served in arrival order.
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
        self._sent: deque[_Slot] = deque(maxlen=self._keep)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._answered = asyncio.Event()
        self._horizon = math.inf  # no request starts at or after it (see hold_until)
        self._started, self._max_started = 0, math.inf  # nor once this many have started
        self._extended = asyncio.Event()
        registry = LIMITER_REGISTRY.get()
        if registry is not None:
            registry.register(self)

    @property
    def name(self) -> str:
        """The rates, e.g. ``10/1s+500/60s``: what a handed-over usage is matched by."""
        return "+".join(f"{r.limit}/{r.per:g}s" for r in self.rates)

    @property
    def widest(self) -> float:
        """The longest window, slack included: older requests no longer count."""
        return max(window for _limit, window in self._windows)

    @property
    def keep(self) -> int:
        """How many of the latest requests the limiter keeps (the largest limit)."""
        return self._keep

    def hold_until(self, horizon: float, max_started: float = math.inf) -> None:
        """No request starts at or after ``horizon`` (this limiter's clock), nor once
        ``max_started`` requests have started in all (``usage().started``), until they are
        moved on; requests wait for that. ``-inf`` stops every new request for good."""
        self._horizon, self._max_started = horizon, max_started
        self._extended.set()

    def usage(self) -> LimiterUsage:
        """The requests counted now: answered ones with their answer times, and the
        number still in flight."""
        answered = tuple(s.at for s in self._sent if s.done)
        return LimiterUsage(answered, sum(1 for s in self._sent if not s.done), self._started)

    def used(self) -> float:
        """The share of its tightest window in use now: per rate, the requests that count
        within its window (slack included; in flight: counted as now) over its limit."""
        now = self._clock()
        return max(self._counted(now - window) / limit for limit, window in self._windows)

    def pressed(self) -> bool:
        """Whether a window is more than ``PRESSED_AT`` used: a few more requests and
        the next one waits."""
        return self.used() > PRESSED_AT

    def _counted(self, since: float) -> int:
        return sum(1 for s in self._sent if _effective(s) > since)

    def seed(self, times: Iterable[float]) -> None:
        """Count requests another process made, at ``times`` (this limiter's clock), as
        if this limiter had let them through; the latest ``keep`` of all are kept."""
        slots = sorted([*self._sent, *(_Slot(t, True) for t in times)], key=_effective)
        self._sent = deque(slots[-self._keep :], maxlen=self._keep)

    async def acquire(self) -> None:
        """Wait until one more request fits every rate; count it as sent now."""
        await self._reserve(done=True)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one request while it is in flight; it counts from its answer."""
        held = await self._reserve(done=False)
        try:
            yield
        finally:
            held.at, held.done = max(held.at, self._clock()), True
            self._answered.set()

    async def _reserve(self, *, done: bool) -> _Slot:
        async with self._lock:
            while True:
                self._answered.clear()  # before looking: no answer can slip in unseen
                self._extended.clear()
                if self._held_back():  # past the published usage: wait for a newer one
                    await self._extended.wait()
                    continue
                delay = self._delay(self._clock())
                if delay <= 0:
                    break
                waited_from = self._clock()
                if math.isinf(delay):  # the window is full of requests still in flight
                    await self._answered.wait()
                else:
                    await self._sleep(delay)
                RATE_LIMIT_WAIT.inc(max(0.0, self._clock() - waited_from))
            held = _Slot(self._clock(), done)
            self._sent.append(held)
            self._started += 1
            return held

    def _held_back(self) -> bool:
        return self._clock() >= self._horizon or self._started >= self._max_started

    def _delay(self, now: float) -> float:
        """Seconds until one more request fits (``inf``: until an answer comes back)."""
        if not self._sent:
            return 0.0
        latest_first = sorted((s.at if s.done else math.inf for s in self._sent), reverse=True)
        waits = [
            latest_first[limit - 1] + window - now
            for limit, window in self._windows
            if len(latest_first) >= limit
        ]
        return max(waits, default=0.0)


def _effective(slot: _Slot) -> float:
    return slot.at if slot.done else math.inf


class LimiterPressure:
    """The limiters built while it is the current registry (:func:`watching_pressure`),
    each also handed to the registry current before (a handover's, a benchmark's);
    pressed while any of them is (``core.ports.RatePressure``)."""

    def __init__(self, outer: LimiterRegistry | None = None) -> None:
        self.limiters: list[RateLimiter] = []
        self._outer = outer

    def register(self, limiter: RateLimiter) -> None:
        self.limiters.append(limiter)
        if self._outer is not None:
            self._outer.register(limiter)

    def pressed(self) -> bool:
        return any(limiter.pressed() for limiter in self.limiters)


@contextlib.contextmanager
def watching_pressure() -> Iterator[LimiterPressure]:
    """Collect the limiters built inside (e.g. by a ledger adapter's ``connect``)."""
    pressure = LimiterPressure(LIMITER_REGISTRY.get())
    token = LIMITER_REGISTRY.set(pressure)
    try:
        yield pressure
    finally:
        LIMITER_REGISTRY.reset(token)


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
