"""The fault-injection suite (real processes): a 2,000-record sync into the QBO sandbox
while the worker is SIGKILLed at random points at least 50 times, the nats-server is
killed and restarted mid-sync, and the sandbox answers 5xx, 429 + Retry-After and times
out after committing. Some kills land while a second `run` contends for the push lease,
and some during `import --backfill` of the payments (a CSV folder). Afterwards: no
duplicate and no missing ledger record, every record accounted for in the log, and the
reconciler finds nothing to report. Credit notes applied to invoices and refunds of credit
are two writes each on QBO (the document, then the payment that applies or links it), so
kills also land between the steps of multi-write operations: every application must be
in the ledger afterwards (the reconciler checks applications)."""

from __future__ import annotations

import asyncio
import csv
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.pipeline import ingest_dir, ingest_items, reconcile_now
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.core.sync_state import SyncState
from tests.support.ledger_checks import assert_ledger_holds_each_record_once
from tests.support.processes import Proc, SandboxServer
from tests.support.records import credit_note, customer, invoice, payment, refund

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "faults"
CUSTOMERS, INVOICES, PAYMENTS = 200, 1200, 600
CREDITS, OPEN_CREDITS = 150, 50  # credit notes applied to invoices; open ones, refunded in part
KILLS = 50
ACK_WAIT = "3"
LEASE_TTL = "2"  # a killed owner's lease lapses quickly, so the next one pushes soon
CONTEND_EVERY, IMPORT_EVERY = 3, 5  # which rounds add a second `run`, an `import --backfill`


def book() -> list[SourceItem]:
    rng = random.Random(7)
    items = [customer(f"c{i}", name=f"Fault Customer {i}") for i in range(CUSTOMERS)]
    prices = {}
    for i in range(INVOICES):
        qty, price = rng.randint(1, 5), Decimal(rng.randint(1000, 90000)) / 100
        prices[i] = qty * price + Decimal("5.00")
        items.append(
            invoice(f"i{i}", f"c{i % CUSTOMERS}", qty=str(qty), price=str(price), tax="5.00")
        )
    for i in range(PAYMENTS):
        share = Decimal(rng.choice([1, 2, 4]))
        amount = (prices[i] / share).quantize(Decimal("0.01"))
        items.append(payment(f"p{i}", f"i{i}", f"c{i % CUSTOMERS}", str(amount)))
    return items + credits(prices)


def credits(prices: dict[int, Decimal]) -> list[SourceItem]:
    """Two-write records: credit notes applied to unpaid invoices, and refunds of part of
    open credit notes."""
    items = []
    for k in range(CREDITS):
        i = PAYMENTS + k
        amount = min(Decimal("40.00"), prices[i]).quantize(Decimal("0.01"))
        items.append(credit_note(f"n{k}", f"i{i}", f"c{i % CUSTOMERS}", amount=str(amount)))
    for k in range(OPEN_CREDITS):
        items.append(credit_note(f"o{k}", None, f"c{k}", amount="40.00"))
        items.append(refund(f"r{k}", f"c{k}", "15.00", credit_note_id=f"o{k}"))
    return items


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats-server", port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


def worker_env(cfg: Settings) -> dict[str, str]:
    return {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_LEDGER_URL": str(cfg.ledger_url),
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_ACK_WAIT_S": ACK_WAIT,
        "SYNCLEDGER_LEASE_TTL_S": LEASE_TTL,
        "SYNCLEDGER_QBO_TIMEOUT": "3",
        "SYNCLEDGER_RECONCILE_EVERY_S": "100000",
    }


async def ingest(cfg: Settings, items: list[SourceItem]) -> None:
    async def gen() -> AsyncIterator[SourceItem]:
        for item in items:
            yield item

    async with open_runtime(cfg) as rt:
        await ingest_items(rt, gen())


async def sync_state(cfg: Settings) -> SyncState:
    async with open_runtime(cfg) as rt:
        state = SyncState(ENTITY, "qbo")
        await state.load(rt.store)
        return state


def inject_a_fault(sandbox: SandboxServer, rng: random.Random) -> str:
    fault = rng.choice(["none", "5xx", "429", "commit_then_timeout"])
    if fault == "5xx":
        sandbox.admin("faults", {"fail_writes": 2, "fail_status": 503})
    elif fault == "429":
        sandbox.admin("faults", {"throttle": 1, "retry_after": 1})
    elif fault == "commit_then_timeout":
        sandbox.admin("faults", {"commit_then_timeout": 1, "stall_seconds": 5})
    return fault


@pytest.mark.timeout(1500)
async def test_two_thousand_records_survive_kills_restarts_and_ledger_faults(
    tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer
) -> None:
    cfg = Settings(
        data_dir=tmp_path / "state",
        nats_url=nats.url,
        ledger_url=sandbox.url,
        entity=ENTITY,
        ack_wait_s=3,
    )
    items = book()
    assert len(items) >= 2000
    payments = write_payment_folders(tmp_path / "payments", items)
    await ingest(cfg, [i for i in items if i.kind != "payment"])
    rng = random.Random(2026)
    faults: Counter[str] = Counter()
    for kill in range(KILLS):
        faults[inject_a_fault(sandbox, rng)] += 1
        procs = round_of_processes(cfg, kill, payments, tmp_path)
        await asyncio.sleep(rng.uniform(1.5, 4.0))
        if kill == KILLS // 2:  # the event store dies under the running worker
            nats.kill()
            await asyncio.sleep(1.0)
            nats.start()
            await asyncio.sleep(rng.uniform(1.0, 3.0))
        await kill_in_random_order(procs, rng)
    sandbox.admin("faults", method="DELETE")
    await ingest_folders(cfg, payments)  # what the kills cut off
    final = Proc(["run"], worker_env(cfg), tmp_path / "worker-final.log").start()
    try:

        async def synced() -> int:
            state = await sync_state(cfg)
            return sum(1 for r in state.records.values() if r.ledger_ref is not None)

        deadline = time.monotonic() + 900
        while await synced() < len(items):
            assert time.monotonic() < deadline, "the sync did not finish after the faults"
            await asyncio.sleep(2)
    finally:
        final.stop()

    state = await sync_state(cfg)
    assert all(
        r.ledger_ref is not None and r.pushed_sha == r.observed_sha for r in state.records.values()
    ), "every record accounted for, latest version"
    assert not [r for r in state.records.values() if r.abandoned_key or r.rejected_sha]
    await assert_ledger_holds_each_record_once(
        cfg, sandbox.url, {f"csv/{i.kind}/{i.id}" for i in items}
    )
    await assert_every_request_has_its_outcome(cfg)
    report = await reconcile_now(cfg)
    assert report.open == []
    assert report.ledger_duplicates == 0
    assert sum(faults.values()) == KILLS


def write_payment_folders(path: Path, items: list[SourceItem]) -> list[Path]:
    """The payments as CSV exports (docs/csv.md), one per `import` round, so that each
    import appends records of its own when it is killed."""
    payments = [i for i in items if i.kind == "payment"]
    rounds = len(range(2, KILLS, IMPORT_EVERY))
    return [write_folder(path / str(n), payments[n::rounds]) for n in range(rounds)]


def write_folder(path: Path, payments: list[SourceItem]) -> Path:
    path.mkdir(parents=True)
    for name, header in (("customers", "id,name,currency,updated_at"), ("invoices", INVOICE_HEAD)):
        (path / f"{name}.csv").write_text(header + "\n")
    fields = ["customer_id", "invoice_id", "amount", "currency", "paid_on"]
    with open(path / "payments.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["id", *fields, "updated_at"])
        writer.writeheader()
        for p in payments:
            writer.writerow(
                {"id": p.id, **{k: p.fields[k] for k in fields}, "updated_at": p.version}
            )
    return path


async def ingest_folders(cfg: Settings, folders: list[Path]) -> None:
    async with open_runtime(cfg) as rt:
        for folder in folders:
            await ingest_dir(rt, folder)


INVOICE_HEAD = (
    "id,number,customer_id,issue_date,currency,total,updated_at,description,quantity,unit_price"
)


def round_of_processes(cfg: Settings, n: int, payments: list[Path], tmp_path: Path) -> list[Proc]:
    """The worker; every few rounds a second `run` contending for the push lease, and an
    `import --backfill` of the payments (killed while it appends, or while it pushes)."""
    procs = [Proc(["run"], worker_env(cfg), tmp_path / f"worker-{n}.log").start()]
    if n % CONTEND_EVERY == 1:
        procs.append(Proc(["run"], worker_env(cfg), tmp_path / f"contender-{n}.log").start())
    if n % IMPORT_EVERY == 2:
        args = ["import", str(payments[n // IMPORT_EVERY]), "--backfill"]
        procs.append(Proc(args, worker_env(cfg), tmp_path / f"import-{n}.log").start())
    return procs


async def kill_in_random_order(procs: list[Proc], rng: random.Random) -> None:
    """SIGKILL each, a moment apart: a contender may take the lease over in between."""
    rng.shuffle(procs)
    for n, proc in enumerate(procs):
        if n:
            await asyncio.sleep(rng.uniform(0.0, 1.0))
        proc.kill()


async def assert_every_request_has_its_outcome(cfg: Settings) -> None:
    requested: set[str] = set()
    settled: set[str] = set()
    steps: set[tuple[str, str]] = set()
    steps_done: set[tuple[str, str]] = set()
    async with open_runtime(cfg) as rt:
        async for stored in rt.store.read(f"sl.{ENTITY}.ledger.>"):
            event = json.loads(stored.raw)
            d = event["data"]
            if event["type"] == "LedgerPushRequested":
                requested.add(d["idempotency_key"])
            elif event["type"] in ("LedgerPushSucceeded", "RecordLinked"):
                settled.add(d.get("idempotency_key", ""))
            elif event["type"] == "LedgerStepRequested":
                steps.add((d["idempotency_key"], d["step"]))
            elif event["type"] == "LedgerStepSucceeded":
                steps_done.add((d["idempotency_key"], d["step"]))
    assert requested - settled == set()
    assert steps - steps_done == set(), "a step of a multi-write operation without its outcome"
    assert steps_done, "no multi-write operation was journaled"
