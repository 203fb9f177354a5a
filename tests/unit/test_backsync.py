"""Back-sync on fakes: ledger-side changes become events; payment status flows back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from syncledger.core.backsync import BackSync
from syncledger.core.errors import SourceError
from syncledger.core.ports import InvoiceUpdate
from syncledger.core.source_ports import StatusUpdate, WriteBackOutcome
from syncledger.core.sync_state import SyncState
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness
from tests.unit.test_sync_operations import changed_model


@dataclass
class Written:
    rows: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        self.rows.extend((u.source_ref, u.status, _text(u.balance)) for u in updates)
        return [WriteBackOutcome.written(u.source_ref) for u in updates]


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


async def synced() -> Harness:
    h = Harness()
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    await h.run()
    return h


async def backsync(h: Harness, writer: Written | None = None) -> BackSync:
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    return BackSync(h.store, h.ledger, state, entity=ENTITY, actor="test", writer=writer)


def long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)


async def types(h: Harness) -> list[str]:
    return [json.loads(s.raw)["type"] async for s in h.store.read(f"sl.{ENTITY}.ledger.>")]


async def test_our_own_writes_are_not_echoed() -> None:
    h = await synced()
    report = await (await backsync(h)).poll(long_ago())
    assert (report.seen, report.observed, report.ours) == (2, 0, 2)


async def test_a_payment_recorded_in_the_ledger_flows_back_to_the_source() -> None:
    h = await synced()
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    h.ledger._pay(h.ledger.records[inv.ledger_id], inv.total or Decimal(0))  # paid in full
    writer = Written()
    report = await (await backsync(h, writer)).poll(long_ago())
    assert report.observed == 1
    assert writer.rows == [("csv/invoice/i1", "paid", "0.00")]
    assert (await types(h))[-2:] == ["LedgerRecordObserved", "SourceStatusWritten"]


@dataclass
class Unreachable(Written):
    """A source that is down: it takes nothing."""

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        raise SourceError("the CRM is down")


async def test_a_status_the_source_could_not_take_is_written_at_the_next_back_sync() -> None:
    h = await synced()
    [inv] = [r for r in h.ledger.records.values() if r.kind == "invoice"]
    h.ledger._pay(h.ledger.records[inv.ledger_id], inv.total or Decimal(0))
    with pytest.raises(SourceError):
        await (await backsync(h, Unreachable())).poll(long_ago())
    assert (await types(h))[-1] == "LedgerRecordObserved"  # observed, not yet written back
    writer = Written()
    report = await (await backsync(h, writer)).poll(long_ago())
    assert report.observed == 0  # the ledger change was observed the first time
    assert writer.rows == [("csv/invoice/i1", "paid", "0.00")]
    again = Written()
    await (await backsync(h, again)).poll(long_ago())
    assert again.rows == []  # written once: nothing pending any more
    again = await (await backsync(h, writer)).poll(long_ago())  # already observed
    assert again.observed == 0
    assert len(writer.rows) == 1


async def test_a_person_editing_a_pushed_total_is_flagged_at_once() -> None:
    h = await synced()
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    await h.ledger.update_invoice(
        InvoiceUpdate(
            changed_model(),
            ledger_id=inv.ledger_id,
            version=inv.version,
            customer_ledger_id="1",
            external_ref="csv/invoice/i1",
            idempotency_key="by-hand",
        )
    )
    report = await (await backsync(h)).poll(long_ago())
    assert report.conflicts == 1
    assert (await types(h))[-2:] == ["LedgerRecordObserved", "ConflictDetected"]


async def test_a_run_without_a_source_keeps_the_statuses_for_a_run_with_one() -> None:
    h = await synced()
    [inv] = [r for r in h.ledger.records.values() if r.kind == "invoice"]
    h.ledger._pay(h.ledger.records[inv.ledger_id], inv.total or Decimal(0))
    blind = await (await backsync(h)).poll(long_ago())  # `backsync` without --source
    assert (blind.observed, blind.written_back, blind.waiting) == (1, 0, 1)
    # the next run starts where the first one's cursor ended: the ledger reports nothing new
    writer = Written()
    later = await (await backsync(h, writer)).poll(datetime.now(UTC) + timedelta(hours=1))
    assert (later.seen, later.written_back, later.waiting) == (0, 1, 0)
    assert writer.rows == [("csv/invoice/i1", "paid", "0.00")]
    after = await (await backsync(h)).poll(datetime.now(UTC) + timedelta(hours=1))
    assert after.waiting == 0
