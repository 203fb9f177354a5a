"""Ingest keeps numbers no ledger can hold out of the log, and two imports at once append
each record version once (issue 19, sections 1 and 3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from syncledger.core.events import RejectionReason, SourceRecordRejected, make_envelope
from syncledger.core.ingest import Ingestor, IngestReport
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.ports import SourceItem
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.validation import AMOUNT_OUT_OF_RANGE, NOT_A_DECIMAL, TOO_MANY_DECIMALS
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from tests.support.records import customer, invoice, payment

ENTITY = "acme"
INV = "csv/invoice/i1"


def _bad_invoice(total: str, price: str, version: str = "2026-01-02T00:00:00") -> SourceItem:
    item = invoice("i1", "c1", qty="1", price="1.00", tax="0.00", total=total, version=version)
    item.fields["lines"][0]["unit_price"] = price  # type: ignore[index]
    return item


async def _items(items: Iterable[SourceItem]) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item


async def _ingest(
    store: MemoryEventStore, keys: MemoryKeyStore, items: Iterable[SourceItem]
) -> IngestReport:
    ingestor = Ingestor(store, keys, entity=ENTITY, actor="test")
    await ingestor.load()
    return await ingestor.ingest(_items(items))


async def _log(store: MemoryEventStore) -> list[dict[str, Any]]:
    return [json.loads(s.raw) async for s in store.read()]


@pytest.mark.parametrize("huge", ["1e309", "1e61"])
async def test_a_number_no_ledger_holds_never_reaches_the_log(huge: str) -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    report = await _ingest(store, keys, [customer("c1"), _bad_invoice(huge, huge)])
    assert (report.observed, report.refused) == (1, 1)
    events = await _log(store)
    assert [e["type"] for e in events] == ["SourceRecordObserved", "SourceRecordRejected"]
    refusal = events[1]["data"]
    assert (refusal["ref"], refusal["ledger"]) == (INV, None)
    assert [(r["field"], r["code"]) for r in refusal["reasons"]] == [
        ("total", NOT_A_DECIMAL),
        ("lines[0].unit_price", NOT_A_DECIMAL),
    ]
    assert "exponent notation" in refusal["reasons"][0]["message"]
    assert huge not in json.dumps(events[0])  # the customer carries nothing of it


@pytest.mark.parametrize(
    ("total", "code"),
    [
        ("1000000000000.00", AMOUNT_OUT_OF_RANGE),  # 13 digits before the point
        ("1.0000001", TOO_MANY_DECIMALS),
        ("1." + "0" * 40, AMOUNT_OUT_OF_RANGE),  # exact, but 41 digits as written
        ("NaN", NOT_A_DECIMAL),
        ("-Infinity", NOT_A_DECIMAL),
        ("١٢٣", NOT_A_DECIMAL),  # Arabic-Indic digits: Decimal() would take them
    ],
)
async def test_each_bound_is_refused_with_its_reason(total: str, code: str) -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    await _ingest(store, keys, [_bad_invoice(total, "1.00")])
    [refusal] = await _log(store)
    assert refusal["type"] == "SourceRecordRejected"
    assert [(r["field"], r["code"]) for r in refusal["data"]["reasons"]] == [("total", code)]


async def test_the_largest_numbers_a_ledger_holds_go_through() -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    item = _bad_invoice("999999999999.99", "999999999999.99")
    item.fields["lines"][0]["quantity"] = "0.000001"  # type: ignore[index]
    item.fields["discount"] = "-0"
    await _ingest(store, keys, [item])
    assert [e["type"] for e in await _log(store)] == ["SourceRecordObserved"]


async def test_a_refused_row_is_shown_once_and_its_fix_flows(tmp_path: Path) -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    models, runner = ReadModels(engine), ProjectionRunner(engine, store)
    await _ingest(store, keys, [customer("c1"), _bad_invoice("1e61", "1e61")])
    again = await _ingest(store, keys, [customer("c1"), _bad_invoice("1e61", "1e61")])
    assert (again.unchanged, again.refused, await store.last_seq()) == (2, 0, 2)
    await runner.catch_up()
    (error,) = models.open_errors(ENTITY)
    assert (error.source_ref, error.error, error.code) == (INV, "refused", NOT_A_DECIMAL)
    assert models.record(ENTITY, INV).status == "rejected"  # type: ignore[union-attr]
    fixed = await _ingest(store, keys, [_bad_invoice("100.00", "100.00", "2026-01-03T00:00:00")])
    assert fixed.observed == 1
    await runner.catch_up()
    assert models.open_errors(ENTITY) == []
    record = models.record(ENTITY, INV)
    assert record is not None and (record.status, str(record.total)) == ("observed", "100.00")


async def test_a_refused_update_keeps_what_the_ledger_has(tmp_path: Path) -> None:
    """v1 folded, v2 refused: the record stays v1 (that is what was pushed), the refusal
    is listed until a newer version is observed."""
    store, keys = MemoryEventStore(), MemoryKeyStore()
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    models, runner = ReadModels(engine), ProjectionRunner(engine, store)
    await _ingest(store, keys, [_bad_invoice("5.00", "5.00")])
    await _ingest(store, keys, [_bad_invoice("1e309", "5.00", "2026-01-03T00:00:00")])
    await runner.catch_up()
    record = models.record(ENTITY, INV)
    assert record is not None and (record.status, str(record.total)) == ("observed", "5.00")
    assert [e.error for e in models.open_errors(ENTITY)] == ["refused"]
    await _ingest(store, keys, [_bad_invoice("5.00", "5.00", "2026-01-04T00:00:00")])
    await runner.catch_up()
    assert models.open_errors(ENTITY) == []


# --------------------------------------------------------------------------- races


BOOK = [
    customer("c1"),
    customer("c2"),
    invoice("i1", "c1"),
    invoice("i2", "c2"),
    payment("p1", "i1", "c1", "110.00"),
    _bad_invoice("1e309", "1.00"),  # refusals too: once each
]


def _versions(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (e["type"], e["data"]["ref"], e["data"].get("content_sha256", ""))
        for e in events
        if e["type"].startswith("SourceRecord")
    ]


async def test_two_imports_racing_append_each_version_once() -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    first, second = (Ingestor(store, keys, entity=ENTITY, actor=n) for n in ("a", "b"))
    await first.load()
    await second.load()  # both saw an empty log: every append of one conflicts
    reports = await asyncio.gather(first.ingest(_items(BOOK)), second.ingest(_items(BOOK)))
    versions = _versions(await _log(store))
    assert len(versions) == len(set(versions)) == 6
    assert sum(r.observed + r.refused for r in reports) == 6
    assert sum(r.unchanged for r in reports) == 6
    assert sum(r.by_kind.get("invoice", 0) for r in reports) == 2


async def test_a_racing_import_of_another_version_still_appends_it() -> None:
    store, keys = MemoryEventStore(), MemoryKeyStore()
    old = Ingestor(store, keys, entity=ENTITY, actor="old")
    new = Ingestor(store, keys, entity=ENTITY, actor="new")
    await old.load()
    await new.load()
    await new.ingest(_items([invoice("i1", "c1", total="110.00", version="2026-01-09T00:00:00")]))
    await old.ingest(_items([invoice("i1", "c1", qty="3", total="160.00")]))
    assert [t for t, _, _ in _versions(await _log(store))] == ["SourceRecordObserved"] * 2


async def test_a_worker_write_on_the_subject_does_not_hide_a_new_version() -> None:
    """The worker's rejection lands on the record's subject between load and append: the
    import reads it, sees it says nothing about the source's version, and appends."""
    store, keys = MemoryEventStore(), MemoryKeyStore()
    await _ingest(store, keys, [invoice("i1", "c1")])
    late = Ingestor(store, keys, entity=ENTITY, actor="late")
    await late.load()
    [observed] = await _log(store)
    payload = SourceRecordRejected(
        ref=INV,
        kind="invoice",
        content_sha256=observed["data"]["content_sha256"],
        reasons=(RejectionReason(code="customer_not_found", message="no c1"),),
        ledger="memory",
    )
    await store.append(
        [make_envelope(payload, entity=ENTITY, subject=observed["subject"], actor="worker")]
    )
    report = await late.ingest(_items([invoice("i1", "c1", qty="3", total="160.00")]))
    assert report.observed == 1
    types = [t for t, _, _ in _versions(await _log(store))]
    assert types == ["SourceRecordObserved", "SourceRecordRejected", "SourceRecordObserved"]
