"""A sync on a 3-node JetStream cluster survives its faults (issue 13), with real processes:
`import` of a CSV export and `run` against the cluster (SYNCLEDGER_NATS_URL naming all three
nodes, SYNCLEDGER_STREAM_REPLICAS=3) pushing to a served QBO sandbox, while the log
stream's leader is SIGKILLed and restarted from its store, and then a minority node is
stopped (partitioned off) and restarted from its store. Afterwards: every event the log
held before a fault is still there, once (no acknowledged event lost), every record is in
the ledger exactly once (counted by our reference), and the reconciler finds nothing."""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.pipeline import reconcile_now
from syncledger.core.settings import Settings
from syncledger.core.store_jetstream import JetStreamEventStore
from syncledger.core.sync_state import SyncState
from tests.support.cluster import NatsCluster, running_cluster
from tests.support.ledger_checks import KINDS, assert_ledger_holds_each_record_once
from tests.support.processes import Proc, SandboxServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "cluster"
CUSTOMERS, INVOICES, PAYMENTS = 20, 180, 100
LEASE_TTL = "6"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    async with running_cluster(tmp_path / "cluster") as stand:
        yield stand


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


@pytest.fixture
def cfg(tmp_path: Path, cluster: NatsCluster, sandbox: SandboxServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        nats_url=cluster.url,
        ledger_url=sandbox.url,
        entity=ENTITY,
        stream_replicas=3,
        lease_ttl_s=float(LEASE_TTL),
    )


def env(cfg: Settings) -> dict[str, str]:
    return {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_STREAM_REPLICAS": "3",
        "SYNCLEDGER_LEDGER_URL": str(cfg.ledger_url),
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_LEASE_TTL_S": LEASE_TTL,
        "SYNCLEDGER_ACK_WAIT_S": "3",
        "SYNCLEDGER_RECONCILE_EVERY_S": "100000",
    }


def write_export(path: Path) -> set[str]:
    """Customers, one-line invoices and payments of some, as docs/csv.md lays them out;
    the references they will carry in the ledger."""
    path.mkdir()
    stamp = "2026-01-02T00:00:00Z"
    customers = [
        {"id": f"C{i}", "name": f"Cluster Customer {i}", "currency": "USD", "updated_at": stamp}
        for i in range(CUSTOMERS)
    ]
    invoices = [invoice_row(i, stamp) for i in range(INVOICES)]
    payments = [
        {
            "id": f"P{i}",
            "customer_id": invoices[i]["customer_id"],
            "invoice_id": f"I{i}",
            "amount": invoices[i]["total"],
            "currency": "USD",
            "paid_on": "2026-01-03",
            "updated_at": stamp,
        }
        for i in range(PAYMENTS)
    ]
    for name, rows in (("customers", customers), ("invoices", invoices), ("payments", payments)):
        with open(path / f"{name}.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return (
        {f"csv/customer/C{i}" for i in range(CUSTOMERS)}
        | {f"csv/invoice/I{i}" for i in range(INVOICES)}
        | {f"csv/payment/P{i}" for i in range(PAYMENTS)}
    )


def invoice_row(i: int, stamp: str) -> dict[str, str]:
    price = Decimal(100 + i)
    return {
        "id": f"I{i}",
        "number": f"CL-{i}",
        "customer_id": f"C{i % CUSTOMERS}",
        "issue_date": "2026-01-02",
        "currency": "USD",
        "total": str(price * 2 + Decimal("5.00")),
        "updated_at": stamp,
        "description": "Service call",
        "quantity": "2",
        "unit_price": f"{price}.00",
        "tax_amount": "5.00",
        "line_type": "service",
    }


def in_ledger(sandbox: SandboxServer) -> int:
    counts = sandbox.counts()
    return sum(counts.get(kind, 0) for kind in KINDS)


async def until(probe: Callable[[], bool], what: str, deadline_s: float = 90.0) -> None:
    """Poll ``probe()`` until true; the deadline is against hangs, not a timing."""
    end = time.monotonic() + deadline_s
    while not await asyncio.to_thread(probe):
        assert time.monotonic() < end, f"gave up waiting for {what}"
        await asyncio.sleep(0.2)


async def log_ids(cluster: NatsCluster, stream: str) -> Counter[str]:
    """Every event id the log holds, read from the stream's leader."""
    nc = await cluster.connect()
    try:
        store = JetStreamEventStore(nc, stream=stream)
        return Counter([s.envelope().id async for s in store.read()])
    finally:
        await nc.close()


async def pushed(cfg: Settings) -> int:
    async with open_runtime(cfg) as rt:
        state = SyncState(ENTITY, "qbo")
        await state.load(rt.store)
    return sum(1 for r in state.records.values() if r.ledger_ref is not None)


async def test_a_sync_survives_a_killed_leader_a_stopped_node_and_restarts_from_the_store(
    cfg: Settings, cluster: NatsCluster, sandbox: SandboxServer, tmp_path: Path
) -> None:
    expected = write_export(tmp_path / "export")
    imported = Proc(["import", str(tmp_path / "export")], env(cfg), tmp_path / "import.log")
    popen = imported.start().popen
    assert popen is not None
    assert await asyncio.to_thread(popen.wait, 120) == 0, "import failed (see import.log)"
    seen: Counter[str] = Counter()
    worker = Proc(["run"], env(cfg), tmp_path / "run.log").start()
    try:
        # 1. the stream's leader dies mid-sync, and comes back from its store
        await until(lambda: in_ledger(sandbox) >= 40, "the first pushes")
        seen = await log_ids(cluster, cfg.stream)
        leader = await cluster.stream_leader(cfg.stream)
        cluster.node(leader).kill()
        after = in_ledger(sandbox)
        await until(lambda: in_ledger(sandbox) >= after + 40, "pushes without the leader")
        cluster.restart(leader)
        await cluster.wait_replicas_current(cfg.stream)
        # 2. a minority node (not the leader now) is partitioned off, then restarted
        seen.update(await log_ids(cluster, cfg.stream) - seen)
        now_leads = await cluster.stream_leader(cfg.stream)
        minority = next(n.name for n in cluster.nodes if n.name not in (now_leads, leader))
        await asyncio.to_thread(cluster.node(minority).stop)
        after = in_ledger(sandbox)
        await until(lambda: in_ledger(sandbox) >= after + 40, "pushes without a minority")
        cluster.restart(minority)
        await cluster.wait_replicas_current(cfg.stream)
        await until_all_pushed(cfg, len(expected))
    finally:
        worker.stop()
    assert worker.popen is not None and worker.popen.returncode == 0, "run failed (run.log)"

    final = await log_ids(cluster, cfg.stream)
    assert [i for i, n in final.items() if n > 1] == []  # no event stored twice
    assert set(seen) - set(final) == set()  # nothing the log held was lost
    assert cfg.ledger_url is not None
    await assert_ledger_holds_each_record_once(cfg, cfg.ledger_url, expected)
    report = await reconcile_now(cfg)
    assert report.open == []
    assert report.ledger_duplicates == 0


async def until_all_pushed(cfg: Settings, count: int, deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while await pushed(cfg) < count:
        assert time.monotonic() < end, "the sync did not finish after the faults"
        await asyncio.sleep(1)
