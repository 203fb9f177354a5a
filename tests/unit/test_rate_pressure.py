"""How close a limiter is to holding requests back (adapters/ratelimit.py ``used``,
``pressed``), on a virtual clock, and the pressure a ledger opened by the composition
root hands the worker (core/ledgers.py: every limiter its adapter built)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from syncledger.adapters.ratelimit import (
    LIMITER_REGISTRY,
    LimiterPressure,
    Rate,
    RateLimiter,
    watching_pressure,
)
from syncledger.core.ledgers import open_ledger
from syncledger.core.model import Customer
from syncledger.core.settings import Settings

QBO = (Rate(10, 1.0), Rate(500, 60.0))


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def limiter(clock: VirtualClock, *rates: Rate) -> RateLimiter:
    return RateLimiter(*(rates or QBO), slack=0.0, clock=clock, sleep=clock.sleep)


async def test_the_second_window_presses_past_seven_of_ten() -> None:
    clock = VirtualClock()
    qbo = limiter(clock)
    for _ in range(7):
        await qbo.acquire()
    assert round(qbo.used(), 3) == 0.7
    assert not qbo.pressed()
    await qbo.acquire()
    assert qbo.pressed()
    clock.now += 1.5  # the second's window is empty again; 8 of 500 in the minute's
    assert round(qbo.used(), 3) == 0.016
    assert not qbo.pressed()


async def test_the_minute_window_presses_at_a_rate_the_second_window_takes() -> None:
    clock = VirtualClock()
    qbo = limiter(clock)
    for second in range(59):  # 6 a second: 60 % of the second's window at most
        if second == 58:
            assert not qbo.pressed()  # 348 of 500
        for _ in range(6):
            await qbo.acquire()
        clock.now += 1.0
    assert round(qbo.used(), 3) == 0.708  # 354 of 500, none in the last second
    assert qbo.pressed()
    clock.now += 60.0
    assert qbo.used() == 0.0


async def test_requests_in_flight_count_as_now_until_answered() -> None:
    clock = VirtualClock()
    qbo = limiter(clock)
    async with contextlib.AsyncExitStack() as held:
        for _ in range(8):
            await held.enter_async_context(qbo.slot())
        clock.now += 5.0  # sent long ago, still unanswered
        assert qbo.pressed()
    clock.now += 1.1  # answered 1.1 s ago
    assert not qbo.pressed()


async def test_a_pressure_is_pressed_while_any_of_its_limiters_is() -> None:
    clock = VirtualClock()
    with watching_pressure() as pressure:
        requests, batches = limiter(clock), limiter(clock, Rate(40, 60.0))
    assert pressure.limiters == [requests, batches]
    for _ in range(28):
        await batches.acquire()
    assert not pressure.pressed()  # 28 of 40
    await batches.acquire()
    assert pressure.pressed()  # 29 of 40, the requests' limiter idle


async def test_limiters_built_inside_still_join_the_registry_current_outside() -> None:
    outer = LimiterPressure()
    token = LIMITER_REGISTRY.set(outer)
    try:
        with watching_pressure() as inner:
            built = limiter(VirtualClock())
    finally:
        LIMITER_REGISTRY.reset(token)
    assert inner.limiters == [built]
    assert outer.limiters == [built]  # e.g. a handover's registry (adapters/rate_usage.py)


async def test_an_opened_ledger_hands_over_the_pressure_of_its_adapters_limiters(
    tmp_path: Path,
) -> None:
    # QBO's limits scaled to 1 request a minute: one request uses the whole window
    settings = Settings(data_dir=tmp_path, entity="pressure", ledger="qbo", rate_scale=0.002)
    ledger = open_ledger(settings)
    try:
        assert ledger.pressure is not None
        assert not ledger.pressure.pressed()
        await ledger.adapter.match_customer(Customer(id="C-1", name="Nobody", currency="USD"))
        assert ledger.pressure.pressed()
    finally:
        await ledger.aclose()
