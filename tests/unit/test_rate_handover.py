"""A tenant's limits across a handover (issue 13, "Shared rate limits"): what a new owner
counts from the previous owner's published usage (adapters/rate_usage.py), and — on a
virtual clock — that the two owners' requests together never exceed any rate in any
window, whether the previous owner stopped cleanly (final usage) or was killed (the gap
up to its horizon assumed at worst)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.adapters.rate_usage import (
    HORIZON_S,
    LimiterSnapshot,
    RateUsage,
    UsageBook,
    allowance,
    gap_bound,
    handed_over,
)
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core.errors import ConfigurationError
from syncledger.core.partitions import check_tenants, partitions_of
from syncledger.core.settings import Settings

QBO = (Rate(10, 1.0), Rate(500, 60.0))
NAME = "10/1s+500/60s#0"
T0 = 1_000_000.0


class VirtualClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def usage(
    ages_ms: list[int],
    *,
    gap: float = 0.0,
    in_flight: int = 0,
    tenant: str = "t",
    more: int = 1_000,
) -> RateUsage:
    entry = LimiterSnapshot(ages_ms=ages_ms, in_flight=in_flight, allowance=more if gap else 0)
    return RateUsage(tenant=tenant, written_at=T0, until=T0 + gap, limiters={NAME: entry})


# ------------------------------------------------------------- what is counted


def test_a_final_usage_is_counted_at_its_times_and_nothing_more() -> None:
    ages = handed_over(usage([100, 2_000, 30_000]), "t", NAME, QBO, T0 + 1.0)
    assert sorted(ages) == pytest.approx([1.1, 3.0, 31.0])


def test_the_gap_up_to_the_horizon_is_assumed_at_the_fastest_rate() -> None:
    """Killed 3 s before its horizon: 10 a second for 3 s, in up to 4 windows of a
    second, all counted as made at the take-over (plus the two in flight)."""
    ages = handed_over(usage([500] * 5, gap=3.0, in_flight=2), "t", NAME, QBO, T0 + 4.0)
    assert len(ages) == 5 + 2 + 40
    assert ages.count(0.0) == 42


def test_a_take_over_before_the_horizon_counts_the_gap_at_the_horizon() -> None:
    """The previous owner was cut off from NATS, not killed: it may send until its
    horizon, 2 s after this take-over."""
    ages = handed_over(usage([], gap=3.0), "t", NAME, QBO, T0 + 1.0)
    assert ages == [pytest.approx(-2.0)] * 40


async def test_requests_counted_at_a_horizon_still_ahead_stay_there_when_handed_on() -> None:
    """Taken over 2 s before the previous owner's horizon, then handed on at once: the
    third owner still counts those requests at that horizon, not at the second's snapshot."""
    clock = VirtualClock(T0 + 1.0)
    second = UsageBook("t", wall=clock, mono=clock)
    second.adopt(usage([], gap=3.0))
    with second.current():
        RateLimiter(*QBO, clock=clock)
    snap, _ = second.snapshot(final=True)
    assert snap.limiters[NAME].ages_ms == [-2_000] * 40
    ages = handed_over(snap, "t", NAME, QBO, T0 + 1.5)
    assert ages == [pytest.approx(-1.5)] * 40


def test_the_gap_is_capped_at_what_the_window_had_left() -> None:
    """495 requests in the minute before: the minute window had 5 left for the gap."""
    snap = usage([1_000 + 10 * n for n in range(495)], gap=3.0)
    assert gap_bound(snap, QBO, [T0 - 1.0 - n / 100 for n in range(495)], 0) == 5
    assert handed_over(snap, "t", NAME, QBO, T0 + 4.0).count(0.0) == 5


def test_a_daily_window_bounds_the_gap_as_well() -> None:
    rates = (Rate(60, 60.0), Rate(100, 86_400.0))  # a per-day budget nearly spent
    snap = RateUsage(tenant="t", written_at=T0, until=T0 + 3.0)
    known = [T0 - 3_600.0] * 98
    assert gap_bound(snap, rates, known, 0) == 2


def test_the_gap_is_capped_at_the_allowance() -> None:
    """QBO's 40 batch requests a minute: a killed owner could have spent them all in 3 s
    as far as the rate goes, but its allowance after the snapshot was 2."""
    batch = (Rate(40, 60.0),)
    assert allowance(batch) == 2
    snap = RateUsage(
        tenant="t",
        written_at=T0,
        until=T0 + 3.0,
        limiters={"40/60s#0": LimiterSnapshot(ages_ms=[100], allowance=2)},
    )
    assert handed_over(snap, "t", "40/60s#0", batch, T0 + 4.0).count(0.0) == 2
    assert allowance(QBO) == 20  # 10 a second, twice over the second between snapshots


def test_a_limiter_missing_from_the_usage_counts_no_gap() -> None:
    """Built after that snapshot, it could start nothing before a newer one named it."""
    snap = usage([], gap=3.0)
    assert handed_over(snap, "t", "3/1s#0", (Rate(3, 1.0),), T0 + 3.5) == []


def test_a_usage_of_another_tenant_is_ignored() -> None:
    snap = usage([100] * 10, gap=3.0, tenant="another realm")
    assert handed_over(snap, "t", NAME, QBO, T0 + 1.0) == []


def test_a_usage_whose_horizon_has_left_the_widest_window_is_ignored() -> None:
    snap = usage([100] * 10, gap=3.0)
    assert handed_over(snap, "t", NAME, QBO, T0 + 3.0 + 60.0 + 0.001) == []
    assert handed_over(snap, "t", NAME, QBO, T0 + 3.0 + 59.0) != []  # still in the minute


def test_no_usage_counts_nothing() -> None:
    assert handed_over(None, "t", NAME, QBO, T0) == []


# ------------------------------------------------------------- the book


async def test_a_limiter_built_in_a_book_is_seeded_and_waits_for_the_previous_requests() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    book.adopt(usage([400] * 10))  # ten requests 0.4 s before the snapshot, final
    clock.now = T0 + 0.1
    with book.current():
        limiter = RateLimiter(*QBO, slack=0.0, clock=clock, sleep=clock.sleep)
    book.hold(math.inf)
    await limiter.acquire()
    assert clock.now >= T0 - 0.4 + 1.0  # the 11th waited for the first ten's second


async def test_nothing_starts_before_the_first_publish_nor_after_the_horizon() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    with book.current():
        limiter = RateLimiter(Rate(100, 1.0), slack=0.0, clock=clock, sleep=clock.sleep)
    first = asyncio.create_task(limiter.acquire())
    await _settle()
    assert not first.done()  # no usage stored yet: nothing may be sent
    snap, grant = book.snapshot()
    assert snap.until == clock.now + HORIZON_S
    book.grant(grant)
    await first
    clock.now = grant.horizon
    late = asyncio.create_task(limiter.acquire())
    await _settle()
    assert not late.done()  # past the horizon of the last stored usage
    book.hold(grant.horizon + 1.0)
    await late


async def test_nothing_starts_past_the_allowance_until_a_newer_usage_is_stored() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    with book.current():
        limiter = RateLimiter(Rate(1, 1.0), slack=0.0, clock=clock, sleep=clock.sleep)
    snap, grant = book.snapshot()
    assert snap.limiters["1/1s#0"].allowance == 2
    book.grant(grant)
    await limiter.acquire()
    await limiter.acquire()  # a second later, within the horizon
    third = asyncio.create_task(limiter.acquire())
    await _settle()
    assert not third.done() and clock.now < grant.horizon  # the allowance is spent
    _, grant = book.snapshot()
    book.grant(grant)
    await third


async def test_a_limiter_built_after_a_snapshot_waits_for_one_that_names_it() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    _, grant = book.snapshot()
    book.grant(grant)
    with book.current():
        limiter = RateLimiter(Rate(5, 1.0), slack=0.0, clock=clock, sleep=clock.sleep)
    assert book.joined.is_set()  # the publisher is woken to write one at once
    first = asyncio.create_task(limiter.acquire())
    await _settle()
    assert not first.done()
    _, grant = book.snapshot()
    book.grant(grant)
    await first


async def test_a_final_snapshot_stops_the_limiters_and_counts_what_is_in_flight() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    with book.current():
        limiter = RateLimiter(*QBO, slack=0.0, clock=clock, sleep=clock.sleep)
    book.hold(math.inf)
    await limiter.acquire()
    answer = asyncio.Event()

    async def in_flight() -> None:
        async with limiter.slot():
            await answer.wait()

    pending = asyncio.create_task(in_flight())
    await _settle()
    snap, _ = book.snapshot(final=True)
    assert snap.final and snap.limiters[NAME] == LimiterSnapshot(ages_ms=[0], in_flight=1)
    after = asyncio.create_task(limiter.acquire())
    await _settle()
    assert not after.done()
    after.cancel()
    answer.set()
    await pending


async def test_limiters_are_matched_by_their_rates_and_order() -> None:
    clock = VirtualClock()
    book = UsageBook("t", wall=clock, mono=clock)
    with book.current():
        RateLimiter(*QBO, clock=clock)
        RateLimiter(Rate(40, 60.0), clock=clock)
        RateLimiter(*QBO, clock=clock)
    assert list(book.limiters) == [NAME, "40/60s#0", "10/1s+500/60s#1"]


# ------------------------------------------------------------- owners one after another

RATE_SETS = [
    QBO,
    (Rate(3, 1.0), Rate(20, 10.0)),
    (Rate(5, 2.0), Rate(12, 30.0), Rate(30, 300.0)),  # a "daily" window, shortened
    (Rate(40, 60.0),),  # QBO's batch requests: a minute's budget, nothing per second
]


@dataclass(frozen=True)
class Turn:
    """One owner's time with the partition: ``before`` requests at full speed, up to
    ``in_flight`` left unanswered, then either killed or cut off (it keeps sending at full
    speed up to its horizon) or stopped cleanly (final usage); the next owner takes over
    ``late`` seconds after the horizon — a cut-off owner's lease can lapse before it, so
    up to the horizon before."""

    before: int
    in_flight: int
    killed: bool
    late: float


TURNS = st.builds(
    Turn,
    before=st.integers(0, 80),
    in_flight=st.integers(0, 3),
    killed=st.booleans(),
    late=st.floats(-HORIZON_S, 400.0),
)


@settings(max_examples=80, deadline=None)
@given(
    rates=st.sampled_from(RATE_SETS),
    turns=st.lists(TURNS, min_size=1, max_size=3),
    after=st.integers(1, 80),
)
def test_owners_one_after_another_keep_every_rate_in_every_window(
    rates: tuple[Rate, ...], turns: list[Turn], after: int
) -> None:
    """Each owner's requests and its successors' together, as the ledger counts them
    (in-flight ones at the take-over, the worst case), never exceed a rate in a window;
    the last owner sends ``after`` requests at full speed."""
    sent = asyncio.run(_owners(rates, turns, after))
    for rate in rates:
        for start in sent:
            assert len([t for t in sent if start <= t < start + rate.per]) <= rate.limit


async def _owners(rates: tuple[Rate, ...], turns: list[Turn], after: int) -> list[float]:
    clock, sent = VirtualClock(), list[float]()
    snap: RateUsage | None = None
    for turn in turns:
        book, limiter = _take_over(snap, rates, clock)
        snap = await _own(book, limiter, turn, clock, sent)
    _, last = _take_over(snap, rates, clock)
    return sent + [await _send(last, clock) for _ in range(after)]


def _take_over(
    snap: RateUsage | None, rates: tuple[Rate, ...], clock: VirtualClock
) -> tuple[UsageBook, RateLimiter]:
    book = UsageBook("t", wall=clock, mono=clock)
    book.adopt(snap)
    with book.current():
        limiter = RateLimiter(*rates, slack=0.0, clock=clock, sleep=clock.sleep)
    book.hold(math.inf)  # as if publishing never failed
    return book, limiter


async def _own(
    book: UsageBook, limiter: RateLimiter, turn: Turn, clock: VirtualClock, sent: list[float]
) -> RateUsage:
    sent += [await _send(limiter, clock) for _ in range(turn.before)]
    answer, flying = asyncio.Event(), list[float]()

    async def fly() -> None:
        async with limiter.slot():
            flying.append(clock.now)
            await answer.wait()

    tries = [asyncio.create_task(fly()) for _ in range(turn.in_flight)]
    await _settle()
    snap, grant = book.snapshot(final=not turn.killed)
    book.grant(grant)
    while turn.killed and (at := await _send_until_blocked(limiter, clock)) is not None:
        sent.append(at)
    clock.now = snap.until + (turn.late if turn.killed else abs(turn.late))
    sent += [_arrival(snap, limiter.rates, clock.now)] * len(flying)
    answer.set()
    for task in tries:
        task.cancel()
    return snap


def _arrival(snap: RateUsage, rates: tuple[Rate, ...], take_over: float) -> float:
    """When a request in flight at the snapshot reaches the ledger, at worst: at the
    take-over, or — if that is a widest window after the horizon — by the horizon (a
    request does not travel for a whole window)."""
    stale = take_over - snap.until > max(r.per for r in rates)
    return snap.until if stale else take_over


async def _send(limiter: RateLimiter, clock: VirtualClock) -> float:
    await limiter.acquire()
    return clock.now


async def _send_until_blocked(limiter: RateLimiter, clock: VirtualClock) -> float | None:
    task = asyncio.create_task(_send(limiter, clock))
    await _settle()
    if task.done():
        return task.result()
    task.cancel()
    return None


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


# ------------------------------------------------- entities sharing one tenant


def tenants(tables: dict[str, dict[str, str]], tmp_path: Path) -> None:
    """``check_tenants`` over ``run --entities`` with these ``[entity_ledgers]`` tables."""
    cfg = Settings(data_dir=tmp_path, entities=",".join(tables), entity_ledgers=tables)
    check_tenants(partitions_of(cfg))


URL = "http://app:s3cret@127.0.0.1:9/v3?token=s3cret"


def test_two_entities_on_one_url_without_a_tenant_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        tenants({"acme": {"ledger_url": URL}, "beta": {"ledger_url": URL}}, tmp_path)
    line = str(refused.value)
    assert "entities acme and beta may be one tenant of qbo at" in line
    assert "give each tenant one entity" in line
    assert "s3cret" not in line and "\n" not in line


@pytest.mark.parametrize("theirs", ["t-1", None])
def test_a_named_tenant_and_the_same_or_an_unknown_one_at_its_url_are_refused(
    tmp_path: Path, theirs: str | None
) -> None:
    beta = {"ledger_url": URL} | ({"tenant": theirs} if theirs else {})
    with pytest.raises(ConfigurationError, match="acme and beta may be one tenant"):
        tenants({"acme": {"ledger_url": URL, "tenant": "t-1"}, "beta": beta}, tmp_path)


def test_different_tenants_urls_or_ledgers_are_separate_partitions(tmp_path: Path) -> None:
    tenants(
        {
            "acme": {"ledger_url": URL, "tenant": "t-1"},
            "beta": {"ledger_url": URL, "tenant": "t-2"},
            "gamma": {"ledger_url": "http://127.0.0.1:10"},
            "delta": {"ledger_url": URL, "ledger": "xero"},
        },
        tmp_path,
    )
    # the in-process sandbox: each process its own, nothing shared across workers
    check_tenants(partitions_of(Settings(data_dir=tmp_path, entities="a,b,c")))
