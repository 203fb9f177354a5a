"""A tenant's rate-limit usage handed from one owner of a partition to the next (issue 13,
"Shared rate limits").

A ledger counts requests per tenant; a partition's pushing moves between ``run`` workers
(core/partitions.py), and an entity+ledger's push lease between single-entity ``run``,
its standby, ``sync --once`` and ``import --backfill`` (all through
``partitions.shared_limits``: here "owner" is whoever holds the lease). A new owner that
started with empty limiters could meet the previous owner's requests still in the
tenant's windows and be answered 429. So:

- the owner **publishes** its limiters' usage (:class:`RateUsage`: the answered
  requests' times, the count in flight) every :data:`PUBLISH_EVERY_S`, when it takes the
  partition, and a *final* one when it gives it up after its work has stopped;
- each snapshot carries a **horizon**, ``until``, and per limiter an **allowance**: until
  a newer snapshot is stored, the owner's limiters start no request after the horizon
  and no more than the allowance (``RateLimiter.hold_until``; a limiter built after the
  snapshot starts none). So whatever the owner sent after its last snapshot was sent in
  ``(written_at, until]`` and numbers at most the allowance — a SIGKILL, a lost
  connection or a lapsed lease cannot leave an unbounded gap. The allowance
  (:func:`allowance`) is twice what the fastest rate lets through between two snapshots:
  it never binds while snapshots are stored on time, yet a limiter with only a minute's
  budget (QBO's 40 batch requests) is not assumed to have spent all of it in the gap;
- the next owner **seeds** its limiters from the stored snapshot before its first
  request (:func:`handed_over`): the known requests at their times, and for the gap the
  allowance or, if smaller, the worst case its rates allow — at most
  ``limit × (⌊gap / per⌋ + 1)`` per rate, and for a window at least as long as the gap no
  more than the window's budget left after the known requests in it — all counted as
  made at the take-over, or at the horizon if that is still ahead (later than any of them
  could have been), together with the requests that were in flight. A final snapshot has
  no gap.

This holds for every rate a limiter keeps — per second, per minute, per day — since the
bound is worked out per rate from the limiter's own rates. A snapshot of another tenant
(the entity's ledger, URL or tenant changed) or one whose horizon is older than the
widest window (every request it could describe has left every window) is ignored.

Chosen over a quiet period of one full window after a take-over (60 s for QBO's minute
window, a day for a daily one): a clean handover costs nothing, a killed owner's costs the
few requests its allowance could have carried.

A request in flight when its sender stopped is assumed to reach the ledger before the
take-over, or within the widest window of the horizon (no request travels for a whole
window). The snapshot's times are wall-clock seconds (``time.time``), so they mean the same on
every host: hosts whose clocks disagree by more than the limiter's slack (5 % of each
window) can see a window end early. Limiters are matched by their rates (``10/1s+500/60s``)
and the order they are built in by one partition's work: the same build builds them in
the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from syncledger.adapters.ratelimit import LIMITER_REGISTRY, Clock, Rate, RateLimiter

#: how often an owner publishes its limiters' usage
PUBLISH_EVERY_S = 1.0
#: how long after a published snapshot the owner may keep starting requests
HORIZON_S = 3.0


def allowance(rates: Sequence[Rate]) -> int:
    """How many requests an owner may start after a snapshot until a newer one is stored:
    twice what its fastest rate lets through between two snapshots, so the allowance never
    binds before the rates do while snapshots are stored on time."""
    fastest = max(r.limit / r.per for r in rates)
    return max(1, math.ceil(2 * PUBLISH_EVERY_S * fastest))


class LimiterSnapshot(BaseModel):
    """One limiter's usage: answered requests as ages (ms before ``written_at``; below 0
    for requests counted at a previous owner's horizon still ahead), the number in flight,
    and how many more it may start before a newer snapshot is stored (0 for a limiter
    missing from a snapshot: it starts nothing until one names it)."""

    model_config = ConfigDict(frozen=True)

    ages_ms: list[int] = Field(default_factory=list)
    in_flight: int = 0
    allowance: int = 0


class RateUsage(BaseModel):
    """One owner's limiters for one partition, as stored in the cluster."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    written_at: float  # wall clock
    until: float  # wall clock: no request started after it; == written_at when final
    limiters: dict[str, LimiterSnapshot] = Field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.until <= self.written_at


@dataclass(frozen=True)
class Grant:
    """What a stored snapshot lets the limiters do: start requests before ``horizon``
    (limiters' clock) while each one's count of started requests is below its cap."""

    horizon: float
    caps: Mapping[str, float] | None  # by limiter name; None: no cap


def handed_over(
    usage: RateUsage | None, tenant: str, name: str, rates: Sequence[Rate], now: float
) -> list[float]:
    """Ages (seconds before ``now``, wall clock) of the requests a new owner's limiter
    ``name`` with ``rates`` counts from ``usage``; empty when there is nothing to count.
    The unknown ones are counted at ``now``, or at the horizon when it is still ahead (a
    previous owner cut off from NATS, not killed, may send until then): negative ages."""
    if usage is None or usage.tenant != tenant or _stale(usage, rates, now):
        return []
    entry = usage.limiters.get(name, LimiterSnapshot())
    known = [usage.written_at - age / 1000 for age in entry.ages_ms]
    gap = min(entry.allowance, gap_bound(usage, rates, known, entry.in_flight))
    gap_end = min(0.0, now - usage.until)  # the horizon, if it is still ahead
    return [now - t for t in known] + [gap_end] * (entry.in_flight + gap)


def _stale(usage: RateUsage, rates: Sequence[Rate], now: float) -> bool:
    return now - usage.until > max(r.per for r in rates)


def gap_bound(usage: RateUsage, rates: Sequence[Rate], known: list[float], in_flight: int) -> int:
    """The most requests the previous owner's limiter could have started in
    ``(written_at, until]`` under every one of ``rates`` (its allowance aside)."""
    gap = usage.until - usage.written_at
    if gap <= 0:
        return 0
    return max(0, min(_rate_bound(r, gap, usage, known, in_flight) for r in rates))


def _rate_bound(
    rate: Rate, gap: float, usage: RateUsage, known: list[float], in_flight: int
) -> int:
    if rate.per < gap:  # the gap spans several windows: a full budget in each
        return rate.limit * (math.floor(gap / rate.per) + 1)
    since = usage.until - rate.per  # one window holds the whole gap and these requests
    counted = sum(1 for t in known if t > since) + in_flight
    return rate.limit - counted


@dataclass
class UsageBook:
    """The limiters one partition's work builds (it is the current
    :data:`~syncledger.adapters.ratelimit.LIMITER_REGISTRY` meanwhile): seeds each from
    the handed-over usage as it is built, holds them to the last stored snapshot's
    :class:`Grant`, and writes their usage down."""

    tenant: str
    handed: list[RateUsage] = field(default_factory=list)
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    granted: Grant = Grant(-math.inf, None)  # nothing starts before the first snapshot
    joined: asyncio.Event = field(default_factory=asyncio.Event)  # a limiter was built
    wall: Clock = time.time  # the snapshots' clock, the same on every host
    mono: Clock = time.monotonic  # the limiters' clock

    def register(self, limiter: RateLimiter) -> None:
        """A limiter built: seeded, and held (it starts nothing until a snapshot that
        names it is stored)."""
        name = self._name_for(limiter)
        self.limiters[name] = limiter
        for usage in self.handed:
            self._seed(limiter, usage, name)
        self._hold(name, limiter)
        self.joined.set()

    def _name_for(self, limiter: RateLimiter) -> str:
        n = sum(1 for name in self.limiters if name.split("#")[0] == limiter.name)
        return f"{limiter.name}#{n}"

    def adopt(self, usage: RateUsage | None) -> None:
        """Count ``usage`` too (the stored snapshot, or one written meanwhile by a
        previous owner): counting a request twice only waits longer."""
        if usage is None:
            return
        self.handed.append(usage)
        for name, limiter in self.limiters.items():
            self._seed(limiter, usage, name)

    def _seed(self, limiter: RateLimiter, usage: RateUsage, name: str) -> None:
        ages = handed_over(usage, self.tenant, name, limiter.rates, self.wall())
        now = self.mono()
        limiter.seed(now - age for age in ages)

    def snapshot(self, *, final: bool = False) -> tuple[RateUsage, Grant]:
        """The usage now, and what it grants once stored. A final snapshot stops every
        limiter first: nothing starts after it."""
        if final:
            self.grant(Grant(-math.inf, None))
        wall, mono = self.wall(), self.mono()
        until = wall if final else wall + HORIZON_S
        entries, caps = {}, {}
        for name, limiter in self.limiters.items():
            entries[name], caps[name] = _snapshot(limiter, mono, final)
        usage = RateUsage(tenant=self.tenant, written_at=wall, until=until, limiters=entries)
        return usage, Grant(-math.inf if final else mono + HORIZON_S, caps)

    def grant(self, grant: Grant) -> None:
        """Hold every limiter to ``grant`` (that of the snapshot just stored)."""
        self.granted = grant
        for name, limiter in self.limiters.items():
            self._hold(name, limiter)

    def hold(self, horizon: float) -> None:
        """Let every limiter start requests until ``horizon``, uncapped (tests, and the
        end: ``-inf``)."""
        self.grant(Grant(horizon, None))

    def _hold(self, name: str, limiter: RateLimiter) -> None:
        caps = self.granted.caps
        limiter.hold_until(self.granted.horizon, math.inf if caps is None else caps.get(name, 0))

    @contextlib.contextmanager
    def current(self) -> Iterator[UsageBook]:
        """Limiters built inside join this book."""
        token = LIMITER_REGISTRY.set(self)
        try:
            yield self
        finally:
            LIMITER_REGISTRY.reset(token)


def _snapshot(limiter: RateLimiter, mono: float, final: bool) -> tuple[LimiterSnapshot, int]:
    """A limiter's entry in a snapshot, and its cap of started requests once stored."""
    used = limiter.usage()
    ages = [math.floor((mono - at) * 1000) for at in used.answered]  # < 0: still ahead
    fresh = [age for age in ages if age / 1000 <= limiter.widest]
    more = 0 if final else allowance(limiter.rates)
    entry = LimiterSnapshot(ages_ms=fresh, in_flight=used.in_flight, allowance=more)
    return entry, used.started + more
