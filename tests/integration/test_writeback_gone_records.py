"""One source record gone cannot block the write-back of the others (issue #11), against
the HubSpot and Jobber sandboxes served over real HTTP on loopback (uvicorn), with the
memory ledger and log.

Three deals (invoices) are pushed to the ledger and paid there; the middle one is deleted
in the source; back-sync writes the status of the other two, logs the middle one refused
once with its reason (the read models' ``errors`` and ``syncledger trace`` show it), and
a second run hands the source nothing. A newer ledger change of the refused invoice is
written again (HubSpot: the deal restored meanwhile)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.adapters.jobber.platform import SOURCE as JOBBER
from syncledger.adapters.jobber.sandbox.server import JobberSandbox
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.backsync import BackSync, BackSyncReport
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import (
    SourceReader,
    StatusUpdate,
    StatusWriter,
    WriteBackOutcome,
)
from syncledger.core.sync_state import SyncState
from syncledger.core.trace import trace
from tests.support.served_sources import hubspot_reader, pushed_one_way
from tests.unit.test_sync import ENTITY, Harness

pytestmark = pytest.mark.integration
BATCH_WRITES = {
    "/crm/objects/2026-03/0-3/batch/update",
    "/crm/objects/2026-03/0-3/batch/upsert",
}


@dataclass
class Handed:
    """The source, counting what write-back hands it."""

    inner: StatusWriter
    updates: list[str] = field(default_factory=list)

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        self.updates.extend(u.source_ref for u in updates)
        return await self.inner.write_back(updates)


async def backsync(h: Harness, writer: StatusWriter) -> BackSyncReport:
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    syncer = BackSync(h.store, h.ledger, state, entity=ENTITY, actor="test", writer=writer)
    return await syncer.poll(datetime.now(UTC) - timedelta(days=1))


async def pushed_and_paid(h: Harness, reader: SourceReader, refs: list[str]) -> None:
    """Every record pushed one-way, and the invoices ``refs`` paid in full in the ledger."""
    await pushed_one_way(h, reader)
    for ref in refs:
        await pay(h, ref)


async def pay(h: Harness, ref: str, amount: Decimal | None = None) -> None:
    """A bookkeeper records a payment of the invoice in the ledger (all of it by default)."""
    found = await h.ledger.find("invoice", ref)
    assert found is not None, ref
    inv = h.ledger.records[found.ledger_id]
    h.ledger._pay(inv, amount if amount is not None else inv.balance or Decimal(0))


async def settled(h: Harness) -> list[tuple[str, str, str | None]]:
    """(type, source ref, code) of every write-back settlement in the log, in order."""
    found = []
    async for stored in h.store.read(f"sl.{ENTITY}.ledger.>"):
        event = json.loads(stored.raw)
        if event["type"] in ("SourceStatusWritten", "SourceStatusRefused"):
            data = event["data"]
            found.append((event["type"], data["source_ref"], data.get("code")))
    return found


def middle_one_gone(refs: list[str]) -> list[tuple[str, str, str | None]]:
    """The settlements of three paid invoices whose middle one is gone from the source:
    in the order of the observations, the gone one logged once."""
    return [
        ("SourceStatusWritten", refs[0], None),
        ("SourceStatusRefused", refs[1], "source_record_gone"),
        ("SourceStatusWritten", refs[2], None),
    ]


async def said(h: Harness, ref: str) -> list[str]:
    return [line.summary for line in await trace(h.store, ENTITY, RecordRef.parse(ref))]


# ------------------------------------------------------------------------- HubSpot


def hubspot_deals(sandbox: HubSpotSandbox, n: int) -> list[str]:
    company = sandbox.store.create("companies", {"name": "Three Deals Ltd"})
    deals = []
    for i in range(n):
        deal = sandbox.store.create(
            "deals",
            {"dealname": f"Deal {i}", "dealstage": "closedwon"}
            | {"closedate": "2026-03-01T00:00:00.000Z"},
        )
        item = sandbox.store.create(
            "line_items", {"name": "Widget", "quantity": "2", "price": "50.00"}
        )
        sandbox.store.associate("deals", deal, "line_items", item)
        sandbox.store.associate("deals", deal, "companies", company)
        deals.append(deal)
    return deals


def batch_writes(sandbox: HubSpotSandbox) -> int:
    return sum(1 for method, path in sandbox.requests if method == "POST" and path in BATCH_WRITES)


async def test_a_deal_deleted_in_hubspot_is_refused_once_and_the_others_are_written(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    sandbox, url = hubspot
    deals = hubspot_deals(sandbox, 3)
    refs = [f"hubspot/invoice/{d}" for d in deals]
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, StatusWriter) and isinstance(reader, SourceReader)
    writer = Handed(reader)
    try:
        h = Harness()
        await pushed_and_paid(h, reader, refs)
        sandbox.store.archive("deals", deals[1])  # deleted in HubSpot after the push

        first = await backsync(h, writer)
        requests = batch_writes(sandbox)
        second = await backsync(h, writer)

        assert first.written_back == 2
        assert await settled(h) == middle_one_gone(refs)
        assert any(
            line.startswith(f"{refs[1]}: paid NOT written back, refused by the source")
            and "source_record_gone" in line
            for line in first.lines
        )
        assert (second.written_back, second.waiting) == (0, 0)
        assert writer.updates == refs  # the second run handed HubSpot nothing
        assert batch_writes(sandbox) == requests
        props = sandbox.store.records["deals"]
        assert [props[d].properties.get("syncledger_payment_status") for d in deals] == [
            "paid",
            None,
            "paid",
        ]
        assert len(props) == 3  # no deal was created for the gone one
        assert any(
            "NOT written back" in s and "source_record_gone" in s and deals[1] in s
            for s in await said(h, refs[1])
        )

        # the deal restored in HubSpot; the invoice's next change in the ledger goes back
        sandbox.store.records["deals"][deals[1]].archived_ms = None
        await pay(h, refs[1], Decimal("-10.00"))  # a payment reversed in part: newer status
        third = await backsync(h, writer)
        assert third.written_back == 1
        restored = sandbox.store.records["deals"][deals[1]].properties
        assert restored["syncledger_payment_status"] == "partially_paid"
        assert restored["syncledger_balance"] == "10.00"
    finally:
        await reader.aclose()


async def test_the_gone_deal_is_found_in_a_full_batch_and_its_batch_is_written(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    """A whole-request 404 (the sandbox's answer for an unknown id) is halved down to the
    gone deal: the other 99 of its batch are written in the same run."""
    sandbox, url = hubspot
    deals = [sandbox.store.create("deals", {"dealname": f"D{i}"}) for i in range(100)]
    gone = deals[57]
    sandbox.store.archive("deals", gone)
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, StatusWriter)
    updates = [
        StatusUpdate(
            f"hubspot/invoice/{d}", "xero", "paid", "EUR", Decimal("10.00"), Decimal("0.00"),
            f"INV-{d}", d, None, None,
        )
        for d in deals
    ]  # fmt: skip
    try:
        outcomes = await reader.write_back(updates)
    finally:
        await reader.aclose()
    by_ref = {o.source_ref: o for o in outcomes}
    assert (by_ref[f"hubspot/invoice/{gone}"].result, by_ref[f"hubspot/invoice/{gone}"].code) == (
        "refused",
        "source_record_gone",
    )
    assert sum(o.result == "written" for o in outcomes) == 99
    assert batch_writes(sandbox) <= 1 + 2 * 7  # halving, not 100 requests one by one
    store = sandbox.store.records["deals"]
    assert all(
        store[d].properties.get("syncledger_payment_status") == "paid" for d in deals if d != gone
    )


# -------------------------------------------------------------------------- Jobber


def jobber_invoices(sandbox: JobberSandbox, n: int) -> list[str]:
    client = sandbox.store.put_client(companyName="Three Jobs Ltd")
    lines = [{"name": "Work", "description": "", "quantity": 1, "unitPrice": 100}]
    invoices = [sandbox.store.put_invoice(client, str(100 + i), lines) for i in range(n)]
    for invoice in invoices:
        sandbox.store.mark_sent(invoice)
    return invoices


async def test_an_invoice_jobber_no_longer_has_is_refused_once_and_the_others_are_written(
    jobber: tuple[JobberSandbox, str], tmp_path: Path
) -> None:
    sandbox, url = jobber
    invoices = jobber_invoices(sandbox, 3)
    refs = [f"jobber/invoice/{i}" for i in invoices]
    reader = JOBBER.connect(SourceConnection(tmp_path / "t.json", base_url=url))
    assert isinstance(reader, StatusWriter) and isinstance(reader, SourceReader)
    writer = Handed(reader)
    try:
        h = Harness()
        await pushed_and_paid(h, reader, refs)
        sandbox.store.destroy(invoices[1])  # deleted in Jobber after the push

        first = await backsync(h, writer)
        second = await backsync(h, writer)
    finally:
        await reader.aclose()
    assert first.written_back == 2
    assert await settled(h) == middle_one_gone(refs)
    assert (second.written_back, second.waiting) == (0, 0)
    assert writer.updates == refs  # the second run handed Jobber nothing
    assert [sandbox.store.paid_amount(i) for i in (invoices[0], invoices[2])] == [
        Decimal("100"),
        Decimal("100"),
    ]
    assert any("source_record_gone" in s for s in await said(h, refs[1]))
