"""The rate usage in a real nats-server's ``SL_RATES`` bucket, as the app user may reach
it (adapters/rate_usage_kv.py): a new owner counts what the previous one stored; a
previous owner that no longer owns the partition writes nothing over its successor's
usage; two writers meeting on the key count each other's requests instead of one losing
the other's."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue

from syncledger.adapters.rate_usage import RateUsage, UsageBook
from syncledger.adapters.rate_usage_kv import (
    RateHandover,
    handed_over_limits,
    open_rates_bucket,
    tenant_id,
)
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core.embedded import EmbeddedNats

pytestmark = pytest.mark.integration
KEY = "usage.acme.qbo"
TENANT = tenant_id("qbo", "https://ledger.example", "realm-1")
RATES = (Rate(10, 1.0), Rate(500, 60.0))


@pytest.fixture
async def nc(server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    client = await nats.connect(server.url, max_reconnect_attempts=1, reconnect_time_wait=0.1)
    yield client
    await client.close()


@pytest.fixture
async def kv(nc: NatsClient) -> KeyValue:
    return await open_rates_bucket(nc)


class Owner:
    """One process's hold on the partition: its book, one limiter, its publisher."""

    def __init__(self, kv: KeyValue) -> None:
        self.owns = True
        self.book = UsageBook(TENANT)
        self.handover = RateHandover(kv, KEY, self.book, lambda: self.owns)

    async def take_over(self) -> RateLimiter:
        await self.handover.start()
        with self.book.current():
            limiter = RateLimiter(*RATES)
        assert await self.handover.publish()  # names the limiter: it may start requests
        return limiter


async def stored(kv: KeyValue) -> RateUsage:
    entry = await kv.get(KEY)
    return RateUsage.model_validate_json(entry.value or b"")


def counted(limiter: RateLimiter) -> int:
    return len(limiter.usage().answered)


async def test_a_new_owner_counts_what_the_previous_one_stored(kv: KeyValue) -> None:
    first = Owner(kv)
    limiter = await first.take_over()
    for _ in range(7):
        await limiter.acquire()
    assert await first.handover.publish(final=True)
    assert (await stored(kv)).final
    second = await Owner(kv).take_over()
    assert counted(second) == 7  # a final usage: its requests, nothing assumed


async def test_a_killed_owners_gap_is_counted_up_to_its_allowance(kv: KeyValue) -> None:
    first = Owner(kv)
    limiter = await first.take_over()
    for _ in range(3):
        await limiter.acquire()
    assert await first.handover.publish()  # then killed: no final usage
    snap = await stored(kv)
    assert not snap.final and snap.limiters["10/1s+500/60s#0"].allowance == 20
    second = await Owner(kv).take_over()
    assert counted(second) == 3 + 20


async def test_an_owner_that_lost_the_partition_writes_nothing(kv: KeyValue) -> None:
    first = Owner(kv)
    await first.take_over()
    first.owns = False  # its lease lapsed; another takes over
    second = Owner(kv)
    await second.take_over()
    written = await stored(kv)
    assert not await first.handover.publish(final=True)
    assert await stored(kv) == written


async def test_two_writers_count_each_others_requests(kv: KeyValue) -> None:
    """A write the other has not seen (not two owners at once: the lease forbids it): the
    key moved since this writer's last write, so it reads and counts that usage first."""
    first, second = Owner(kv), Owner(kv)
    one = await first.take_over()
    await one.acquire()
    assert await first.handover.publish(final=True)
    two = await second.take_over()  # counts first's request
    for _ in range(4):
        await two.acquire()
    assert await second.handover.publish(final=True)
    assert await first.handover.publish()  # its revision is stale: it reads, counts, writes
    assert counted(one) == 1 + (1 + 4)  # its own, and second's usage (first's, its own)
    assert sum(len(e.ages_ms) for e in (await stored(kv)).limiters.values()) == counted(one)


async def test_limiters_start_nothing_until_the_first_usage_is_stored(kv: KeyValue) -> None:
    owner = Owner(kv)
    with owner.book.current():
        limiter = RateLimiter(*RATES)
    assert owner.book.granted.horizon == -math.inf
    await owner.handover.start()
    assert await owner.handover.publish()
    assert owner.book.granted.caps == {"10/1s+500/60s#0": 20}
    await limiter.acquire()


async def test_inside_the_handover_limiters_send_and_leaving_stores_a_final_usage(
    kv: KeyValue,
) -> None:
    async with handed_over_limits(kv, KEY, TENANT, lambda: True):
        limiter = RateLimiter(*RATES)  # the publisher names it at once: it may send
        for _ in range(3):
            await limiter.acquire()
    snap = await stored(kv)
    assert snap.final and [len(e.ages_ms) for e in snap.limiters.values()] == [3]
    late = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert not late.done()  # after the final usage nothing starts
    late.cancel()
