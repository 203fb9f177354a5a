"""Multi-write records on fakes: each write of a credit note applied to an invoice (and of
a refund) is its own logged step; a crash or a run of server errors between the writes
resumes at the missing step and never settles the record without it; the reconciler
flags a document the ledger holds half done; two writers never both push one intent."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from syncledger.core.errors import TransientLedgerError
from syncledger.core.events import Envelope, RetryRequested, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import Expected, compare
from syncledger.core.subjects import source_subject
from tests.support.records import credit_note, customer, invoice, payment, refund
from tests.unit.test_sync import ENTITY, Harness

BOOK = [customer("c1"), invoice("i1", "c1")]  # i1: 110.00


class Killed(Exception):
    """The worker process died here: nothing after this point ran."""


async def _events(h: Harness, type_: str) -> list[dict[str, Any]]:
    out = []
    async for stored in h.store.read():
        event = json.loads(stored.raw)
        if event["type"] == type_:
            out.append(event["data"])
    return out


async def _ledger(h: Harness, kind: str, ref: str) -> LedgerRecord:
    found = await h.ledger.find(kind, ref)
    assert found is not None
    return found


async def _pushed_book(h: Harness) -> None:
    await h.ingest(BOOK)
    await h.run()


async def test_a_credit_note_is_two_logged_steps_and_its_application_is_recorded() -> None:
    h = Harness()
    await _pushed_book(h)
    await h.ingest([credit_note("n1", "i1", "c1")])
    await h.run()
    steps = [(e["step"], e["source_ref"]) for e in await _events(h, "LedgerStepSucceeded")]
    assert steps == [("credit_note", "csv/credit_note/n1"), ("apply", "csv/credit_note/n1")]
    [done] = [e for e in await _events(h, "LedgerPushSucceeded") if "n1" in e["source_ref"]]
    assert (done["applies_to"], done["applied_amount"]) == ("csv/invoice/i1", "40.00")
    invoice_ = await _ledger(h, "invoice", "csv/invoice/i1")
    assert invoice_.balance == Decimal("70.00")


async def test_server_errors_on_the_second_write_retry_that_write_and_never_settle_early() -> None:
    h = Harness(max_attempts=8)
    await _pushed_book(h)
    h.ledger.skip_writes = 1  # the credit note itself goes through
    h.ledger.fail_next = [TransientLedgerError("503", retry_after=0) for _ in range(3)]
    await h.ingest([credit_note("n1", "i1", "c1")])
    service = await h.service()
    raw = [s async for s in h.store.read(f"sl.{ENTITY}.source.>")]
    first = await service.handle(raw[-1].seq, raw[-1].subject, raw[-1].raw)
    assert first.status == "retry"
    assert [e["source_ref"] for e in await _events(h, "LedgerPushSucceeded")] == [
        "csv/customer/c1",
        "csv/invoice/i1",
    ], "not settled while its application is missing"
    [failed] = await _events(h, "LedgerPushFailed")
    assert failed["step"] == "apply"
    for _ in range(5):
        outcome = await service.handle(raw[-1].seq, raw[-1].subject, raw[-1].raw)
        if outcome.status != "retry":
            break
    assert outcome.status in ("pushed", "recovered")
    assert h.ledger.count("credit_note") == 1
    assert (await _ledger(h, "invoice", "csv/invoice/i1")).balance == Decimal("70.00")


@pytest.mark.parametrize("where", ["before_apply", "after_apply_committed"])
async def test_a_worker_killed_between_the_writes_resumes_at_the_missing_step(where: str) -> None:
    h = Harness()
    await _pushed_book(h)
    h.ledger.skip_writes = 1  # the credit note itself lands
    if where == "before_apply":
        h.ledger.fail_next = [Killed()]
    else:  # the application lands too, and the process dies before logging its outcome
        h.ledger.commit_then_fail = [Killed()]
    await h.ingest([credit_note("n1", "i1", "c1")])
    raw = [s async for s in h.store.read(f"sl.{ENTITY}.source.>")][-1]
    with pytest.raises(Killed):
        await (await h.service()).handle(raw.seq, raw.subject, raw.raw)
    assert await _events(h, "LedgerStepRequested")  # the log knows a step began
    restarted = await h.service()  # state folded from the log alone
    outcome = await restarted.handle(raw.seq, raw.subject, raw.raw)
    assert outcome.status in ("pushed", "recovered")
    assert h.ledger.count("credit_note") == 1
    note = await _ledger(h, "credit_note", "csv/credit_note/n1")
    invoice_ = await _ledger(h, "invoice", "csv/invoice/i1")
    assert invoice_.balance == Decimal("70.00")
    assert note.applied_to == ((invoice_.ledger_id, Decimal("40.00")),)
    recovered = [e for e in await _events(h, "LedgerStepSucceeded") if e["recovered"]]
    assert [e["step"] for e in recovered] == (["apply"] if where != "before_apply" else [])


async def test_a_refund_interrupted_before_its_link_is_finished_once() -> None:
    h = Harness()
    await h.ingest([*BOOK, payment("p1", "i1", "c1", "150.00")])
    await h.run()
    h.ledger.skip_writes = 1  # the refund itself lands, then the process dies
    h.ledger.fail_next = [Killed()]
    await h.ingest([refund("r1", "c1", "40.00", payment_id="p1")])
    raw = [s async for s in h.store.read(f"sl.{ENTITY}.source.>")][-1]
    with pytest.raises(Killed):
        await (await h.service()).handle(raw.seq, raw.subject, raw.raw)
    outcome = await (await h.service()).handle(raw.seq, raw.subject, raw.raw)
    assert outcome.status in ("pushed", "recovered")
    assert h.ledger.count("refund") == 1
    assert (await _ledger(h, "payment", "csv/payment/p1")).balance == 0


def test_the_reconciler_flags_a_credit_note_the_ledger_holds_unapplied() -> None:
    expected = [
        Expected(
            "csv/credit_note/n1", "credit_note", "7", Decimal("40.00"), "USD", "3", Decimal("40.00")
        ),
        Expected("csv/payment/p1", "payment", "8", Decimal("10.00"), "USD", "3", Decimal("10.00")),
    ]
    held = [
        LedgerRecord(
            "credit_note", "7", "1", "csv/credit_note/n1", total=Decimal("40.00"), currency="USD"
        ),
        LedgerRecord(
            "payment",
            "8",
            "1",
            "csv/payment/p1",
            total=Decimal("10.00"),
            currency="USD",
            applied_to=(("3", Decimal("10.00")),),
        ),
    ]
    found = compare(expected, held)
    assert [(m.mismatch_type, m.source_ref) for m in found] == [
        ("application_mismatch", "csv/credit_note/n1")
    ]
    assert found[0].actual == "0.00 applied to 3"


async def test_an_intent_another_writer_logged_first_is_not_written_twice() -> None:
    h = Harness()
    await _pushed_book(h)
    await h.ingest([payment("p1", "i1", "c1", "110.00")])
    raw = [s async for s in h.store.read(f"sl.{ENTITY}.source.>")][-1]
    slow, fast = await h.service(), await h.service()  # both folded the same log
    assert (await fast.handle(raw.seq, raw.subject, raw.raw)).status == "pushed"
    again = await slow.handle(raw.seq, raw.subject, raw.raw)  # its view is stale
    assert again.status in ("retry", "skipped")
    assert h.ledger.count("payment") == 1
    later = await h.service()
    assert (await later.handle(raw.seq, raw.subject, raw.raw)).status == "skipped"
    assert h.ledger.count("payment") == 1


async def test_an_event_the_worker_cannot_read_is_skipped_and_never_bricks_it() -> None:
    h = Harness()
    await h.ingest(BOOK)
    good = make_envelope(
        RetryRequested(ref="csv/invoice/i1", ledger="memory", reason="x"),
        entity=ENTITY,
        subject=source_subject(ENTITY, RecordRef.parse("csv/invoice/i9")),
        actor="an older version",
    )
    broken = Envelope.model_validate(
        {**good.model_dump(mode="json"), "type": "SourceRecordObserved", "data": {"ref": 7}}
    )
    await h.store.append([broken])
    outcomes = await h.run()  # a fresh worker folds the log, bad event included
    assert [o.status for o in outcomes].count("ignored") == 1
    assert h.ledger.count("invoice") == 1  # the good records still went


def test_the_reconciler_flags_a_tax_the_ledger_holds_differently() -> None:
    expected = [
        Expected("csv/invoice/i1", "invoice", "5", Decimal("110.00"), "USD", tax=Decimal("10.00"))
    ]
    held = [
        LedgerRecord(
            "invoice",
            "5",
            "1",
            "csv/invoice/i1",
            total=Decimal("110.00"),
            tax=Decimal("8.25"),
            currency="USD",
        )
    ]
    [found] = compare(expected, held)
    assert (found.mismatch_type, found.expected, found.actual) == ("tax_mismatch", "10.00", "8.25")
    held_same = [
        LedgerRecord(
            "invoice", "5", "1", "x", total=Decimal("110.00"), tax=Decimal("10.00"), currency="USD"
        )
    ]
    assert compare(expected, held_same) == []


async def test_a_push_abandoned_on_an_outage_says_so_and_a_refusal_does_not() -> None:
    from syncledger.core.errors import PermanentLedgerError

    h = Harness(max_attempts=2)
    await _pushed_book(h)
    h.ledger.fail_next = [TransientLedgerError("503", retry_after=0) for _ in range(2)]
    await h.ingest([payment("p1", "i1", "c1", "10.00")])
    await h.run()
    h.ledger.fail_next = [PermanentLedgerError("refused", code="x")]
    await h.ingest([payment("p2", "i1", "c1", "10.00")])
    await h.run()
    abandoned = {e["source_ref"]: e["transient"] for e in await _events(h, "LedgerPushAbandoned")}
    assert abandoned == {"csv/payment/p1": True, "csv/payment/p2": False}
