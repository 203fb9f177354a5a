"""Exactly one process pushes an entity+ledger (the push lease), proven with real processes
against a served QBO sandbox and a real nats-server: `run` beside two `import --backfill`,
`run` beside one, two `sync --once` at once, and an owner SIGKILLed while it holds the
lease. After each: every record in the ledger exactly once (counted by our reference),
and the reconciler finds nothing."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from nats.js.errors import KeyNotFoundError

from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.lease import LEASE_BUCKET, LeaseHolder, PushLease, lease_key
from syncledger.core.pipeline import reconcile_now
from syncledger.core.settings import Settings
from syncledger.core.sync_state import SyncState
from tests.support.ledger_checks import KINDS, assert_ledger_holds_each_record_once
from tests.support.processes import Proc, SandboxServer, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "owner"
CUSTOMERS, INVOICES = 10, 150  # the size at which two pushers were seen duplicating
LEASE_TTL = "3"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


@pytest.fixture
def cfg(tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        nats_url=nats.url,
        ledger_url=sandbox.url,
        entity=ENTITY,
        lease_ttl_s=float(LEASE_TTL),
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """customers, 150 one-line invoices and a payment of each, as docs/csv.md lays out."""
    path = tmp_path / "export"
    path.mkdir()
    stamp = "2026-01-02T00:00:00Z"
    customers = [
        {"id": f"C{i}", "name": f"Owner Customer {i}", "currency": "USD", "updated_at": stamp}
        for i in range(CUSTOMERS)
    ]
    invoices, payments = [], []
    for i in range(INVOICES):
        price = Decimal(100 + i)
        total = str(price * 2 + Decimal("5.00"))
        cid = f"C{i % CUSTOMERS}"
        invoices.append(
            {
                "id": f"I{i}",
                "number": f"OWN-{i}",
                "customer_id": cid,
                "issue_date": "2026-01-02",
                "currency": "USD",
                "total": total,
                "updated_at": stamp,
                "description": "Service call",
                "quantity": "2",
                "unit_price": f"{price}.00",
                "tax_amount": "5.00",
                "line_type": "service",
            }
        )
        payments.append(
            {
                "id": f"P{i}",
                "customer_id": cid,
                "invoice_id": f"I{i}",
                "amount": total,
                "currency": "USD",
                "paid_on": "2026-01-03",
                "updated_at": stamp,
            }
        )
    for name, rows in (("customers", customers), ("invoices", invoices), ("payments", payments)):
        with open(path / f"{name}.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def expected_refs() -> set[str]:
    return (
        {f"csv/customer/C{i}" for i in range(CUSTOMERS)}
        | {f"csv/invoice/I{i}" for i in range(INVOICES)}
        | {f"csv/payment/P{i}" for i in range(INVOICES)}
    )


def command(cfg: Settings, log: Path, *args: str) -> Proc:
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_LEDGER_URL": str(cfg.ledger_url),
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_LEASE_TTL_S": LEASE_TTL,
        "SYNCLEDGER_ACK_WAIT_S": "3",
        "SYNCLEDGER_RECONCILE_EVERY_S": "100000",
    }
    return Proc(list(args), env, log).start()


async def finished(proc: Proc, deadline_s: float = 300) -> int:
    assert proc.popen is not None
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, proc.popen.wait, deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{' '.join(proc.args)} did not finish") from None


async def pushed(cfg: Settings) -> int:
    async with open_runtime(cfg) as rt:
        state = SyncState(ENTITY, "qbo")
        await state.load(rt.store)
    return sum(1 for r in state.records.values() if r.ledger_ref is not None)


async def until_all_pushed(cfg: Settings, deadline_s: float = 300) -> None:
    end = time.monotonic() + deadline_s
    while await pushed(cfg) < len(expected_refs()):
        assert time.monotonic() < end, "the owner did not push everything"
        await asyncio.sleep(1)


async def assert_clean(cfg: Settings) -> None:
    assert cfg.ledger_url is not None
    await assert_ledger_holds_each_record_once(cfg, cfg.ledger_url, expected_refs())
    report = await reconcile_now(cfg)
    assert report.open == []
    assert report.ledger_duplicates == 0


async def run_beside_imports(cfg: Settings, folder: Path, tmp_path: Path, imports: int) -> None:
    """`run` started first: it takes the lease, each import queues its records."""
    owner = command(cfg, tmp_path / "run.log", "run")
    try:
        codes = [
            await finished(command(cfg, tmp_path / f"import-{n}.log", *backfill(folder)))
            for n in range(imports)
        ]
        assert codes == [0] * imports, "an import --backfill failed (see its log)"
        await until_all_pushed(cfg)
    finally:
        owner.stop()
    await assert_clean(cfg)


def backfill(folder: Path) -> tuple[str, ...]:
    return ("import", str(folder), "--backfill")


async def test_run_beside_two_backfills_pushes_each_record_once(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    await run_beside_imports(cfg, folder, tmp_path, imports=2)


async def test_a_backfill_pushing_when_run_starts_pushes_each_record_once(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    """The import first: it holds the lease while `run` starts, then hands over."""
    backfill_log = tmp_path / "import.log"
    importer = command(cfg, backfill_log, *backfill(folder))
    await until_logged(backfill_log, "new record versions")  # appended; about to take the lease
    owner = command(cfg, tmp_path / "run.log", "run")
    try:
        assert await finished(importer) == 0, "the import --backfill failed (see its log)"
        await until_all_pushed(cfg)
    finally:
        owner.stop()
    await assert_clean(cfg)


async def test_two_syncs_at_once_push_each_record_once(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    assert await finished(command(cfg, tmp_path / "import.log", "import", str(folder))) == 0
    syncs = [command(cfg, tmp_path / f"sync-{n}.log", "sync", "--once") for n in range(2)]
    codes = sorted([await finished(proc) for proc in syncs])
    assert codes in ([0, 0], [0, 75]), f"exit codes {codes} (see the sync logs)"
    if codes == [0, 75]:  # the one that found the lease held says who holds it
        assert any(said(tmp_path / f"sync-{n}.log", "is owned by process") for n in range(2))
    assert await pushed(cfg) == len(expected_refs())
    await assert_clean(cfg)


async def test_a_killed_owners_lease_lapses_and_the_waiting_run_finishes(
    cfg: Settings, folder: Path, tmp_path: Path, sandbox: SandboxServer
) -> None:
    """The owner is SIGKILLed holding the lease, its first write committed in the ledger
    and unanswered; the `run` waiting beside it takes over once the lease lapses and
    recovers that write instead of repeating it."""
    assert await finished(command(cfg, tmp_path / "import.log", "import", str(folder))) == 0
    sandbox.admin("faults", {"commit_then_timeout": 1, "stall_seconds": 120})
    first = command(cfg, tmp_path / "run-1.log", "run")
    second: Proc | None = None
    try:
        wait_for(lambda: in_ledger(sandbox) > 0, "the first write to commit")
        second = command(cfg, tmp_path / "run-2.log", "run")
        await until_logged(tmp_path / "run-2.log", "waiting to take over")
    finally:
        first.kill()  # SIGKILL while holding the lease: it is never released
    sandbox.admin("faults", method="DELETE")
    assert second is not None
    try:
        await until_logged(tmp_path / "run-2.log", "took over pushing for owner/qbo")
        await until_all_pushed(cfg)
    finally:
        second.stop()
    await assert_clean(cfg)


async def until_logged(log: Path, text: str) -> None:
    end = time.monotonic() + 60
    while not said(log, text):
        assert time.monotonic() < end, f"{log.name} never said {text!r}"
        await asyncio.sleep(0.1)


def in_ledger(sandbox: SandboxServer) -> int:
    counts = sandbox.counts()
    return sum(counts.get(kind, 0) for kind in KINDS)


def said(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text()


async def test_what_each_command_does_when_another_owns_pushing_and_release_on_exit(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    """Deterministic: this test process holds the lease (a live owner), with a TTL so long
    that a key gone after a command means it released the lease, not that it lapsed."""
    async with open_runtime(cfg) as rt:
        held = await PushLease.open(rt.nc, ENTITY, "qbo", 600.0, command="syncledger run")
        assert await held.take() is None
        sync = command(cfg, tmp_path / "sync.log", "sync", "--once")
        assert await finished(sync) == 75
        backfill_log = tmp_path / "import.log"
        assert await finished(command(cfg, backfill_log, *backfill(folder))) == 0
        await held.release()
        owned = f"pushing for {ENTITY}/qbo is owned by process {os.getpid()} on host"
        assert said(tmp_path / "sync.log", f"error: {owned}")
        assert said(backfill_log, "310 new record versions") and said(
            backfill_log, "your records were queued"
        )
        assert await pushed(cfg) == 0  # queued, not pushed

        assert await finished(command(cfg, tmp_path / "sync-2.log", "sync", "--once")) == 0
        assert await lease_holder(rt) is None  # released on exit
        owner = command(cfg, tmp_path / "run.log", "run")
        try:
            await until_true(lambda: lease_holder(rt), "run to take the lease")
        finally:
            owner.stop()  # SIGTERM: a clean exit
        assert await lease_holder(rt) is None
    assert await pushed(cfg) == len(expected_refs())
    await assert_clean(cfg)


async def lease_holder(rt: Runtime) -> LeaseHolder | None:
    kv = await rt.nc.jetstream().key_value(LEASE_BUCKET)
    try:
        entry = await kv.get(lease_key(ENTITY, "qbo"))
    except KeyNotFoundError:
        return None
    return LeaseHolder.model_validate_json(entry.value or b"")


async def until_true(probe: Callable[[], Awaitable[object]], what: str) -> None:
    end = time.monotonic() + 60
    while not await probe():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)
