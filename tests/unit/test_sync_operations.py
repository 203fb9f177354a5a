"""Updates, voids, credit notes, conflicts and retries, on fakes."""

from __future__ import annotations

import json
from decimal import Decimal

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.events import RetryRequested, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.ports import InvoiceUpdate
from syncledger.core.subjects import source_subject
from tests.support.records import changed, credit_note, customer, deleted, invoice, payment
from tests.unit.test_sync import ENTITY, Harness


async def events_of(h: Harness, type_name: str) -> list[dict[str, object]]:
    return [e for e in [json.loads(s.raw) async for s in h.store.read()] if e["type"] == type_name]


async def test_a_changed_customer_is_updated_in_place() -> None:
    h = Harness()
    c1 = customer("c1", name="Old Name")
    await h.ingest([c1])
    await h.run()
    await h.ingest([changed(c1, "2026-02-01", name="New Name")])
    assert [o.status for o in await h.run()] == ["pushed"]
    [rec] = list(h.ledger.records.values())
    assert (rec.name, h.ledger.count("customer")) == ("New Name", 1)
    requested = await events_of(h, "LedgerPushRequested")
    assert [e["data"]["operation"] for e in requested] == ["create", "update"]  # type: ignore[index]


async def test_a_changed_invoice_is_updated_and_keeps_its_payments() -> None:
    h = Harness()
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1, payment("p1", "i1", "c1", "10.00")])
    await h.run()
    await h.ingest(
        [
            changed(
                i1,
                "2026-02-01",
                total="120.00",
                lines=[
                    {
                        "description": "Service call",
                        "quantity": "2",
                        "unit_price": "55.00",
                        "tax_amount": "10.00",
                        "line_type": "service",
                    }
                ],
            )
        ]
    )
    assert [o.status for o in await h.run()] == ["pushed"]
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    assert (inv.total, inv.balance) == (Decimal("120.00"), Decimal("110.00"))
    assert h.ledger.count("invoice") == 1


async def test_a_deleted_invoice_is_voided_never_deleted() -> None:
    h = Harness()
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    await h.ingest([deleted(i1, "2026-03-01")])
    assert [o.status for o in await h.run()] == ["pushed"]
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    assert (inv.status, inv.balance) == ("void", Decimal(0))
    h.consumed = 0  # redelivery of everything: nothing voided twice, nothing re-created
    await h.run()
    assert h.ledger.count("invoice") == 1


async def test_an_invoice_voided_at_the_source_is_voided_in_the_ledger() -> None:
    h = Harness()
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    await h.ingest([changed(i1, "2026-03-01", status="void")])
    await h.run()
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    assert inv.status == "void"


async def test_a_changed_payment_is_rejected_not_edited() -> None:
    h = Harness()
    p1 = payment("p1", "i1", "c1", "10.00")
    await h.ingest([customer("c1"), invoice("i1", "c1"), p1])
    await h.run()
    await h.ingest([changed(p1, "2026-02-01", amount="15.00")])
    assert [o.status for o in await h.run()] == ["rejected"]
    [rejection] = await events_of(h, "SourceRecordRejected")
    assert rejection["data"]["reasons"][0]["code"] == "payment_changed"  # type: ignore[index]
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    assert inv.balance == Decimal("100.00")


async def test_a_credit_note_is_applied_to_its_invoice() -> None:
    h = Harness()
    await h.ingest([customer("c1"), invoice("i1", "c1"), credit_note("n1", "i1", "c1")])
    assert [o.status for o in await h.run()] == ["pushed"] * 3
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    assert inv.balance == Decimal("70.00")
    assert h.ledger.count("credit_note") == 1


async def test_a_ledger_side_edit_of_an_invoice_is_not_overwritten() -> None:
    h = Harness()
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None
    await h.ledger.update_invoice(
        InvoiceUpdate(  # a person edits it in the ledger
            changed_model(),
            ledger_id=inv.ledger_id,
            version=inv.version,
            customer_ledger_id="1",
            external_ref="csv/invoice/i1",
            idempotency_key="by-hand",
        )
    )
    await h.ingest([changed(i1, "2026-02-01", discount="5.00", total="105.00")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    [conflict] = await events_of(h, "ConflictDetected")
    assert conflict["data"]["resolution"] == "needs_review"  # type: ignore[index]
    after = await h.ledger.find("invoice", "csv/invoice/i1")
    assert after is not None
    assert after.total == Decimal("99.00")  # the person's edit stands


async def test_a_ledger_side_edit_of_a_customer_is_logged_and_the_source_wins() -> None:
    h = Harness()
    c1 = customer("c1", name="Source Name")
    await h.ingest([c1])
    await h.run()
    [rec] = list(h.ledger.records.values())
    h.ledger._replace("by-hand", rec.ledger_id, rec.version, name="Typed In Ledger")
    await h.ingest([changed(c1, "2026-02-01", name="Source Name 2")])
    assert [o.status for o in await h.run()] == ["pushed"]
    [conflict] = await events_of(h, "ConflictDetected")
    assert conflict["data"]["resolution"] == "source_wins"  # type: ignore[index]
    assert next(iter(h.ledger.records.values())).name == "Source Name 2"


async def test_an_abandoned_record_is_pushed_again_on_retry() -> None:
    h = Harness()
    h.ledger.fail_next = [PermanentLedgerError("Business Validation Error", code="6000")]
    await h.ingest([customer("c1")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    ref = RecordRef.parse("csv/customer/c1")
    retry = make_envelope(
        RetryRequested(ref=str(ref), ledger=h.ledger.ledger),
        entity=ENTITY,
        subject=source_subject(ENTITY, ref),
        actor="ops",
    )
    await h.store.append([retry])
    assert [o.status for o in await h.run()] == ["pushed"]
    assert h.ledger.count("customer") == 1


def changed_model():  # type: ignore[no-untyped-def]
    from datetime import date

    from syncledger.core.model import Invoice, InvoiceLine

    return Invoice(
        id="i1",
        number="INV-i1",
        customer_id="c1",
        issue_date=date(2026, 1, 2),
        currency="USD",
        total=Decimal("99.00"),
        lines=(InvoiceLine(description="x", quantity="1", unit_price="99.00"),),
    )


MAPPING = """
[transforms.customer]
name = { concat = ["first_name", "last_name"], separator = " " }

[transforms.invoice]
lines = { split_total = "deal_amount", description = "deal_name", tax = "deal_tax" }

[items]
unmatched = "review"

[items.map]
"SVC" = "Services"
"""


async def test_the_ledger_mapping_shapes_records_before_they_are_pushed() -> None:
    from syncledger.core.mapping import Mapping
    from syncledger.core.ports import SourceItem

    mapping = Mapping.from_text("memory", MAPPING)
    h = Harness(mapping=mapping)
    person = SourceItem(
        "csv",
        "customer",
        "c1",
        "1",
        {"first_name": "Ada", "last_name": "Lovelace", "currency": "USD"},
    )
    deal = SourceItem(
        "csv",
        "invoice",
        "d1",
        "1",
        {
            "number": "D-1",
            "customer_id": "c1",
            "issue_date": "2026-01-02",
            "currency": "USD",
            "deal_amount": "1000.00",
            "deal_name": "Boiler replacement",
            "deal_tax": "80.00",
        },
    )
    with_item = changed(
        invoice("i2", "c1"),
        "1",
        lines=[
            {
                "description": "Mystery part",
                "quantity": "1",
                "unit_price": "100.00",
                "tax_amount": "10.00",
                "item_code": "UNKNOWN",
            }
        ],
    )
    await h.ingest([person, deal, with_item])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["pushed", "pushed", "rejected"]
    [ledger_customer] = [r for r in h.ledger.records.values() if r.kind == "customer"]
    assert ledger_customer.name == "Ada Lovelace"
    inv = await h.ledger.find("invoice", "csv/invoice/d1")
    assert inv is not None
    assert inv.total == Decimal("1080.00")
    [rejection] = await events_of(h, "SourceRecordRejected")
    assert rejection["data"]["reasons"][0]["code"] == "unmatched_item"  # type: ignore[index]
    [requested, *_] = await events_of(h, "LedgerPushRequested")
    assert requested["data"]["mapping_version"] == mapping.version  # type: ignore[index]


async def test_two_source_customers_with_one_name_are_not_both_pushed() -> None:
    h = Harness()
    await h.ingest([customer("c1", name="Acme Plumbing"), customer("c2", name="ACME  plumbing")])
    assert [o.status for o in await h.run()] == ["pushed", "rejected"]
    [rejection] = await events_of(h, "SourceRecordRejected")
    reason = rejection["data"]["reasons"][0]  # type: ignore[index]
    assert reason["code"] == "duplicate_name"
    assert "csv/customer/c1" in reason["message"]
    assert h.ledger.count("customer") == 1


async def test_field_authority_is_configurable_per_kind() -> None:
    h = Harness(authority={"customer": "ledger"})  # this company's ledger owns contacts
    c1 = customer("c1", name="Source Name")
    await h.ingest([c1])
    await h.run()
    [rec] = list(h.ledger.records.values())
    h.ledger._replace("by-hand", rec.ledger_id, rec.version, name="Typed In Ledger")
    await h.ingest([changed(c1, "2026-02-01", name="Source Name 2")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    [conflict] = await events_of(h, "ConflictDetected")
    assert conflict["data"]["resolution"] == "needs_review"  # type: ignore[index]
    assert next(iter(h.ledger.records.values())).name == "Typed In Ledger"
