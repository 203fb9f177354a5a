"""Jobber's 2,500 requests / 5 min (SOURCES.md §2.1) respected client-side (issue 11,
review): a client at the limit waits instead of sending the 2,501st.

The sandbox is the referee: its own request window (Jobber's 2,500 / 300 s, then 429) and
its cost bucket run on the same injected clock as the client's limiter, and the client's
waits move that clock on instead of sleeping, so five minutes pass in no time and no
assert is timed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.jobber.client import VERSION_HEADER, JobberGraphQL
from syncledger.adapters.jobber.cost import CostBucket
from syncledger.adapters.jobber.errors import translate
from syncledger.adapters.jobber.platform import DEFAULT_VERSION, REQUESTS, SOURCE
from syncledger.adapters.jobber.sandbox import server as sandbox
from syncledger.adapters.jobber.sandbox.cost import LeakyBucket
from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth
from syncledger.adapters.ratelimit import LIMITER_REGISTRY, Rate, RateLimiter
from syncledger.adapters.sandbox.throttle import WindowThrottle
from tests.unit.test_jobber_source_contract import connection

#: the cheapest read there is (a connection of one node with one field: 2 points)
PROBE = "query Probe { clients(first: 1) { nodes { id } } }"


@dataclass
class FakeTime:
    """A clock that only moves when someone waits on it."""

    now: float = 0.0
    waits: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Arrivals:
    """The sandbox app, noting the (fake) time each GraphQL request reached it."""

    app: object
    time: FakeTime
    at: list[float] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/graphql":
            self.at.append(self.time.now)
        await self.app(scope, receive, send)  # type: ignore[operator]


def jobber_on(time: FakeTime) -> tuple[sandbox.JobberSandbox, Arrivals]:
    app = sandbox.create_app()
    jobber = sandbox.sandbox_of(app)
    jobber.window = WindowThrottle(sandbox.REQUESTS, clock=time.clock)
    jobber.bucket = LeakyBucket(clock=time.clock)
    return jobber, Arrivals(app, time)


def graphql(tmp_path: Path, app: Arrivals, limiter: RateLimiter | None) -> JobberGraphQL:
    """The client as the platform composes it (platform.py ``connect``), on fake time."""
    time = app.time
    auth = OAuth2RefreshAuth(
        OAuth2Client(
            token_url=f"{SOURCE.sandbox_url}/api/oauth/token",
            client_id=sandbox.DEFAULT_CLIENT_ID,
            client_secret=SecretStr(sandbox.DEFAULT_CLIENT_SECRET),
            credentials_in="body",
        ),
        FileTokenStore(tmp_path / "jobber-tokens.json"),
        initial_refresh_token=SecretStr(sandbox.DEFAULT_REFRESH_TOKEN),
    )
    http = LedgerHttp(
        platform="jobber",
        base_url=str(SOURCE.sandbox_url),
        auth=auth,
        limiter=limiter,
        translate=translate,
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        headers={VERSION_HEADER: DEFAULT_VERSION},
        sleep=time.sleep,
    )
    return JobberGraphQL(
        http, bucket=CostBucket(clock=time.clock, sleep=time.sleep), sleep=time.sleep
    )


@pytest.mark.slow  # 2,501 requests through the whole stack (~10-25 s on this machine)
async def test_a_client_at_the_limit_waits_instead_of_sending_the_2501st(
    tmp_path: Path,
) -> None:
    time = FakeTime()
    jobber, arrivals = jobber_on(time)
    client = graphql(tmp_path, arrivals, RateLimiter(REQUESTS, clock=time.clock, sleep=time.sleep))
    try:
        for _ in range(2501):
            data, _ = await client.run("Probe", PROBE, {})
            assert "clients" in data
    finally:
        await client.aclose()
    assert len(arrivals.at) == 2501
    assert jobber.too_many == 0  # Jobber's own window never refused one
    assert max(arrivals.at[:2500]) == 0.0  # up to the limit nothing waited
    assert arrivals.at[2500] >= 300.0  # the 2,501st went once the window had moved on
    assert sum(time.waits) >= 300.0


async def test_the_platform_puts_the_documented_limit_before_every_request(
    tmp_path: Path,
) -> None:
    built: list[RateLimiter] = []

    class Collect:
        def register(self, limiter: RateLimiter) -> None:
            built.append(limiter)

    token = LIMITER_REGISTRY.set(Collect())
    try:
        reader = SOURCE.connect(connection(sandbox.create_app(), tmp_path, scale=1.0))
    finally:
        LIMITER_REGISTRY.reset(token)
    await reader.aclose()
    assert [limiter.rates for limiter in built] == [(Rate(2500, 300.0),)]
