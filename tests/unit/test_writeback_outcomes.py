"""core/writeback.py settles each status by what the source said of it (a fake writer):
written ones are marked, a refused one is logged once with its reason and not handed to
the source again until a newer observation, not-attempted ones are retried; the read
models (real SQLite) and the trace show a refusal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.core.errors import SourceError
from syncledger.core.events import LedgerRecordObserved, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import StatusUpdate, WriteBackOutcome
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import ledger_subject
from syncledger.core.trace import trace
from syncledger.core.writeback import BATCH, pending_writes, write_back_run
from syncledger.projections import ProjectionRunner, make_engine
from syncledger.projections.queries import open_errors

ENTITY = "acme"
LEDGER = "xero"


@dataclass
class Scripted:
    """A source answering each reference as told: ``written``, ``refused``,
    ``not_attempted``, or ``silent`` (no outcome at all); ``down`` raises."""

    answers: dict[str, str] = field(default_factory=dict)
    handed: list[list[str]] = field(default_factory=list)
    down_on_call: int | None = None

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        self.handed.append([u.source_ref for u in updates])
        if self.down_on_call == len(self.handed):
            raise SourceError("the CRM is down")
        return [o for u in updates if (o := self._answer(u)) is not None]

    def _answer(self, u: StatusUpdate) -> WriteBackOutcome | None:
        answer = self.answers.get(u.source_ref, "written")
        if answer == "refused":
            return WriteBackOutcome.refused(
                u.source_ref, code="source_record_gone", message=f"{u.source_ref} is gone\nthere"
            )
        if answer == "not_attempted":
            return WriteBackOutcome.not_attempted(u.source_ref, "timed out")
        return None if answer == "silent" else WriteBackOutcome.written(u.source_ref)


def ref(n: int) -> str:
    return f"crm/invoice/{n}"


async def observe(store: MemoryEventStore, refs: Sequence[str], status: str = "paid") -> None:
    envelopes = []
    for r in refs:
        payload = LedgerRecordObserved(
            ledger=LEDGER, ledger_ref=f"L-{r}", kind="invoice", source_ref=r, status=status,
            total=Decimal("100.00"), balance=Decimal("0.00"), currency="EUR", number="INV-1",
        )  # fmt: skip
        subject = ledger_subject(ENTITY, LEDGER, RecordRef.parse(r))
        envelopes.append(make_envelope(payload, entity=ENTITY, subject=subject, actor="test"))
    await store.append(envelopes)


async def run(store: MemoryEventStore, writer: Scripted) -> tuple[list[str], list[str], list[str]]:
    done = await write_back_run(store, writer, entity=ENTITY, ledger=LEDGER, actor="test")
    return (
        [u.source_ref for u in done.written],
        [r.update.source_ref for r in done.refused],
        [u.source_ref for u in done.waiting],
    )


async def settlements(store: MemoryEventStore) -> list[tuple[str, str]]:
    found = []
    async for stored in store.read(f"sl.{ENTITY}.ledger.>"):
        event = json.loads(stored.raw)
        if event["type"] != "LedgerRecordObserved":
            found.append((event["type"], event["data"]["source_ref"]))
    return found


async def pending(store: MemoryEventStore) -> set[str]:
    return {p.observed.source_ref or "" for p in await pending_writes(store, ENTITY, LEDGER)}


async def test_only_written_ones_are_marked_a_refused_one_is_logged_once() -> None:
    store = MemoryEventStore()
    await observe(store, [ref(i) for i in range(5)])
    writer = Scripted({ref(1): "refused", ref(2): "not_attempted", ref(3): "silent"})

    first = await run(store, writer)
    assert first == ([ref(0), ref(4)], [ref(1)], [ref(2), ref(3)])
    assert await settlements(store) == [
        ("SourceStatusWritten", ref(0)),
        ("SourceStatusRefused", ref(1)),
        ("SourceStatusWritten", ref(4)),
    ]
    assert await pending(store) == {ref(2), ref(3)}

    writer.answers = {}  # the source is well again
    second = await run(store, writer)
    assert writer.handed[-1] == [ref(2), ref(3)]  # only what was not attempted
    assert second == ([ref(2), ref(3)], [], [])
    third = await run(store, writer)
    assert third == ([], [], []) and len(writer.handed) == 2  # nothing handed any more
    refusals = [s for s in await settlements(store) if s[0] == "SourceStatusRefused"]
    assert refusals == [("SourceStatusRefused", ref(1))]  # logged once


async def test_a_refused_status_is_written_again_only_with_a_newer_observation() -> None:
    store = MemoryEventStore()
    await observe(store, [ref(1)], status="partially_paid")
    writer = Scripted({ref(1): "refused"})
    assert await run(store, writer) == ([], [ref(1)], [])
    writer.answers = {}  # e.g. the deal restored in the source
    assert await run(store, writer) == ([], [], [])  # not retried by itself
    await observe(store, [ref(1)], status="paid")  # the invoice changes in the ledger
    assert await run(store, writer) == ([ref(1)], [], [])
    assert writer.handed == [[ref(1)], [ref(1)]]


async def test_a_writer_that_raises_leaves_its_batch_pending_and_keeps_the_ones_before() -> None:
    store = MemoryEventStore()
    refs = [ref(i) for i in range(BATCH + 20)]
    await observe(store, refs)
    writer = Scripted(down_on_call=2)
    with pytest.raises(SourceError):
        await run(store, writer)
    assert await pending(store) == set(refs[BATCH:])  # the first batch stays settled
    assert await run(store, Scripted()) == (refs[BATCH:], [], [])


async def test_the_refusal_is_an_open_error_until_a_status_is_written(tmp_path: Path) -> None:
    store = MemoryEventStore()
    await observe(store, [ref(1), ref(2)])
    await run(store, Scripted({ref(1): "refused"}))
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    try:
        runner = ProjectionRunner(engine, store, batch_size=3)
        await runner.catch_up()
        with engine.connect() as conn:
            [error] = open_errors(conn, ENTITY)
        assert (error.source_ref, error.ledger, error.kind) == (ref(1), LEDGER, "invoice")
        assert (error.error, error.code) == ("write_back_refused", "source_record_gone")
        assert error.message == f"{ref(1)} is gone there"  # one line
        await observe(store, [ref(1)], status="void")  # newer; the source takes it now
        await run(store, Scripted())
        await runner.catch_up()
        with engine.connect() as conn:
            assert open_errors(conn, ENTITY) == []
    finally:
        engine.dispose()
    said = [line.summary for line in await trace(store, ENTITY, RecordRef.parse(ref(1)))]
    assert any(
        "payment status paid NOT written back" in s and "source_record_gone" in s for s in said
    )
    assert any("payment status void" in s and "written back to the source" in s for s in said)
