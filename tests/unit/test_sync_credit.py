"""Money beyond the happy path, on fakes: overpayments become customer credit, refunds
draw on it, disputed invoices are credited, ambiguous matches wait for a person, and a
record rejected for a missing dependency follows it by itself."""

from __future__ import annotations

import json
from decimal import Decimal

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.errors import TransientLedgerError
from syncledger.core.events import ReviewResolved, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.ports import SourceItem
from syncledger.core.subjects import source_subject
from tests.support.records import changed, credit_note, customer, invoice, payment, refund
from tests.unit.test_sync import ENTITY, Harness

# invoice i1: 2 x 50.00 + 10.00 tax = 110.00
BOOK = [customer("c1"), invoice("i1", "c1")]


async def _ledger_record(h: Harness, kind: str, ref: str) -> tuple[Decimal | None, Decimal | None]:
    found = await h.ledger.find(kind, ref)
    assert found is not None, f"{ref} is not in the ledger"
    return found.total, found.balance


async def _events(h: Harness, type_: str) -> list[dict[str, object]]:
    return [
        json.loads(s.raw)["data"]
        async for s in h.store.read()
        if json.loads(s.raw)["type"] == type_
    ]


async def _sync(h: Harness, items: list[SourceItem]) -> list[str]:
    await h.ingest(items)
    statuses = [o.status for o in await h.run()]
    statuses += [o.status for o in await h.run()]  # what the first round asked again
    return [s for s in statuses if s != "ignored"]


# ------------------------------------------------------------------ overpayments


async def test_an_overpayment_pays_the_invoice_and_the_rest_is_customer_credit() -> None:
    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "150.00")])
    assert await _ledger_record(h, "invoice", "csv/invoice/i1") == (Decimal("110.00"), 0)
    assert await _ledger_record(h, "payment", "csv/payment/p1") == (
        Decimal("150.00"),
        Decimal("40.00"),
    )
    [credit] = await _events(h, "CustomerCreditRecorded")
    assert (credit["amount"], credit["invoice_ref"]) == ("40.00", "csv/invoice/i1")
    [requested] = [e for e in await _events(h, "LedgerPushRequested") if "payment" in str(e)]
    assert requested["applied"] == "110.00"  # decided before the call, kept for a retry


async def test_a_second_payment_on_a_paid_invoice_is_all_credit() -> None:
    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "110.00"), payment("p2", "i1", "c1", "25.00")])
    assert await _ledger_record(h, "payment", "csv/payment/p2") == (
        Decimal("25.00"),
        Decimal("25.00"),
    )
    assert [e["amount"] for e in await _events(h, "CustomerCreditRecorded")] == ["25.00"]


async def test_payments_batched_together_share_the_invoice_balance() -> None:
    h = Harness()
    await h.ingest([*BOOK, payment("p1", "i1", "c1", "60.00"), payment("p2", "i1", "c1", "60.00")])
    service = await h.service()
    raw = [(s.seq, s.subject, s.raw) async for s in h.store.read(f"sl.{ENTITY}.source.>")]
    await service.handle_many(raw)
    assert await _ledger_record(h, "invoice", "csv/invoice/i1") == (Decimal("110.00"), 0)
    assert (await _ledger_record(h, "payment", "csv/payment/p2"))[1] == Decimal("10.00")


async def test_an_overpayment_interrupted_after_commit_is_recorded_once() -> None:
    ledger = MemoryLedger(honour_keys=False)
    h = Harness(ledger)
    await _sync(h, BOOK)
    ledger.commit_then_fail = [TransientLedgerError("timed out", code="timeout")]
    statuses = await _sync(h, [payment("p1", "i1", "c1", "150.00")])
    assert statuses[0] == "retry" and "recovered" in statuses
    assert ledger.count("payment") == 1
    assert await _ledger_record(h, "payment", "csv/payment/p1") == (
        Decimal("150.00"),
        Decimal("40.00"),
    )


# ----------------------------------------------------------------------- refunds


async def test_a_refund_pays_back_an_overpayment_credit() -> None:
    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "150.00")])
    statuses = await _sync(h, [refund("r1", "c1", "40.00", payment_id="p1")])
    assert statuses == ["pushed"]
    assert await _ledger_record(h, "refund", "csv/refund/r1") == (Decimal("40.00"), None)
    assert (await _ledger_record(h, "payment", "csv/payment/p1"))[1] == 0


async def test_a_refund_beyond_the_credit_is_rejected_and_a_fixed_one_flows() -> None:
    h = Harness()
    await _sync(h, [customer("c1"), credit_note("cn1", None, "c1", amount="40.00")])
    too_much = refund("r1", "c1", "55.00", credit_note_id="cn1")
    assert await _sync(h, [too_much]) == ["rejected"]
    [rejected] = await _events(h, "SourceRecordRejected")
    assert rejected["reasons"][0]["code"] == "refund_exceeds_credit"  # type: ignore[index]
    assert "40.00" in rejected["reasons"][0]["message"]  # type: ignore[index]
    assert await _sync(h, [changed(too_much, "2026-01-06T00:00:00", amount="15.00")]) == ["pushed"]
    assert (await _ledger_record(h, "credit_note", "csv/credit_note/cn1"))[1] == Decimal("25.00")


async def test_a_refund_without_its_credit_waits_for_it() -> None:
    h = Harness()
    await _sync(h, [customer("c1")])
    assert await _sync(h, [refund("r1", "c1", "10.00", credit_note_id="cn9")]) == ["rejected"]
    statuses = await _sync(h, [credit_note("cn9", None, "c1", amount="10.00")])
    assert statuses == ["pushed", "pushed"]  # the credit note, then the refund by itself
    assert h.ledger.count("refund") == 1


# ---------------------------------------------------------------------- disputes


def _disputed(item: SourceItem, version: str = "2026-02-01T00:00:00") -> SourceItem:
    return changed(item, version, status="disputed")


async def test_a_disputed_invoice_is_credited_in_full_never_edited() -> None:
    h = Harness()
    await _sync(h, BOOK)
    await _sync(h, [_disputed(BOOK[1])])
    assert await _ledger_record(h, "invoice", "csv/invoice/i1") == (Decimal("110.00"), 0)
    assert await _ledger_record(h, "credit_note", "csv/credit_note/i1~dispute") == (
        Decimal("110.00"),
        0,
    )
    [disputed] = await _events(h, "InvoiceDisputed")
    assert disputed["credit_note_ref"] == "csv/credit_note/i1~dispute"
    again = await _sync(
        h, [changed(BOOK[1], "2026-02-02T00:00:00", status="disputed", due_date="2026-03-01")]
    )
    assert again == ["rejected"]  # a credited dispute is final
    assert h.ledger.count("credit_note") == 1


async def test_an_invoice_arriving_disputed_is_posted_then_credited() -> None:
    h = Harness()
    await _sync(h, [customer("c1"), _disputed(invoice("i1", "c1"))])
    assert (h.ledger.count("invoice"), h.ledger.count("credit_note")) == (1, 1)
    assert (await _ledger_record(h, "invoice", "csv/invoice/i1"))[1] == 0


async def test_a_dispute_after_a_part_payment_credits_what_is_still_owed() -> None:
    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "30.00")])
    await _sync(h, [_disputed(BOOK[1])])
    assert await _ledger_record(h, "credit_note", "csv/credit_note/i1~dispute") == (
        Decimal("80.00"),
        0,
    )


async def test_a_dispute_interrupted_before_its_credit_note_is_finished_later() -> None:
    h = Harness()
    await _sync(h, BOOK)
    h.ledger.fail_next = [TransientLedgerError("503", code="503", retry_after=0)]
    await h.ingest([_disputed(BOOK[1])])
    service = await h.service()
    [stored] = [s async for s in h.store.read(f"sl.{ENTITY}.source.>", h.consumed + 1)]
    h.consumed = stored.seq
    assert (await service.handle(stored.seq, stored.subject, stored.raw)).status == "retry"
    assert h.ledger.count("credit_note") == 0
    fresh = await h.service()  # a restarted worker, redelivered the same event
    assert (await fresh.handle(stored.seq, stored.subject, stored.raw)).status == "pushed"
    assert h.ledger.count("credit_note") == 1


async def test_disputing_a_paid_invoice_says_to_use_a_credit_note_and_refund() -> None:
    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "110.00")])
    assert await _sync(h, [_disputed(BOOK[1])]) == ["rejected"]
    [rejected] = await _events(h, "SourceRecordRejected")
    assert rejected["reasons"][0]["code"] == "dispute_on_paid_invoice"  # type: ignore[index]
    assert h.ledger.count("credit_note") == 0


async def test_a_credited_dispute_is_not_reopened() -> None:
    h = Harness()
    await _sync(h, BOOK)
    await _sync(h, [_disputed(BOOK[1])])
    reopened = changed(BOOK[1], "2026-03-01T00:00:00", status="open")
    assert await _sync(h, [reopened]) == ["rejected"]
    [rejected] = await _events(h, "SourceRecordRejected")
    assert rejected["reasons"][0]["code"] == "dispute_already_credited"  # type: ignore[index]


# ------------------------------------------------------------------ review queue


async def _decide(h: Harness, ref: str, decision: str, ledger_ref: str | None = None) -> None:
    payload = ReviewResolved(
        ref=ref,
        ledger=h.ledger.ledger,
        decision=decision,
        ledger_ref=ledger_ref,  # type: ignore[arg-type]
    )
    subject = source_subject(ENTITY, RecordRef.parse(ref))
    await h.store.append([make_envelope(payload, entity=ENTITY, subject=subject, actor="ops")])


async def test_a_review_link_settles_the_customer_and_its_invoice_follows() -> None:
    h = Harness()
    h.ledger.seed_customer("Twin Co")
    chosen = h.ledger.seed_customer("twin co")
    assert await _sync(h, [customer("c1", name="Twin Co"), invoice("i1", "c1")]) == [
        "review",
        "rejected",
    ]
    await _decide(h, "csv/customer/c1", "link", chosen)
    assert await _sync(h, []) == ["linked", "pushed"]
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None and inv.customer_ledger_id == chosen
    assert h.ledger.count("customer") == 2


async def test_a_review_create_makes_a_new_customer() -> None:
    h = Harness()
    h.ledger.seed_customer("Acme North", tax_id="DE136695976")
    h.ledger.seed_customer("Acme South", tax_id="DE 136 695 976")
    c1 = SourceItem(
        "csv",
        "customer",
        "c1",
        "1",
        {"name": "Acme West", "currency": "USD", "tax_id": "DE136695976"},
    )
    assert await _sync(h, [c1]) == ["review"]
    await _decide(h, "csv/customer/c1", "create")
    assert await _sync(h, []) == ["pushed"]
    assert h.ledger.count("customer") == 3


async def test_a_customer_matched_by_tax_id_alone_is_linked() -> None:
    h = Harness()
    ledger_id = h.ledger.seed_customer("ACME GmbH", tax_id="DE-136.695.976")
    c1 = SourceItem(
        "csv", "customer", "c1", "1", {"name": "Acme", "currency": "USD", "tax_id": "DE136695976"}
    )
    assert await _sync(h, [c1]) == ["linked"]
    service = await h.service()
    assert service.state.records["csv/customer/c1"].ledger_ref == ledger_id


# ------------------------------------------------------------- dependencies


async def test_an_invoice_rejected_for_a_missing_customer_follows_it_by_itself() -> None:
    h = Harness()
    assert await _sync(h, [invoice("i1", "c9")]) == ["rejected"]
    assert await _sync(h, [customer("c9")]) == ["pushed", "pushed"]
    assert h.ledger.count("invoice") == 1


async def test_the_trace_says_what_happened_to_the_money() -> None:
    from syncledger.core.trace import trace

    h = Harness()
    await _sync(h, [*BOOK, payment("p1", "i1", "c1", "150.00")])
    await _sync(h, [_disputed(invoice("i2", "c1"))])
    paid = [ln.summary for ln in await trace(h.store, ENTITY, RecordRef.parse("csv/payment/p1"))]
    assert any("applying 110.00 of it" in s for s in paid)
    assert any(s.startswith("overpayment: 40.00 USD beyond csv/invoice/i1") for s in paid)
    disputed = [
        ln.summary for ln in await trace(h.store, ENTITY, RecordRef.parse("csv/invoice/i2"))
    ]
    assert any("credited in memory by csv/credit_note/i2~dispute" in s for s in disputed)
