"""HubSpot write-back in batches: upserts keyed on the unique-value deal reference, per-input
failures retried alone, nothing marked written that HubSpot did not take, and crashes
between the write and the mark (against the sandbox, over HTTP in-process)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.adapters.hubspot.writeback import PROPERTIES, UNIQUE
from syncledger.core.events import LedgerRecordObserved, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import SourceReader, StatusUpdate, StatusWriter
from syncledger.core.store import Envelope
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import ledger_subject
from syncledger.core.writeback import pending_writes, write_back_pending, write_back_run
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection

ENTITY = "acme"
LEDGER = "xero"
UPSERT = "/crm/objects/2026-03/0-3/batch/upsert"
UPDATE = "/crm/objects/2026-03/0-3/batch/update"


def _deals(sandbox: HubSpotSandbox, n: int) -> list[str]:
    return [
        sandbox.store.create("deals", {"dealname": f"Deal {i}", "dealstage": "closedwon"})
        for i in range(n)
    ]


def _update(deal: str, status: str = "partially_paid", balance: str = "40.00") -> StatusUpdate:
    return StatusUpdate(
        source_ref=f"hubspot/invoice/{deal}",
        ledger=LEDGER,
        status=status,
        currency="EUR",
        total=Decimal("100.00"),
        balance=Decimal(balance),
        ledger_number=f"INV-{deal}",
        ledger_id=deal,
        link=None,
        at=None,
    )


def _writes(sandbox: HubSpotSandbox) -> dict[str, int]:
    counts = {UPSERT: 0, UPDATE: 0}
    for method, path in sandbox.requests:
        if method == "POST" and path in counts:
            counts[path] += 1
    return counts


def _state(sandbox: HubSpotSandbox) -> dict[str, dict[str, Any]]:
    """Every deal as HubSpot holds it (properties and when each was set)."""
    return {
        rid: {
            "properties": dict(r.properties),
            "history": {k: list(v) for k, v in r.history.items()},
        }
        for rid, r in sandbox.store.records["deals"].items()
    }


@dataclass
class Portal:
    sandbox: HubSpotSandbox
    tmp_path: Path

    def writer(self) -> StatusWriter:
        found = SOURCE.connect(connection(self.tmp_path, self.sandbox))
        assert isinstance(found, StatusWriter)
        return found


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    sandbox = HubSpotSandbox()
    yield Portal(sandbox, tmp_path)
    sandbox.close()


async def _close(writer: StatusWriter) -> None:
    await writer.aclose()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- requests


async def test_250_updates_take_one_request_per_100(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 250)
    writer = portal.writer()
    try:
        assert [o.result for o in await writer.write_back([_update(d) for d in deals])] == [
            "written"
        ] * 250
        first = _writes(portal.sandbox)
        paid = [_update(d, "paid", "0.00") for d in deals]
        assert [o.result for o in await writer.write_back(paid)] == ["written"] * 250
        second = _writes(portal.sandbox)
    finally:
        await _close(writer)
    batches = math.ceil(250 / 100)  # at most 100 inputs a batch (SOURCES.md §1.3)
    assert first == {UPDATE: batches, UPSERT: 0}  # not stamped yet: by record id
    assert second[UPSERT] - first[UPSERT] == batches  # stamped: upserts on the reference
    assert second[UPDATE] == first[UPDATE]
    store = portal.sandbox.store.records["deals"]
    assert len(store) == 250  # no deal was created
    for d in deals:
        assert store[d].properties[UNIQUE] == f"hubspot/invoice/{d}"
        assert store[d].properties["syncledger_payment_status"] == "paid"
        assert store[d].properties["syncledger_amount_paid"] == "100.00"


async def test_the_reference_is_a_unique_value_property(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 1)
    writer = portal.writer()
    try:
        await writer.write_back([_update(deals[0])])
    finally:
        await _close(writer)
    defs = portal.sandbox.store.property_defs["deals"]
    assert set(defs) == set(PROPERTIES)
    assert [n for n, d in defs.items() if d.get("hasUniqueValue")] == [UNIQUE]


async def test_a_reader_that_read_the_deals_upserts_after_a_restart(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 3)
    writer = portal.writer()
    try:
        await writer.write_back([_update(d) for d in deals])
    finally:
        await _close(writer)
    again = portal.writer()  # a restart: this reader stamped nothing
    try:
        assert isinstance(again, SourceReader)
        await read_all(again, None)  # the deals come back holding their reference
        before = _writes(portal.sandbox)
        assert [
            o.result for o in await again.write_back([_update(d, "paid", "0") for d in deals])
        ] == ["written"] * 3
    finally:
        await _close(again)
    after = _writes(portal.sandbox)
    assert after[UPSERT] - before[UPSERT] == 1
    assert after[UPDATE] == before[UPDATE]


# ------------------------------------------------------------------- partial failures


async def test_a_failed_input_is_retried_alone(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 5)
    portal.sandbox.writes.faults.fail(deals[2])  # a transient per-input error, once
    writer = portal.writer()
    try:
        assert [o.result for o in await writer.write_back([_update(d) for d in deals])] == [
            "written"
        ] * 5
    finally:
        await _close(writer)
    store = portal.sandbox.store.records["deals"]
    assert _writes(portal.sandbox)[UPDATE] == 2  # the batch, then the failed one
    for d in deals:
        assert store[d].properties["syncledger_payment_status"] == "partially_paid"
        # each deal was written once: the retry carried the failed input only
        assert len(store[d].history["syncledger_payment_status"]) == 1


async def test_an_upsert_failure_is_retried_by_record_id(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 4)
    writer = portal.writer()
    try:
        await writer.write_back([_update(d) for d in deals])  # stamps them
        portal.sandbox.writes.faults.fail(f"hubspot/invoice/{deals[1]}")
        before = _writes(portal.sandbox)
        assert [
            o.result for o in await writer.write_back([_update(d, "paid", "0") for d in deals])
        ] == ["written"] * 4
    finally:
        await _close(writer)
    after = _writes(portal.sandbox)
    assert (after[UPSERT] - before[UPSERT], after[UPDATE] - before[UPDATE]) == (1, 1)
    store = portal.sandbox.store.records["deals"]
    assert {store[d].properties["syncledger_payment_status"] for d in deals} == {"paid"}


async def _observe(store: MemoryEventStore, updates: Sequence[StatusUpdate]) -> None:
    envelopes: list[Envelope] = []
    for u in updates:
        payload = LedgerRecordObserved(
            ledger=LEDGER,
            ledger_ref=u.ledger_id,
            kind="invoice",
            source_ref=u.source_ref,
            status=u.status,
            total=u.total,
            balance=u.balance,
            currency=u.currency,
            number=u.ledger_number,
        )
        subject = ledger_subject(ENTITY, LEDGER, RecordRef.parse(u.source_ref))
        envelopes.append(make_envelope(payload, entity=ENTITY, subject=subject, actor="test"))
    await store.append(envelopes)


async def _pending(store: MemoryEventStore) -> set[str]:
    return {p.observed.source_ref or "" for p in await pending_writes(store, ENTITY, LEDGER)}


def _ref(deal: str) -> str:
    return f"hubspot/invoice/{deal}"


async def _settled(store: MemoryEventStore) -> list[tuple[str, str, str | None]]:
    """(type, source ref, code) of every write-back settlement in the log, in order."""
    found = []
    async for stored in store.read(f"sl.{ENTITY}.ledger.>"):
        event = json.loads(stored.raw)
        if event["type"] in ("SourceStatusWritten", "SourceStatusRefused"):
            data = event["data"]
            found.append((event["type"], data["source_ref"], data.get("code")))
    return found


async def test_a_deal_hubspot_refuses_every_try_is_refused_with_its_reason(
    portal: Portal,
) -> None:
    deals = _deals(portal.sandbox, 5)
    log = MemoryEventStore()
    await _observe(log, [_update(d) for d in deals])
    portal.sandbox.writes.faults.fail(deals[3], times=10, status="400")  # refused every try
    writer = portal.writer()
    try:
        done = await write_back_run(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
        requests = len(portal.sandbox.requests)
        again = await write_back_run(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
    finally:
        await _close(writer)
    assert [u.source_ref for u in done.written] == [
        f"hubspot/invoice/{d}" for d in deals if d != deals[3]
    ]
    [refused] = done.refused
    assert (refused.update.source_ref, refused.code) == (
        f"hubspot/invoice/{deals[3]}",
        "source_refused",
    )
    assert "VALIDATION_ERROR" in refused.message  # HubSpot's reason, passed on
    assert await _pending(log) == set()  # settled: logged once, not retried
    assert (again.written, again.refused, again.waiting) == ([], [], [])
    assert len(portal.sandbox.requests) == requests  # the second run sent nothing
    settled = await _settled(log)
    assert (
        settled.count(("SourceStatusRefused", f"hubspot/invoice/{deals[3]}", "source_refused")) == 1
    )
    assert len(settled) == 5


async def test_a_deal_hubspot_fails_for_now_is_written_at_the_next_run(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 5)
    log = MemoryEventStore()
    await _observe(log, [_update(d) for d in deals])
    portal.sandbox.writes.faults.fail(deals[3], times=10, status="500")  # every try of this run
    writer = portal.writer()
    try:
        first = await write_back_run(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
        assert [u.source_ref for u in first.waiting] == [f"hubspot/invoice/{deals[3]}"]
        assert (len(first.written), first.refused) == (4, [])
        assert await _pending(log) == {f"hubspot/invoice/{deals[3]}"}  # the rest are marked
        portal.sandbox.writes.faults.failing.clear()
        second = await write_back_run(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
    finally:
        await _close(writer)
    assert [u.source_ref for u in second.written] == [f"hubspot/invoice/{deals[3]}"]
    assert await _pending(log) == set()
    store = portal.sandbox.store.records["deals"]
    assert "syncledger_payment_status" in store[deals[3]].properties


# ------------------------------------------------------------- idempotence and crashes


async def test_a_second_run_changes_nothing_in_hubspot(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 120)
    log = MemoryEventStore()
    await _observe(log, [_update(d) for d in deals])
    writer = portal.writer()
    try:
        first = await write_back_pending(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
        state = _state(portal.sandbox)
        requests = len(portal.sandbox.requests)
        second = await write_back_pending(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
    finally:
        await _close(writer)
    assert len(first) == 120 and second == []
    assert _state(portal.sandbox) == state
    assert len(portal.sandbox.requests) == requests


class CrashBeforeMark(MemoryEventStore):
    """A store whose process dies while the marks of the first batch are appended."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = False

    async def append(self, events: Sequence[Envelope], expect: Any = None) -> list[int]:
        if self.crash:
            self.crash = False
            raise RuntimeError("the worker died before the marks were appended")
        return await super().append(events, expect)


@pytest.mark.parametrize("restart", [False, True])
async def test_a_crash_between_the_write_and_the_mark_writes_again_safely(
    portal: Portal, restart: bool
) -> None:
    deals = _deals(portal.sandbox, 130)
    log = CrashBeforeMark()
    await _observe(log, [_update(d) for d in deals])
    writer = portal.writer()
    log.crash = True
    with pytest.raises(RuntimeError):
        await write_back_pending(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
    assert len(await _pending(log)) == 130  # the first batch was written, not marked
    if restart:
        await _close(writer)
        writer = portal.writer()  # a new process: it stamped nothing itself
    try:
        done = await write_back_pending(log, writer, entity=ENTITY, ledger=LEDGER, actor="t")
    finally:
        await _close(writer)
    assert len(done) == 130 and await _pending(log) == set()
    store = portal.sandbox.store.records["deals"]
    assert len(store) == 130  # the rewrite created nothing
    for d in deals:
        assert store[d].properties[UNIQUE] == f"hubspot/invoice/{d}"
        assert store[d].properties["syncledger_amount_paid"] == "60.00"


async def test_an_upsert_that_created_a_deal_refuses_that_deal_only(portal: Portal) -> None:
    deals = _deals(portal.sandbox, 2)
    writer = portal.writer()
    try:
        await writer.write_back([_update(d) for d in deals])
        # a person clears the reference on one deal in HubSpot
        portal.sandbox.store.update("deals", deals[0], {UNIQUE: ""})
        cleared, kept = await writer.write_back([_update(d, "paid", "0") for d in deals])
    finally:
        await _close(writer)
    assert (cleared.result, cleared.code) == ("refused", "source_record_gone")
    [made] = [d for d in portal.sandbox.store.records["deals"] if d not in deals]
    assert f"created deal {made}" in cleared.message  # so a person can delete it
    assert kept.result == "written"


async def test_a_deleted_deal_the_reader_has_read_is_refused_without_creating_one(
    portal: Portal,
) -> None:
    deals = _deals(portal.sandbox, 3)
    writer = portal.writer()
    try:
        assert isinstance(writer, SourceReader)
        _, cursor = await read_all(writer, None)
        await writer.write_back([_update(d) for d in deals])  # stamps them: upsert targets
        portal.sandbox.store.archive("deals", deals[1])  # deleted in HubSpot
        await read_all(writer, cursor)  # the reader sees the deletion
        outcomes = await writer.write_back([_update(d, "paid", "0") for d in deals])
    finally:
        await _close(writer)
    assert [(o.result, o.code) for o in outcomes] == [
        ("written", None),
        ("refused", "source_record_gone"),
        ("written", None),
    ]
    assert len(portal.sandbox.store.records["deals"]) == 3  # no deal was created
