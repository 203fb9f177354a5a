"""`syncledger retry` says what it will do (and does nothing when nothing changed since
the rejection); `syncledger repush` creates a record deleted in the ledger again, never
a duplicate of one the ledger still holds (in-memory log and ledger; the real worker)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from syncledger.core import retry
from syncledger.core.cli import app
from syncledger.core.errors import ConfigurationError
from syncledger.core.model import RecordRef
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness

INVOICE = RecordRef.parse("csv/invoice/i1")


def _desk(h: Harness) -> retry.Desk:
    return retry.Desk(h.store, h.ledger, ENTITY, "operator")


async def _types(h: Harness, ref: str) -> list[str]:
    """The types of the events about ``ref`` (source and ledger subjects), in order."""
    kind, rid = ref.split("/")[1:]
    ours = (f".source.csv.{kind}.{rid}", f".{kind}.csv-{rid}")
    return [json.loads(s.raw)["type"] async for s in h.store.read() if s.subject.endswith(ours)]


async def test_a_rejection_nothing_has_changed_is_not_retried() -> None:
    h = Harness()
    await h.ingest([customer("c1", email="not an address")])
    await h.run()
    before = await h.store.last_seq()
    answer = await retry.request_retry(_desk(h), RecordRef.parse("csv/customer/c1"), "")
    assert not answer.queued
    assert answer.text.startswith("nothing changed since the rejection")
    assert "invalid_email" in answer.text
    assert await h.store.last_seq() == before  # nothing appended


async def test_a_rejection_that_depends_on_another_record_is_queued() -> None:
    h = Harness()
    await h.ingest([customer("c1", email="not an address"), invoice("i1", "c1")])
    await h.run()
    answer = await retry.request_retry(_desk(h), INVOICE, "customer fixed by hand")
    assert answer.queued
    assert "customer_not_synced" in answer.text and "queued a retry" in answer.text
    assert (await _types(h, str(INVOICE)))[-1] == "RetryRequested"


async def test_a_record_in_the_ledger_is_not_retried_and_a_review_is_pointed_to() -> None:
    h = Harness()
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    await h.run()
    answer = await retry.request_retry(_desk(h), INVOICE, "")
    assert not answer.queued and "nothing to retry" in answer.text
    assert "syncledger repush csv/invoice/i1" in answer.text


async def _synced_then_deleted(h: Harness) -> str:
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    await h.run()
    found = await h.ledger.find("invoice", str(INVOICE))
    assert found is not None
    return found.ledger_id


async def test_a_record_deleted_in_the_ledger_is_pushed_again_on_purpose() -> None:
    h = Harness()
    gone = await _synced_then_deleted(h)
    with pytest.raises(ConfigurationError, match="still in memory as"):
        await retry.request_repush(_desk(h), INVOICE, "")  # the ledger still holds it
    del h.ledger.records[gone]  # someone deletes it in the ledger
    answer = await retry.request_repush(_desk(h), INVOICE, "deleted by mistake")
    assert answer.queued
    await h.run()
    again = await h.ledger.find("invoice", str(INVOICE))
    assert again is not None and h.ledger.count("invoice") == 1
    assert (await _types(h, str(INVOICE)))[-3:] == [
        "RepushRequested",
        "LedgerPushRequested",
        "LedgerPushSucceeded",
    ]
    await h.run()  # delivered again: nothing more
    assert h.ledger.count("invoice") == 1


async def test_a_repush_finding_the_record_back_in_the_ledger_links_it() -> None:
    h = Harness()
    gone = await _synced_then_deleted(h)
    record = h.ledger.records.pop(gone)
    await retry.request_repush(_desk(h), INVOICE, "")
    h.ledger.records[gone] = record  # restored in the ledger before the worker ran
    outcomes = [o.status for o in await h.run() if o.status != "ignored"]
    assert outcomes == ["linked"]
    assert h.ledger.count("invoice") == 1
    assert (await _types(h, str(INVOICE)))[-1] == "RecordLinked"


def test_the_cli_offers_repush_and_retry_force() -> None:
    runner = CliRunner()
    for args in (["repush", "--help"], ["retry", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
    assert "--force" in runner.invoke(app, ["retry", "--help"]).output
    assert runner.invoke(app, ["repush", "not-a-ref"]).exit_code == 2
