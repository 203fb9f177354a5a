"""Conflicts decided (issue 16): what differs, field by field, and a person's decision as
an event the worker acts on. The log is the in-memory store with real sync runs on it,
the ledger the in-memory one; a person's edit in the ledger is a write with its own key."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.core import conflicts
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import ConflictSettled
from syncledger.core.keystore import subject_key_id
from syncledger.core.model import RecordRef
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all
from tests.support.records import changed, customer, invoice
from tests.unit.test_sync import ENTITY, Harness
from tests.unit.test_sync_operations import events_of

I1 = RecordRef.parse("csv/invoice/i1")
C1 = RecordRef.parse("csv/customer/c1")


def _desk(h: Harness, actor: str = "cli:ada") -> conflicts.ConflictDesk:
    return conflicts.ConflictDesk(h.store, h.keys, ENTITY, h.ledger.ledger, actor)


async def _edit_total(h: Harness, total: str) -> str:
    """A person changes the invoice's total in the ledger; its new version."""
    inv = await h.ledger.find("invoice", str(I1))
    assert inv is not None
    done = h.ledger._replace(f"by-hand-{total}", inv.ledger_id, inv.version, total=Decimal(total))
    assert done.version is not None
    return done.version


async def _invoice_conflict(h: Harness) -> str:
    """i1 pushed, edited in the ledger (99.00), then changed in the source (105.00): the
    update is refused and the conflict stays open. The ledger's version then."""
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    edited = await _edit_total(h, "99.00")
    await h.ingest([changed(i1, "2026-02-01", discount="5.00", total="105.00")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    return edited


async def _ledger_total(h: Harness) -> Decimal | None:
    inv = await h.ledger.find("invoice", str(I1))
    assert inv is not None
    return inv.total


async def test_an_open_conflict_shows_each_field_with_both_values() -> None:
    h = Harness()
    edited = await _invoice_conflict(h)
    [found] = await conflicts.open_conflicts(_desk(h))
    assert (found.ref, found.actual_version) == (str(I1), edited)
    shown = {d.field: (d.ledger, d.ours) for d in found.differences}
    assert shown["total"] == ("99.00", "105.00")
    text = "\n".join(conflicts.conflict_lines([found], h.ledger.ledger, 1))
    assert "total: ledger 99.00, ours 105.00" in text
    assert "--keep-ledger" in text and "--overwrite" in text


async def test_keep_ledger_closes_it_pushes_nothing_and_does_not_flag_it_again() -> None:
    h = Harness()
    edited = await _invoice_conflict(h)
    said = await conflicts.settle_conflict(_desk(h), I1, "keep_ledger", note="customer agreed")
    assert "kept" in said
    calls = h.ledger.calls
    await h.run()
    h.consumed = 0  # every event again, to a worker rebuilt from the log: still nothing
    await h.run()
    assert (h.ledger.calls, await _ledger_total(h)) == (calls, Decimal("99.00"))
    assert await conflicts.open_conflicts(_desk(h)) == []
    assert len(await events_of(h, "ConflictDetected")) == 1
    [settled] = [e async for e in h.store.read() if b"ConflictSettled" in e.raw]
    envelope = settled.envelope()
    payload = envelope.payload()
    assert envelope.actor == "cli:ada"
    assert isinstance(payload, ConflictSettled)
    assert (payload.decision, payload.ledger_version) == ("keep_ledger", edited)
    # the source changes: pushed with the ledger's version token, no conflict
    await h.ingest([changed(invoice("i1", "c1"), "2026-03-01", discount="8.00", total="102.00")])
    assert [o.status for o in await h.run()] == ["pushed"]
    assert await _ledger_total(h) == Decimal("102.00")
    assert len(await events_of(h, "ConflictDetected")) == 1


async def test_overwrite_pushes_our_version_over_the_edit_once() -> None:
    h = Harness()
    await _invoice_conflict(h)
    said = await conflicts.settle_conflict(_desk(h), I1, "overwrite")
    assert "pushed over" in said
    assert "pushed" in [o.status for o in await h.run()]
    assert (await _ledger_total(h), h.ledger.count("invoice")) == (Decimal("105.00"), 1)
    assert await conflicts.open_conflicts(_desk(h)) == []
    h.consumed = 0  # delivered again: nothing more is written
    calls = h.ledger.calls
    await h.run()
    assert h.ledger.calls == calls
    requested = await events_of(h, "LedgerPushRequested")
    keys = [e["data"]["idempotency_key"] for e in requested]  # type: ignore[index]
    assert len(keys) == len(set(keys))  # the overwrite never reuses the refused push's key


async def test_overwrite_after_another_edit_opens_a_new_conflict() -> None:
    h = Harness()
    await _invoice_conflict(h)
    await conflicts.settle_conflict(_desk(h), I1, "overwrite")
    again = await _edit_total(h, "97.00")  # edited once more before the worker got to it
    assert "abandoned" in [o.status for o in await h.run()]
    assert await _ledger_total(h) == Decimal("97.00")
    [found] = await conflicts.open_conflicts(_desk(h))
    assert found.actual_version == again
    assert {d.field: d.ledger for d in found.differences}["total"] == "97.00"


async def test_a_decision_on_a_conflict_that_is_not_open_is_refused_and_appends_nothing() -> None:
    h = Harness()
    await _invoice_conflict(h)
    await conflicts.settle_conflict(_desk(h), I1, "keep_ledger")
    before = await h.store.last_seq()
    with pytest.raises(ConfigurationError, match="has no open conflict"):
        await conflicts.settle_conflict(_desk(h), I1, "overwrite")
    with pytest.raises(ConfigurationError, match="has no open conflict"):
        await conflicts.settle_conflict(_desk(h), RecordRef.parse("csv/invoice/nope"), "overwrite")
    assert await h.store.last_seq() == before


async def test_a_source_wins_conflict_is_not_open() -> None:
    h = Harness()  # the source owns customers by default: written over, nobody decides
    c1 = customer("c1", name="Source Name")
    await h.ingest([c1])
    await h.run()
    [rec] = list(h.ledger.records.values())
    h.ledger._replace("by-hand", rec.ledger_id, rec.version, name="Typed In Ledger")
    await h.ingest([changed(c1, "2026-02-01", name="Source Name 2")])
    await h.run()
    assert await conflicts.open_conflicts(_desk(h)) == []
    assert conflicts.conflict_lines([], "memory", 1) == [
        "no open conflicts on memory (1 detected before: all settled)"
    ]


async def _customer_conflict(h: Harness) -> None:
    c1 = customer("c1", name="Source Name")
    await h.ingest([c1])
    await h.run()
    [rec] = list(h.ledger.records.values())
    h.ledger._replace("by-hand", rec.ledger_id, rec.version, name="Typed In Ledger")
    await h.ingest([changed(c1, "2026-02-01", name="Source Name 2")])
    assert [o.status for o in await h.run()] == ["abandoned"]


async def test_a_name_is_named_without_its_values_unless_asked_and_sealed_in_the_log() -> None:
    h = Harness(authority={"customer": "ledger"})
    await _customer_conflict(h)
    [hidden] = await conflicts.open_conflicts(_desk(h))
    [name] = [d for d in hidden.differences if d.field == "name"]
    assert name.personal and name.ledger == conflicts.HIDDEN
    text = "\n".join(conflicts.conflict_lines([hidden], "memory", 1))
    assert "Typed In Ledger" not in text and "Source Name 2" not in text
    raw = b"".join([e.raw async for e in h.store.read() if b"ConflictDetected" in e.raw])
    assert b"Typed In Ledger" not in raw and b"Source Name 2" not in raw
    [shown] = await conflicts.open_conflicts(_desk(h), personal=True)
    [name] = [d for d in shown.differences if d.field == "name"]
    assert (name.ledger, name.ours) == ("Typed In Ledger", "Source Name 2")
    h.keys.shred(subject_key_id(ENTITY, str(C1)))  # retention erased the customer
    [erased] = await conflicts.open_conflicts(_desk(h), personal=True)
    assert [d.ledger for d in erased.differences if d.field == "name"] == [conflicts.ERASED]


async def test_overwrite_of_a_customer_conflict_writes_our_name() -> None:
    h = Harness(authority={"customer": "ledger"})
    await _customer_conflict(h)
    await conflicts.settle_conflict(_desk(h), C1, "overwrite")
    assert "pushed" in [o.status for o in await h.run()]
    [rec] = list(h.ledger.records.values())
    assert rec.name == "Source Name 2"


async def test_keep_ledger_clears_the_error_queue_row_of_the_refused_push(tmp_path: Path) -> None:
    h = Harness()
    await _invoice_conflict(h)
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    create_all(engine)
    await ProjectionRunner(engine, h.store).catch_up()
    models = ReadModels(engine)
    assert [(e.source_ref, e.code) for e in models.open_errors(ENTITY)] == [(str(I1), "conflict")]
    await conflicts.settle_conflict(_desk(h), I1, "keep_ledger")
    await ProjectionRunner(engine, h.store).catch_up()
    assert models.open_errors(ENTITY) == []
    statuses = {(c.kind, c.status) for c in models.status_counts(ENTITY) if c.kind == "invoice"}
    assert statuses == {("invoice", "synced")}


async def test_a_conflict_back_sync_flagged_can_be_overwritten_with_what_we_pushed() -> None:
    from syncledger.core.backsync import BackSync
    from syncledger.core.sync_state import SyncState

    h = Harness()
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    await h.run()
    await _edit_total(h, "99.00")
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    sync = BackSync(h.store, h.ledger, state, entity=ENTITY, actor="backsync")
    from datetime import UTC, datetime

    assert (await sync.poll(datetime(2000, 1, 1, tzinfo=UTC))).conflicts == 1
    [found] = await conflicts.open_conflicts(_desk(h))
    assert [(d.field, d.ledger, d.ours) for d in found.differences] == [
        ("total", "99.00", "110.00")
    ]
    await conflicts.settle_conflict(_desk(h), I1, "overwrite")
    assert "pushed" in [o.status for o in await h.run()]
    assert (await _ledger_total(h), h.ledger.count("invoice")) == (Decimal("110.00"), 1)
    assert await conflicts.open_conflicts(_desk(h)) == []


def test_the_settled_event_round_trips() -> None:
    event = ConflictSettled(
        ref=str(I1), ledger="memory", decision="overwrite", ledger_version="3", request_id="r"
    )
    assert ConflictSettled.model_validate(json.loads(event.model_dump_json())) == event
