"""Partitions that move between real `run --entities` workers (issue 13, "Owned
partitions"): six entities, each its own served QBO sandbox company, one embedded
nats-server. One worker starts and takes all six; a second joins and they split them; the
first is SIGKILLed (its leases lapse, the second takes them over); the second is stopped
with SIGTERM (it deletes its leases) and a fresh worker takes everything and finishes.
Afterwards every record is in its entity's ledger exactly once, the reconciler finds
nothing, and each partition's owner changes are in the workers' logs."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.platforms import Connection, platform
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.ledgers import open_ledger
from syncledger.core.pipeline import catch_up, import_csv, reconcile_with
from syncledger.core.settings import Settings
from tests.support.ledger_checks import KINDS
from tests.support.processes import Proc, SandboxServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITIES = [f"e{n}" for n in range(6)]
CUSTOMERS, INVOICES = 10, 200  # 410 records an entity: pushing outlasts the moves
LEASE_TTL = "3"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[dict[str, SandboxServer]]:
    servers = {e: SandboxServer("qbo", tmp_path / f"ledger-{e}").start() for e in ENTITIES}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def cfg(tmp_path: Path, nats: EmbeddedNats, sandboxes: dict[str, SandboxServer]) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        nats_url=nats.url,
        entities=ENTITIES,
        entity_ledgers={e: {"ledger_url": s.url} for e, s in sandboxes.items()},
        lease_ttl_s=float(LEASE_TTL),
    )


def write_export(path: Path, customers: int, invoices: int, tag: str = "") -> Path:
    """customers, one-line invoices and a payment of each (docs/csv.md); ``tag`` makes
    their ids, names and numbers differ from another export's in the same ledger."""
    path.mkdir(parents=True)
    stamp = "2026-01-02T00:00:00Z"
    rows: dict[str, list[dict[str, str]]] = {"customers": [], "invoices": [], "payments": []}
    for i in range(customers):
        name = f"Partition Customer {tag}{i}"
        rows["customers"].append(
            {"id": f"{tag}C{i}", "name": name, "currency": "USD", "updated_at": stamp}
        )
    for i in range(invoices):
        price = Decimal(100 + i)
        total = str(price * 2 + Decimal("5.00"))
        cid = f"{tag}C{i % customers}"
        rows["invoices"].append(
            {"id": f"{tag}I{i}", "number": f"PART-{tag}{i}", "customer_id": cid,
             "issue_date": "2026-01-02", "currency": "USD", "total": total, "updated_at": stamp,
             "description": "Service call", "quantity": "2", "unit_price": f"{price}.00",
             "tax_amount": "5.00", "line_type": "service"}
        )  # fmt: skip
        rows["payments"].append(
            {"id": f"{tag}P{i}", "customer_id": cid, "invoice_id": f"{tag}I{i}", "amount": total,
             "currency": "USD", "paid_on": "2026-01-03", "updated_at": stamp}
        )  # fmt: skip
    for name, table in rows.items():
        with open(path / f"{name}.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    return path


def expected_refs(customers: int = CUSTOMERS, invoices: int = INVOICES) -> set[str]:
    return (
        {f"csv/customer/C{i}" for i in range(customers)}
        | {f"csv/invoice/I{i}" for i in range(invoices)}
        | {f"csv/payment/P{i}" for i in range(invoices)}
    )


def started(log: Path) -> bool:
    """The worker has said its first line (its read models are set up: workers starting
    at the same instant can find the SQLite read-model file locked while it is created)."""
    return log.exists() and "syncledger run:" in log.read_text()


def worker(cfg: Settings, log: Path) -> Proc:
    ledgers = {e: {"ledger_url": t.ledger_url} for e, t in cfg.entity_ledgers.items()}
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_ENTITIES": ",".join(cfg.entities),
        "SYNCLEDGER_ENTITY_LEDGERS": json.dumps(ledgers),
        "SYNCLEDGER_LEASE_TTL_S": LEASE_TTL,
        "SYNCLEDGER_ACK_WAIT_S": "3",
        "SYNCLEDGER_RECONCILE_EVERY_S": "100000",
        "SYNCLEDGER_BACKSYNC_EVERY_S": "100000",
    }
    return Proc(["run"], env, log).start()


def in_ledger(sandbox: SandboxServer) -> int:
    counts = sandbox.counts()
    return sum(counts.get(kind, 0) for kind in KINDS)


def in_ledgers(sandboxes: dict[str, SandboxServer]) -> int:
    return sum(in_ledger(s) for s in sandboxes.values())


def owned_by(log: Path) -> set[str]:
    """The partitions a worker's log says it holds now (took, not since given up or lost)."""
    held: set[str] = set()
    text = log.read_text() if log.exists() else ""
    for verb, scope in re.findall(r"(took|gave up|lost) partition (\S+)", text):
        (held.add if verb == "took" else held.discard)(scope)
    return held


def moves(log: Path) -> list[tuple[str, str]]:
    text = log.read_text() if log.exists() else ""
    return re.findall(r"(took|gave up|lost) partition (\S+)", text)


async def until(probe: object, what: str, deadline_s: float = 180) -> None:
    assert callable(probe)
    end = time.monotonic() + deadline_s
    while not probe():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        await asyncio.sleep(0.2)


async def import_all(cfg: Settings, folder: Path) -> None:
    for entity in cfg.entities:
        report = await import_csv(cfg.for_entity(entity), folder)
        assert report.refused == 0


async def refs_in_ledger(cfg: Settings) -> Counter[str | None]:
    """What the entity's ledger holds, counted by our reference (its own token file)."""
    assert cfg.ledger_url is not None
    conn = Connection(cfg.ledger_url, cfg.ledger_token_file("qbo"), {})
    ledger = platform("qbo").connect(conn)
    try:
        return Counter([r.external_ref for kind in KINDS async for r in ledger.list_all(kind)])
    finally:
        await ledger.aclose()


async def assert_each_entity_clean(cfg: Settings, expected: set[str]) -> None:
    for entity in cfg.entities:
        one = cfg.for_entity(entity)
        counts = await refs_in_ledger(one)
        assert [ref for ref, n in counts.items() if n > 1] == [], f"duplicates in {entity}"
        assert set(counts) == expected, f"{entity}: missing or unexpected records"
        async with open_runtime(one) as rt:
            ledger = open_ledger(one)
            try:
                report = await reconcile_with(rt, ledger, await catch_up(rt))
            finally:
                await ledger.aclose()
        assert report.open == [], f"{entity}: mismatches"
        assert report.ledger_duplicates == 0


async def test_partitions_move_between_workers_and_each_record_is_pushed_once(
    cfg: Settings, sandboxes: dict[str, SandboxServer], tmp_path: Path
) -> None:
    await import_all(cfg, write_export(tmp_path / "export", CUSTOMERS, INVOICES))
    total = len(ENTITIES) * len(expected_refs())
    logs = [tmp_path / f"worker-{n}.log" for n in range(1, 4)]
    first = worker(cfg, logs[0])
    second: Proc | None = None
    third: Proc | None = None
    try:
        await until(lambda: len(owned_by(logs[0])) == 6, "the first worker to take all six")
        await until(lambda: in_ledgers(sandboxes) >= 60, "pushing to start")
        second = worker(cfg, logs[1])
        await until(
            lambda: len(owned_by(logs[0])) == 3 and len(owned_by(logs[1])) == 3,
            "the two workers to hold three partitions each",
        )
        first.kill()  # SIGKILL: its leases and membership key lapse after a TTL
        killed_at = in_ledgers(sandboxes)
        await until(lambda: len(owned_by(logs[1])) == 6, "the second to take over all six")
        second.stop()  # SIGTERM: it gives up and deletes its leases
        stopped_at = in_ledgers(sandboxes)
        third = worker(cfg, logs[2])
        await until(lambda: len(owned_by(logs[2])) == 6, "a fresh worker to take all six")
        try:
            await until(lambda: in_ledgers(sandboxes) >= total, "every record pushed", 300)
        except AssertionError:
            held = {e: in_ledger(s) for e, s in sandboxes.items()}
            raise AssertionError(f"not every record pushed: {held} of {total}") from None
    finally:
        for proc in (first, second, third):
            if proc is not None:
                proc.stop()
    assert killed_at < total and stopped_at < total, "pushing ended before the moves"
    await assert_each_entity_clean(cfg, expected_refs())
    history = [moves(log) for log in logs]
    assert {s for verb, s in history[0] if verb == "took"} == {f"{e}/qbo" for e in ENTITIES}
    assert len([m for m in history[0] if m[0] == "gave up"]) == 3  # to the second worker
    assert len([m for m in history[1] if m[0] == "took"]) == 6  # three, then the orphans
    assert len([m for m in history[1] if m[0] == "gave up"]) == 6  # all, on SIGTERM
    assert {s for verb, s in history[2] if verb == "took"} == {f"{e}/qbo" for e in ENTITIES}
