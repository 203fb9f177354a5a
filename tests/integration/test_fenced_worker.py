"""A worker whose push lease was taken stops at once: the batch it fetched is handed back
untouched (nothing reaches the ledger, nothing is acknowledged), and the lease's next owner
pushes it. Real nats-server, the in-process QBO sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncledger.core.bootstrap import Runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import LeaseHeld
from syncledger.core.lease import LEASE_BUCKET, lease_key
from syncledger.core.ledgers import LedgerHandle
from syncledger.core.pipeline import open_push_lease, run_worker, sync_service
from syncledger.core.settings import Settings
from syncledger.core.worker import build_broker
from tests.support.worker_log import ingest_customers, unfinished

pytestmark = pytest.mark.integration
ENTITY = "fenced"


@pytest.fixture
def settings(tmp_path: Path, server: EmbeddedNats) -> Settings:
    """For the shared ``rt`` and ``ledger`` (tests/integration/conftest.py)."""
    return Settings(data_dir=tmp_path / "state", nats_url=server.url, entity=ENTITY, ack_wait_s=3)


async def ledger_customers(ledger: LedgerHandle) -> list[str | None]:
    return [r.external_ref async for r in ledger.adapter.list_all("customer")]


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
    assert await unfinished(rt) == 3

    with pytest.raises(LeaseHeld, match=f"pushing for {ENTITY}/qbo is owned by process"):
        await run_worker(rt, ledger, until_idle=True)
    await successor.release()
    await lease.release()
    stats = await run_worker(rt, ledger, until_idle=True)  # the lease is free: it pushes
    assert stats.outcomes == {"pushed": 3}
    assert sorted(await ledger_customers(ledger)) == [f"csv/customer/c{i}" for i in range(3)]
