"""A worker whose push lease was taken stops at once: the batch it fetched is handed back
untouched (nothing reaches the ledger, nothing is acknowledged), and the lease's next owner
pushes it. Real nats-server, the in-process QBO sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import LeaseHeld
from syncledger.core.lease import LEASE_BUCKET, lease_key
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.pipeline import ingest_items, open_push_lease, run_worker, sync_service
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.core.worker import build_broker, durable_name
from tests.support.records import customer

pytestmark = pytest.mark.integration
ENTITY = "fenced"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats") as embedded:
        yield embedded


@pytest.fixture
async def rt(tmp_path: Path, server: EmbeddedNats) -> AsyncIterator[Runtime]:
    cfg = Settings(data_dir=tmp_path / "state", nats_url=server.url, entity=ENTITY, ack_wait_s=3)
    async with open_runtime(cfg) as runtime:
        yield runtime


@pytest.fixture
async def ledger(rt: Runtime) -> AsyncIterator[LedgerHandle]:
    handle = open_ledger(rt.settings)
    yield handle
    await handle.aclose()


async def ingest_customers(rt: Runtime, n: int) -> None:
    async def gen() -> AsyncIterator[SourceItem]:
        for i in range(n):
            yield customer(f"c{i}")

    await ingest_items(rt, gen())


async def ledger_customers(ledger: LedgerHandle) -> list[str | None]:
    return [r.external_ref async for r in ledger.adapter.list_all("customer")]


async def unacknowledged(rt: Runtime) -> int:
    info = await rt.nc.jetstream().consumer_info(rt.settings.stream, durable_name(ENTITY, "qbo"))
    return int(info.num_pending + info.num_ack_pending)


async def test_a_fenced_worker_hands_its_batch_back_and_writes_nothing(
    rt: Runtime, ledger: LedgerHandle
) -> None:
    await ingest_customers(rt, 3)
    lease = await open_push_lease(rt)
    assert await lease.take() is None
    kv = await rt.nc.jetstream().key_value(LEASE_BUCKET)
    await kv.purge(lease_key(ENTITY, "qbo"))  # it lapsed ...
    successor = await open_push_lease(rt)
    assert await successor.take() is None  # ... and another process took it
    await lease.renew()  # this one finds out

    service = await sync_service(rt, ledger)
    service.guard = lease.check
    broker, stats = build_broker(
        rt.nats_url, service, stream=rt.settings.stream, entity=ENTITY, ledger="qbo"
    )
    await broker.start()
    try:
        await asyncio.wait_for(stats.ownership_lost.wait(), timeout=30)
    finally:
        await broker.stop()
    assert stats.outcomes == {}
    assert await ledger_customers(ledger) == []
    assert await unacknowledged(rt) == 3

    with pytest.raises(LeaseHeld, match=f"pushing for {ENTITY}/qbo is owned by process"):
        await run_worker(rt, ledger, until_idle=True)
    await successor.release()
    await lease.release()
    stats = await run_worker(rt, ledger, until_idle=True)  # the lease is free: it pushes
    assert stats.outcomes == {"pushed": 3}
    assert sorted(await ledger_customers(ledger)) == [f"csv/customer/c{i}" for i in range(3)]
