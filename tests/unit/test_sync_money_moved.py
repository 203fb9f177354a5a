"""An invoice whose ledger version moved while its total stayed is sent over as "moved by
our own payments" only when every other field a conflict compares is still what we last
pushed (core/sync_updates.py ``_only_money_moved``): a bookkeeper's edit of the number, due
date, tax or customer with the total unchanged is a conflict, decided by authority. The
log is the in-memory store with real sync runs, the ledger the in-memory one; a person's
edit in the ledger is a write with its own key (or the record replaced, for the customer)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncledger.core import conflicts
from syncledger.core.decode import decode
from syncledger.core.events import Envelope, LedgerPushSucceeded, data_digest
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerRecord
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.sync_state import SyncState
from tests.support.records import changed, customer, invoice
from tests.unit.test_sync import ENTITY, Harness
from tests.unit.test_sync_operations import events_of

I1 = "csv/invoice/i1"
NEW_FIELDS = ("number", "currency", "due_date", "customer_ledger_ref")
STORED = Path(__file__).parent.parent / "fixtures" / "events" / "ledger_push_succeeded_v1.json"


async def _invoice(h: Harness) -> LedgerRecord:
    [rec] = [r for r in h.ledger.records.values() if r.kind == "invoice"]
    return rec


async def _pushed(h: Harness) -> LedgerRecord:
    """c1 and i1 (INV-i1, 110.00 with 10.00 tax, due 2026-02-01) pushed; i1 as the ledger
    holds it."""
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    assert [o.status for o in await h.run()] == ["pushed", "pushed"]
    return await _invoice(h)


async def _rename(h: Harness) -> None:
    """A bookkeeper renames INV-i1 to INV-0042 in the ledger (the total unchanged)."""
    inv = await _invoice(h)
    h.ledger._replace("by-hand", inv.ledger_id, inv.version, name="INV-0042")


async def _due_date_at_source(h: Harness, due: str = "2026-03-15") -> list[str]:
    """The source changes i1's due date only; the statuses of the run that follows."""
    await h.ingest([changed(invoice("i1", "c1"), "2026-02-01", due_date=due)])
    return [o.status for o in await h.run()]


async def _conflicts(h: Harness) -> list[dict[str, Any]]:
    return [e["data"] for e in await events_of(h, "ConflictDetected")]  # type: ignore[misc]


def _desk(h: Harness) -> conflicts.ConflictDesk:
    return conflicts.ConflictDesk(h.store, h.keys, ENTITY, h.ledger.ledger, "cli:ada")


async def test_a_renamed_invoice_owned_by_the_ledger_waits_for_a_person() -> None:
    h = Harness()  # the ledger owns invoices (the default)
    await _pushed(h)
    await _rename(h)
    assert await _due_date_at_source(h) == ["abandoned"]
    after = await _invoice(h)
    assert (after.name, after.due_date) == ("INV-0042", date(2026, 2, 1))
    [conflict] = await _conflicts(h)
    assert conflict["resolution"] == "needs_review"
    shown = {d["field"]: (d["ledger"], d["ours"]) for d in conflict["differences"]}
    assert shown["number"] == ("INV-0042", "INV-i1")
    [found] = await conflicts.open_conflicts(_desk(h))
    assert found.ref == I1


async def test_a_renamed_invoice_owned_by_the_source_is_written_over_and_logged() -> None:
    h = Harness(authority={"invoice": "source"})
    await _pushed(h)
    await _rename(h)
    assert await _due_date_at_source(h) == ["pushed"]
    after = await _invoice(h)
    assert (after.name, after.due_date) == ("INV-i1", date(2026, 3, 15))
    [conflict] = await _conflicts(h)
    assert conflict["resolution"] == "source_wins"
    assert "number" in {d["field"] for d in conflict["differences"]}


async def _edit_due_date(h: Harness, inv: LedgerRecord) -> None:
    h.ledger._replace("by-hand", inv.ledger_id, inv.version, due_date=date(2026, 2, 20))


async def _edit_tax(h: Harness, inv: LedgerRecord) -> None:
    h.ledger._replace("by-hand", inv.ledger_id, inv.version, tax=Decimal("5.00"))


async def _edit_customer(h: Harness, inv: LedgerRecord) -> None:
    """Booked to another of the ledger's customers (a new version)."""
    moved = str(int(inv.version or 0) + 1)
    h.ledger.records[inv.ledger_id] = replace(inv, version=moved, customer_ledger_id="c-other")


@pytest.mark.parametrize(
    ("edit", "field"),
    [(_edit_due_date, "due_date"), (_edit_tax, "tax"), (_edit_customer, "customer")],
)
async def test_a_bookkeepers_edit_with_the_total_unchanged_is_a_conflict(
    edit: Any, field: str
) -> None:
    h = Harness()
    inv = await _pushed(h)
    await edit(h, inv)
    edited = await _invoice(h)
    assert edited.total == inv.total and edited.version != inv.version
    assert await _due_date_at_source(h, "2026-03-15") == ["abandoned"]
    assert await _invoice(h) == edited  # nothing written over the edit
    [conflict] = await _conflicts(h)
    assert conflict["resolution"] == "needs_review"
    assert field in {d["field"] for d in conflict["differences"]}


async def test_a_payment_moving_the_version_is_no_edit_and_goes_straight_through() -> None:
    h = Harness()
    inv = await _pushed(h)
    h.ledger._pay(inv, Decimal("10.00"))  # recorded in the ledger: the version moved
    assert await _due_date_at_source(h) == ["pushed"]
    after = await _invoice(h)
    assert (after.name, after.due_date, after.balance) == (
        "INV-i1",
        date(2026, 3, 15),
        Decimal("100.00"),
    )
    assert await _conflicts(h) == []


async def test_the_ledgers_values_a_person_kept_are_ours_when_a_payment_moves_it_later() -> None:
    h = Harness()
    await _pushed(h)
    await _rename(h)
    assert await _due_date_at_source(h) == ["abandoned"]
    await conflicts.settle_conflict(_desk(h), RecordRef.parse(I1), "keep_ledger")
    await h.run()
    h.ledger._pay(await _invoice(h), Decimal("10.00"))
    # the source changes again: as without the payment, sent with no second conflict
    assert await _due_date_at_source(h, "2026-04-01") == ["pushed"]
    assert (await _invoice(h)).due_date == date(2026, 4, 1)
    assert len(await _conflicts(h)) == 1


def _without_new_fields(raw: bytes) -> Envelope:
    """The envelope as the code before these fields logged it (the same event, without
    them: ``model_dump`` wrote every field, so they were simply absent)."""
    stored = json.loads(raw)
    if stored["type"] == "LedgerPushSucceeded":
        for name in NEW_FIELDS:
            assert name in stored["data"]
            del stored["data"][name]
        stored["data_sha256"] = data_digest(stored["data"])
    return Envelope.model_validate(stored)


async def _as_logged_before(h: Harness) -> None:
    """The log rewritten (for this test only) as the code before this change wrote it."""
    old = MemoryEventStore()
    for stored in [s async for s in h.store.read()]:
        await old.append([_without_new_fields(stored.raw)])
    h.store = old


async def test_an_invoice_pushed_before_the_fields_were_kept_is_told_by_its_total() -> None:
    h = Harness()
    await _pushed(h)
    await _as_logged_before(h)
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    remembered = state.records[I1]
    assert remembered.pushed_total == Decimal("110.00")
    assert (remembered.pushed_number, remembered.pushed_due_date) == (None, None)
    await _rename(h)
    assert await _due_date_at_source(h) == ["pushed"]  # as before: the number not checked
    assert (await _invoice(h)).name == "INV-i1"
    assert await _conflicts(h) == []


async def test_a_success_remembers_what_was_pushed() -> None:
    h = Harness()
    inv = await _pushed(h)
    [of_customer, of_invoice] = [e["data"] for e in await events_of(h, "LedgerPushSucceeded")]
    assert {name: of_invoice[name] for name in (*NEW_FIELDS, "total", "tax")} == {  # type: ignore[index]
        "number": "INV-i1",
        "currency": "USD",
        "due_date": "2026-02-01",
        "customer_ledger_ref": inv.customer_ledger_id,
        "total": "110.00",
        "tax": "10.00",
    }
    assert inv.customer_ledger_id is not None
    assert [of_customer[name] for name in NEW_FIELDS] == [None] * 4  # type: ignore[index]


def test_a_stored_success_without_the_new_fields_reads_with_none() -> None:
    decoded = decode(STORED.read_bytes())
    event = decoded.event
    assert isinstance(event, LedgerPushSucceeded)
    assert decoded.envelope.schema_version == LedgerPushSucceeded.schema_version == 1
    assert (event.number, event.currency, event.due_date, event.customer_ledger_ref) == (
        None,
        None,
        None,
        None,
    )
    assert (event.total, event.tax) == (Decimal("110.00"), Decimal("10.00"))
    state = SyncState("acme", "memory")
    state.fold(1, decoded.envelope.subject, event)
    rec = state.records[I1]
    assert (rec.pushed_total, rec.pushed_number, rec.pushed_customer) == (
        Decimal("110.00"),
        None,
        None,
    )


def test_the_success_with_the_new_fields_round_trips() -> None:
    event = LedgerPushSucceeded(
        source_ref=I1,
        ledger="memory",
        ledger_ref="2",
        idempotency_key="k",
        content_sha256="sha",
        mapping_version="memory@1",
        operation="update",
        total=Decimal("110.00"),
        number="INV-i1",
        currency="USD",
        due_date=date(2026, 2, 1),
        customer_ledger_ref="1",
    )
    assert LedgerPushSucceeded.model_validate(json.loads(event.model_dump_json())) == event
