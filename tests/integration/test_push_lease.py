"""The push lease (core/lease.py) on a real nats-server: taken once, renewed with its
revision, fenced when lost, released for the next owner, lapsing when nobody renews it."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.client import Client as NatsClient

from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import LeaseHeld, OwnershipLost
from syncledger.core.lease import LEASE_BUCKET, LeaseHolder, PushLease, lease_key, open_bucket

pytestmark = pytest.mark.integration
TTL = 1.0


@pytest.fixture
async def nc(server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    client = await nats.connect(server.url, max_reconnect_attempts=1, reconnect_time_wait=0.1)
    yield client
    await client.close()


async def lease(nc: NatsClient, command: str = "syncledger run") -> PushLease:
    return await PushLease.open(nc, "demo", "qbo", TTL, command=command)


async def value_at_key(nc: NatsClient) -> tuple[int, LeaseHolder]:
    kv = await nc.jetstream().key_value(LEASE_BUCKET)
    entry = await kv.get(lease_key("demo", "qbo"))
    return int(entry.revision or 0), LeaseHolder.model_validate_json(entry.value or b"")


async def poll(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``predicate()`` holds (a deadline against hangs, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 30.0
    while not await predicate():
        assert loop.time() < end, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


def test_key_is_made_of_kv_key_characters() -> None:
    assert lease_key("demo", "qbo") == "push.demo.qbo"
    assert lease_key("acme inc.", "qbo/eu*") == "push.acme_inc_.qbo_eu_"


async def test_taken_once_and_the_second_is_told_who_holds_it(nc: NatsClient) -> None:
    first, second = await lease(nc), await lease(nc, "syncledger import --backfill")
    assert await first.take() is None
    holder = await second.take()
    assert holder is not None
    assert (holder.owner, holder.pid, holder.command) == (
        first.me.owner,
        os.getpid(),
        "syncledger run",
    )
    with pytest.raises(LeaseHeld, match=rf"demo/qbo is owned by process {os.getpid()} on host "):
        await second.take_or_raise()
    first.check()
    _, value = await value_at_key(nc)
    assert value == first.me
    await first.release()


async def test_renewal_moves_the_revision_and_keeps_it_past_the_ttl(nc: NatsClient) -> None:
    owner, other = await lease(nc), await lease(nc)
    assert await owner.take() is None
    start, _ = await value_at_key(nc)

    async def renewed_four_times() -> bool:
        return (await value_at_key(nc))[0] >= start + 4  # 4 × TTL/3 > TTL since it was taken

    await poll(renewed_four_times, "four renewals")
    owner.check()
    assert await other.take() is not None
    assert (await value_at_key(nc))[1].owner == owner.me.owner
    await owner.release()


async def test_an_owner_whose_key_was_taken_is_fenced(nc: NatsClient) -> None:
    owner, successor = await lease(nc), await lease(nc)
    assert await owner.take() is None
    kv = await nc.jetstream().key_value(LEASE_BUCKET)
    await kv.purge(lease_key("demo", "qbo"))  # as if it had lapsed
    assert await successor.take() is None
    await owner.renew()
    assert owner.lost.is_set()
    with pytest.raises(OwnershipLost, match="stopped pushing for demo/qbo"):
        owner.check()
    successor.check()
    await owner.release()  # not ours: the successor's key stays
    assert (await value_at_key(nc))[1].owner == successor.me.owner
    await successor.release()


async def test_a_renewal_whose_answer_was_lost_is_recognised(nc: NatsClient) -> None:
    owner = await lease(nc)
    assert await owner.take() is None
    kv = await nc.jetstream().key_value(LEASE_BUCKET)
    revision, value = await value_at_key(nc)
    # the renewal landed but its answer never came back: the revision moved under us
    await kv.update(lease_key("demo", "qbo"), value.model_dump_json().encode(), last=revision)
    await owner.renew()
    owner.check()
    assert (await value_at_key(nc))[0] == revision + 2
    await owner.release()


async def test_release_lets_the_next_owner_take_it_at_once(nc: NatsClient) -> None:
    first, second = await lease(nc), await lease(nc)
    assert await first.take() is None
    await first.release()
    with pytest.raises(OwnershipLost):
        first.check()
    assert await second.take() is None
    await second.release()


async def test_a_killed_owners_lease_lapses_and_the_waiter_takes_it(nc: NatsClient) -> None:
    kv, _ = await open_bucket(nc, TTL)
    dead = LeaseHolder(
        owner="dead",
        pid=999999,
        host="elsewhere",
        command="syncledger run",
        since=datetime.now(UTC),
    )
    await kv.create(lease_key("demo", "qbo"), dead.model_dump_json().encode())  # never renewed
    waiter = await lease(nc)
    told: list[LeaseHolder] = []
    assert await asyncio.wait_for(waiter.wait(None, told.append), timeout=30)
    assert told == [dead]
    waiter.check()
    assert (await value_at_key(nc))[1].owner == waiter.me.owner
    await waiter.release()


async def test_unreachable_past_the_ttl_fences_the_owner(
    nc: NatsClient, server: EmbeddedNats
) -> None:
    owner = await lease(nc)
    assert await owner.take() is None
    server.stop()

    async def fenced() -> bool:
        try:
            owner.check()
        except OwnershipLost:
            return True
        return False

    await poll(fenced, "the owner to be fenced")
    assert owner.lost.is_set()
    await owner.release()


async def test_a_waiter_stops_when_told_to(nc: NatsClient) -> None:
    owner, waiter = await lease(nc), await lease(nc)
    assert await owner.take() is None
    stop = asyncio.Event()
    stop.set()
    assert await waiter.wait(stop, lambda _h: None) is False
    await owner.release()


async def test_an_existing_bucket_keeps_its_ttl(nc: NatsClient) -> None:
    await open_bucket(nc, TTL)
    _, ttl = await open_bucket(nc, 30.0)
    assert ttl == TTL


async def test_a_holder_that_ended_on_this_host_is_waited_out(nc: NatsClient) -> None:
    ended = await asyncio.create_subprocess_exec("true")
    await ended.wait()
    kv, _ = await open_bucket(nc, TTL)
    dead = LeaseHolder(
        owner="dead", pid=ended.pid, host=socket.gethostname(), command="x", since=datetime.now(UTC)
    )
    await kv.create(lease_key("demo", "qbo"), dead.model_dump_json().encode())
    successor = await lease(nc)
    assert successor.describe(dead).endswith(
        "(that process has ended: its lease lapses within 1 s)"
    )
    await successor.take_or_raise()  # no LeaseHeld: it waited for the dead owner's lease
    successor.check()
    assert (await value_at_key(nc))[1].owner == successor.me.owner
    await successor.release()
