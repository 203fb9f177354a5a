"""One decoder from stored bytes to typed events, upcast on the way in (core/decode.py),
and the trace that reads through it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import syncledger.core.events as events
from syncledger.core.decode import decode, decode_payload, decode_wanted, read_json
from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import Category, EventData, LedgerPushSucceeded, event_type, upcaster
from syncledger.core.model import RecordRef
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import source_subject
from syncledger.core.trace import describe, trace

FIXTURE = Path(__file__).parent.parent / "fixtures" / "events" / "note_recorded_v1.json"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test-only event types and upcasters registered for one test, through the public
    decorators, into copies of the registries (restored after the test)."""
    monkeypatch.setattr(events, "_REGISTRY", dict(events.registered_types()))
    monkeypatch.setattr(events, "_UPCASTERS", dict(events._UPCASTERS))


def _note_v2() -> type[EventData]:
    """Version 2 of the fixture's ``NoteRecorded``: ``text`` became ``body``, and the
    note says who wrote it (v1 notes were all written by the sync)."""

    @event_type
    class NoteRecorded(EventData):
        category: ClassVar[Category] = "audit"
        schema_version: ClassVar[int] = 2
        ref: str
        body: str
        author: str

    return NoteRecorded


def _rename_text(data: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in data.items() if k != "text"}
    return {**rest, "body": data["text"], "author": "syncledger"}


@pytest.mark.usefixtures("registry")
def test_a_stored_v1_event_reads_as_the_current_typed_event() -> None:
    note_v2 = _note_v2()
    upcaster("NoteRecorded", 1)(_rename_text)
    decoded = decode(FIXTURE.read_bytes())
    assert isinstance(decoded.event, note_v2)
    assert decoded.event.model_dump() == {
        "ref": "csv/invoice/i1",
        "body": "called the customer",
        "author": "syncledger",
    }
    assert decoded.envelope.schema_version == 1  # the stored form is never rewritten
    assert decoded.envelope.id == "01957c3a-5f2e-7c41-9a3b-2d4e6f708192"


@pytest.mark.usefixtures("registry")
def test_a_v1_event_without_an_upcaster_to_the_current_version_does_not_decode() -> None:
    _note_v2()
    with pytest.raises(UndecodableEvent, match="no upcaster for NoteRecorded v1 -> v2"):
        decode(FIXTURE.read_bytes())


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"not json", "not JSON"),
        (b'{"type": "SourceRecordObserved"}', "Envelope does not validate: 10 field"),
        (FIXTURE.read_bytes(), "unknown event type 'NoteRecorded'"),
    ],
)
def test_bytes_that_are_not_a_typed_event_do_not_decode(raw: bytes, why: str) -> None:
    with pytest.raises(UndecodableEvent, match=why):
        decode(raw)


def test_a_typed_event_decodes_as_its_class() -> None:
    succeeded = LedgerPushSucceeded(
        source_ref="csv/invoice/i1",
        ledger="memory",
        ledger_ref="7",
        idempotency_key="k",
        content_sha256="s",
        mapping_version="m",
    )
    stored = events.make_envelope(succeeded, entity="acme", subject="sl.x", actor="t")
    decoded = decode(stored.to_bytes())
    assert decoded.event == succeeded
    assert decoded.envelope == stored


async def test_the_trace_shows_an_event_that_does_not_decode_instead_of_dropping_it() -> None:
    store = MemoryEventStore()
    ref = RecordRef.parse("csv/invoice/i1")
    fixture = events.Envelope.from_bytes(FIXTURE.read_bytes())  # NoteRecorded: unregistered
    await store.append([fixture.model_copy(update={"subject": source_subject("acme", ref)})])
    [line] = await trace(store, "acme", ref)
    assert line.event is None
    assert line.summary == "cannot be read: unknown event type 'NoteRecorded'"


@pytest.mark.usefixtures("registry")
async def test_the_trace_words_an_upcast_event_from_its_current_version() -> None:
    note_v2 = _note_v2()
    upcaster("NoteRecorded", 1)(_rename_text)
    store = MemoryEventStore()
    ref = RecordRef.parse("csv/invoice/i1")
    fixture = events.Envelope.from_bytes(FIXTURE.read_bytes())
    await store.append([fixture.model_copy(update={"subject": source_subject("acme", ref)})])
    [line] = await trace(store, "acme", ref)
    assert isinstance(line.event, note_v2)
    assert line.summary == describe(line.event) == "NoteRecorded"


def _retry_requested_v1(ref: str, ledger: str, entity: str, subject: str) -> events.Envelope:
    """A retry request as version 1 stored it (test-only history: ``source_ref``)."""

    class RetryRequested(EventData):
        category: ClassVar[Category] = "source"
        source_ref: str
        ledger: str

    v1 = RetryRequested(source_ref=ref, ledger=ledger)
    return events.make_envelope(v1, entity=entity, subject=subject, actor="syncledger 0.9")


@pytest.mark.usefixtures("registry")
async def test_the_worker_acts_on_a_stored_v1_event_upcast_to_its_current_type() -> None:
    from syncledger.core.errors import PermanentLedgerError
    from tests.support.records import customer
    from tests.unit.test_sync import ENTITY, Harness

    h = Harness()
    h.ledger.fail_next = [PermanentLedgerError("Business Validation Error", code="6000")]
    await h.ingest([customer("c1")])
    assert [o.status for o in await h.run()] == ["abandoned"]

    @event_type
    class RetryRequested(events.RetryRequested):
        schema_version: ClassVar[int] = 2

    upcaster("RetryRequested", 1)(
        lambda d: {"ref": d["source_ref"], "ledger": d["ledger"], "reason": "asked at v1"}
    )
    ref = RecordRef.parse("csv/customer/c1")
    subject = source_subject(ENTITY, ref)
    stored = _retry_requested_v1(str(ref), h.ledger.ledger, ENTITY, subject)
    assert (stored.type, stored.schema_version) == ("RetryRequested", 1)
    await h.store.append([stored])
    assert [o.status for o in await h.run()] == ["pushed"]
    assert h.ledger.count("customer") == 1


# ---------------------------------------------------------------- the other readers

LINKED_V1 = FIXTURE.parent / "record_linked_v1.json"


def _record_linked_v2() -> type[EventData]:
    """A test-only history of ``RecordLinked``: version 1 (the fixture) named the ledger's
    record ``ledger_id`` and the match ``matched_on``; version 2 is today's fields."""

    @event_type
    class RecordLinked(events.RecordLinked):
        schema_version: ClassVar[int] = 2

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in data.items() if k not in ("ledger_id", "matched_on")}
        return {**rest, "ledger_ref": data["ledger_id"], "matched_by": data["matched_on"]}

    upcaster("RecordLinked", 1)(v1_to_v2)
    return RecordLinked


async def _log_with_linked_v1() -> MemoryEventStore:
    """INV-1 observed (today's version), then linked by a stored v1 ``RecordLinked``."""
    from tests.unit.test_projections_contract import observed

    store = MemoryEventStore()
    stored = events.Envelope.from_bytes(LINKED_V1.read_bytes().strip())
    assert (stored.type, stored.schema_version) == ("RecordLinked", 1)
    await store.append([observed("csv/invoice/INV-1", total="10"), stored])
    return store


@pytest.mark.usefixtures("registry")
async def test_the_projections_fold_a_stored_v1_event_upcast(tmp_path: Path) -> None:
    from syncledger.projections import ProjectionRunner, ReadModels, make_engine

    _record_linked_v2()
    store = await _log_with_linked_v1()
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    try:
        assert await ProjectionRunner(engine, store).catch_up() == 2
        models = ReadModels(engine)
        link = models.link("acme", "csv/invoice/INV-1", "qbo")
        assert link is not None and (link.ledger_ref, link.how) == ("145", "matched:tax_id")
        assert models.record("acme", "csv/invoice/INV-1").status == "synced"  # type: ignore[union-attr]
        assert models.unfoldable("acme") == []
    finally:
        engine.dispose()


@pytest.mark.usefixtures("registry")
async def test_the_audit_index_and_trace_read_a_stored_v1_event_upcast() -> None:
    from syncledger.audit.index import LogIndex
    from syncledger.audit.trace import TraceBuilder, resolve_ref
    from syncledger.core.keystore import MemoryKeyStore

    record_linked_v2 = _record_linked_v2()
    index = await LogIndex.build(await _log_with_linked_v1())
    linked = index.events[1]
    assert isinstance(linked.event, record_linked_v2)
    assert linked.ref == "csv/invoice/INV-1"
    assert index.ledger_to_source == {("acme", "qbo", "145"): "csv/invoice/INV-1"}
    assert resolve_ref(index, "qbo/145") == ("acme", "csv/invoice/INV-1")
    trace = TraceBuilder(index, MemoryKeyStore()).build("acme", "csv/invoice/INV-1", index.events)
    assert (trace.ledger_refs, trace.validation) == (["qbo/145"], "valid")
    assert trace.steps[1].summary == "linked to existing 145 on qbo (matched by tax_id)"


# ---------------------------------------------------------------- decode_payload


def test_a_missing_field_is_named_without_the_values() -> None:
    succeeded = LedgerPushSucceeded(
        source_ref="csv/invoice/i1", ledger="memory", ledger_ref="7", idempotency_key="k",
        content_sha256="secret-ish", mapping_version="m",
    )  # fmt: skip
    stored = read_json(
        events.make_envelope(succeeded, entity="e", subject="s", actor="t").to_bytes()
    )
    del stored["data"]["ledger_ref"]
    with pytest.raises(UndecodableEvent, match=r"^its data lacks the field 'ledger_ref'$"):
        decode_payload(stored)
    stored["data"]["attempt"] = "secret-ish"
    with pytest.raises(UndecodableEvent) as raised:
        decode_payload(stored)
    assert str(raised.value) == (
        "LedgerPushSucceeded does not validate: 2 field(s), first 'ledger_ref'"
    )


def test_only_the_wanted_classes_are_decoded() -> None:
    unknown = {"type": "SomethingInvented", "schema_version": 1, "data": {}}
    assert decode_wanted(unknown, (LedgerPushSucceeded,)) is None  # not even looked at
    with pytest.raises(UndecodableEvent, match="unknown event type 'SomethingInvented'"):
        decode_payload(unknown)
    broken = {"type": "LedgerPushSucceeded", "schema_version": 1, "data": {}}
    assert decode_wanted(broken, (events.RecordLinked,)) is None
    with pytest.raises(UndecodableEvent, match=r"6 field\(s\), first 'source_ref'$"):
        decode_wanted(broken, (events.EventData,))  # a subclass of a wanted class


def test_amounts_are_read_as_decimal_never_float() -> None:
    assert read_json(b'{"total": 12.30}') == {"total": Decimal("12.30")}
    with pytest.raises(UndecodableEvent, match="not JSON"):
        read_json(b"\xff")
