"""Rate scale: every platform's sandbox and adapter multiply their request limits by it,
and hold to the platform's own limits at 1.

Each platform meets a burst of ``get``s of a record that does not exist (one request each)
a little larger than its published limits let through at once. The sandbox
witnesses the client's pacing: it refuses (429, ``throttled``) what comes too fast, so no
assertion here reads a clock. ``GUARD`` only turns a client that holds the burst back for
a minute into a failure instead of a long wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.applications import Starlette

from syncledger.adapters.netsuite.sandbox import server as netsuite
from syncledger.adapters.platforms import Connection, SandboxHandle, platform, platform_ids
from syncledger.adapters.ratelimit import Rate, scaled_count
from syncledger.core.demo import demo_rate_scale, demo_settings, rate_scale_note
from syncledger.core.errors import ConfigurationError, TransientLedgerError
from syncledger.core.ports import LedgerAdapter, LedgerRecord
from syncledger.core.settings import Settings

SCALE = 5
GUARD = 20.0  # seconds; a burst held back by a one-minute window would take over 60
#: seconds without a new request before counting what got through: a quarter of the
#: platform's smallest window (a second for QBO and Odoo), else two seconds, so a busy
#: machine's pause inside a burst is not mistaken for the client holding it back
SETTLE = {"qbo": 0.25, "odoo": 0.25}
SETTLE_DEFAULT = 2.0

#: the most requests the platform's published limits answer at once, as (sandbox, adapter),
#: in the smallest window: a second for QBO and Odoo, a minute for the others
PUBLISHED_AT_ONCE = {
    "qbo": (10, 10),  # 10/s per realm
    "xero": (60, 60),  # 60/min per tenant
    "zoho-books": (100, 100),  # 100/min per organisation
    "freshbooks": (100, 100),  # 100/min per account (unverified figure)
    "sage": (200, 200),  # 200/min per business
    "netsuite": (600, 300),  # no published figure: the sandbox's 600/min, the adapter's 300
    "odoo": (5, 4),  # no published figure: the sandbox's 5/s, the adapter's 4/s
}
MISSING_ID = {"xero": "00000000-0000-0000-0000-000000000001", "sage": "0" * 32}


class Witness(httpx.AsyncBaseTransport):
    """The sandbox's end of the wire: counts the API requests it answered (token grants
    aside) and notes the first one it refused (429)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.answered = 0
        self.refused = asyncio.Event()
        self.first_answered = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            self.refused.set()
        elif "token" not in request.url.path:
            self.answered += 1
            self.first_answered.set()
        return response


@dataclass
class Wired:
    ledger_id: str
    adapter: LedgerAdapter
    sandbox: SandboxHandle
    witness: Witness

    async def burst(self, n: int) -> list[LedgerRecord | None]:
        missing = MISSING_ID.get(self.ledger_id, "999999")
        return await asyncio.gather(*(self.adapter.get("customer", missing) for _ in range(n)))


def sandbox_app(ledger_id: str, rate_scale: float) -> Starlette:
    return platform(ledger_id).sandbox_app(None, rate_scale=rate_scale)


@contextlib.asynccontextmanager
async def wired(
    ledger_id: str, app: Starlette, tmp_path: Path, *, client_scale: float
) -> AsyncIterator[Wired]:
    """An adapter at ``client_scale`` connected to the platform's sandbox ``app``."""
    plat = platform(ledger_id)
    witness = Witness(httpx.ASGITransport(app=app))
    connection = Connection(
        plat.sandbox_url, tmp_path / "tokens.json", {}, witness, rate_scale=client_scale
    )
    adapter = plat.connect(connection)
    try:
        yield Wired(ledger_id, adapter, plat.sandbox_handle(app), witness)
    finally:
        await adapter.aclose()
        plat.sandbox_handle(app).close()


def over_published(ledger_id: str) -> int:
    """A burst one larger than either side's published limit lets through at once."""
    return max(PUBLISHED_AT_ONCE[ledger_id]) + 1


async def until_throttled(env: Wired, n: int) -> int:
    """Send a burst of ``n`` until the sandbox refuses one (or all are answered); then stop
    it (the adapter would wait out the 429) and return how many the sandbox refused."""
    burst = asyncio.ensure_future(env.burst(n))
    refused = asyncio.ensure_future(env.witness.refused.wait())
    try:
        async with asyncio.timeout(GUARD):
            await asyncio.wait({burst, refused}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (burst, refused):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransientLedgerError):
                await task
    return env.sandbox.throttled


async def settled(witness: Witness, quiet: float) -> int:
    """How many requests were answered once the first was and none has arrived since for
    ``quiet`` seconds (the first can be slow: a token grant comes before it)."""
    async with asyncio.timeout(GUARD):
        await witness.first_answered.wait()
        seen = -1
        while witness.answered != seen:
            seen = witness.answered
            await asyncio.sleep(quiet)
    return seen


def test_every_platform_has_its_published_limits_here() -> None:
    assert set(PUBLISHED_AT_ONCE) == set(platform_ids())
    assert all(SCALE * min(limits) > max(limits) for limits in PUBLISHED_AT_ONCE.values())


# ------------------------------------------------------------ both sides, behaviour


@pytest.mark.parametrize("ledger_id", platform_ids())
async def test_a_burst_over_the_published_limits_passes_at_the_scaled_ones(
    ledger_id: str, tmp_path: Path
) -> None:
    n = over_published(ledger_id)
    app = sandbox_app(ledger_id, SCALE)
    async with wired(ledger_id, app, tmp_path, client_scale=SCALE) as env:
        async with asyncio.timeout(GUARD):
            answers = await env.burst(n)
        assert answers == [None] * n
        assert env.witness.answered == n
        assert env.sandbox.throttled == 0


@pytest.mark.parametrize("ledger_id", platform_ids())
async def test_the_scaled_client_sends_what_the_published_sandbox_refuses(
    ledger_id: str, tmp_path: Path
) -> None:
    """The burst really is over the sandbox's own limits, and the scaled client really
    sends it faster than those limits allow."""
    n = over_published(ledger_id)
    async with wired(ledger_id, sandbox_app(ledger_id, 1), tmp_path, client_scale=SCALE) as env:
        assert await until_throttled(env, n) > 0


@pytest.mark.parametrize("ledger_id", platform_ids())
async def test_at_scale_one_the_client_holds_the_burst_to_the_published_limit(
    ledger_id: str, tmp_path: Path
) -> None:
    _, client_limit = PUBLISHED_AT_ONCE[ledger_id]
    async with wired(ledger_id, sandbox_app(ledger_id, 1), tmp_path, client_scale=1) as env:
        task = asyncio.ensure_future(env.burst(over_published(ledger_id)))
        try:
            quiet = SETTLE.get(ledger_id, SETTLE_DEFAULT)
            assert await settled(env.witness, quiet) == client_limit
            assert env.sandbox.throttled == 0
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.parametrize(
    ("sandbox_scale", "client_scale", "refused"),
    [(SCALE, SCALE, False), (1, SCALE, True), (1, 1, False)],
)
async def test_concurrency_caps_scale_on_both_sides(
    sandbox_scale: float, client_scale: float, refused: bool, tmp_path: Path
) -> None:
    """NetSuite caps requests in flight (sandbox 15, adapter 5). The sandbox's latency keeps
    a burst's requests in flight together, so the caps are observable in-process: 20 at
    once are over the sandbox's 15 and under 5 x the adapter's 5."""
    app = netsuite.create_app(None, rate_scale=sandbox_scale, latency=0.05)
    async with wired("netsuite", app, tmp_path, client_scale=client_scale) as env:
        async with asyncio.timeout(GUARD):
            answers = await asyncio.gather(
                *(env.adapter.get("customer", "999999") for _ in range(20)),
                return_exceptions=True,
            )
        assert (env.sandbox.throttled > 0) is refused
        assert refused or answers == [None] * 20


# ------------------------------------------------------------------- refusals


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
def test_a_rate_scale_must_be_a_positive_number(scale: float, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="rate scale"):
        Connection("http://sandbox.test", tmp_path / "t.json", {}, rate_scale=scale)
    for ledger_id in platform_ids():
        with pytest.raises(ConfigurationError, match="rate scale"):
            platform(ledger_id).sandbox_app(None, rate_scale=scale)
    with pytest.raises(ValidationError):
        Settings(rate_scale=scale)


# --------------------------------------------------------------------- arithmetic


@given(st.integers(1, 100_000))
def test_scale_one_keeps_every_limit(count: int) -> None:
    assert scaled_count(count, 1.0) == count
    assert Rate(count, 60.0).scaled(1.0) == Rate(count, 60.0)


@given(st.integers(1, 100_000), st.floats(0.001, 1000.0))
def test_a_scaled_count_is_at_least_one_and_never_over_the_product(
    count: int, factor: float
) -> None:
    scaled = scaled_count(count, factor)
    assert scaled >= 1
    assert scaled <= max(1, count * factor + 1e-6)


def test_scaled_counts_round_down() -> None:
    assert [scaled_count(n, 1.5) for n in (1, 3, 5, 60)] == [1, 4, 7, 90]
    assert scaled_count(10, 0.01) == 1
    with pytest.raises(ValueError, match="positive finite"):
        scaled_count(10, 0.0)


# ------------------------------------------------------------------------- demo


def test_the_demo_raises_a_slow_platform_to_about_a_thousand_requests_a_minute() -> None:
    freshbooks = platform("freshbooks")
    assert demo_rate_scale(freshbooks) == 10
    assert demo_rate_scale(platform("qbo")) == 2
    assert all(
        1000 <= demo_rate_scale(platform(p)) * platform(p).requests_per_minute < 1300
        for p in platform_ids()
    )
    note = rate_scale_note(freshbooks, 10)
    assert note is not None
    assert "10× FreshBooks' rate limits (100/min → 1,000/min)" in note
    assert "--published-limits" in note
    assert rate_scale_note(freshbooks, 1.0) is None


def test_the_demo_keeps_published_limits_when_asked_or_for_a_real_ledger() -> None:
    sandbox = Settings(ledger="freshbooks")
    assert demo_settings(sandbox, published_limits=False).rate_scale == 10
    assert demo_settings(sandbox, published_limits=True).rate_scale == 1
    live = Settings(ledger="freshbooks", ledger_url="https://api.freshbooks.com")
    assert demo_settings(live, published_limits=False).rate_scale == 1
    chosen = Settings(ledger="freshbooks", rate_scale=3)
    assert demo_settings(chosen, published_limits=False).rate_scale == 3
