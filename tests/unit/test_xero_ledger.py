"""XeroLedger against the Xero sandbox in-process: what Xero-specific behaviour adds to the
ledger contract (tests/unit/test_xero_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.xero.errors import XeroServerError, element_error, translate_xero
from syncledger.adapters.xero.ledger import XeroLedger, fresh_key, step_key, where_literal, wire_key
from syncledger.adapters.xero.mapping import contact_number, load_mapping
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.model import InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    CustomerWrite,
    InvoiceUpdate,
    InvoiceWrite,
    ItemWrite,
    PaymentWrite,
    RefundWrite,
    VoidWrite,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support import documents
from tests.support.documents import (
    apply_payment,
    create_credit_note,
    create_refund,
    credit_note,
    customer,
    invoice,
    push_customer,
    push_invoice,
)
from tests.support.writes import write_invoice
from tests.support.xero import InProcessXero, in_process_xero


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    async with closed_after(in_process_xero(per_window=1000, window=60.0)) as env:
        yield env


def payment(amount: str, reference: str | None = "CHK 1") -> Payment:
    return documents.payment(amount, reference=reference)


# -------------------------------------------------------------------- keys


def test_idempotency_keys_fit_xero_and_a_fresh_one_differs() -> None:
    digest = key("csv/invoice/INV-1", "v1", "xero")
    assert wire_key(digest) == digest
    assert len(wire_key("x" * 300)) == 64
    assert wire_key("has spaces") != "has spaces"
    assert step_key(digest, "allocation") == step_key(digest, "allocation")
    assert step_key(digest, "allocation") != step_key(digest, "credit-note")
    assert len(fresh_key("x" * 300)) <= 128
    assert fresh_key(digest) != fresh_key(digest)


def test_where_literals_escape_quotes_and_backslashes() -> None:
    assert where_literal('O"Brien \\ Co') == '"O\\"Brien \\\\ Co"'


def test_a_long_reference_becomes_a_50_character_contact_number() -> None:
    long_ref = "hubspot/customer/" + "9" * 60
    number = contact_number(long_ref)
    assert len(number) == 50 and number.startswith("syncledger:")
    assert contact_number("csv/customer/C-1") == "csv/customer/C-1"


# ------------------------------------------------------------------- money


async def test_the_invoice_discount_is_spread_over_the_lines(xero: InProcessXero) -> None:
    customer_id = await push_customer(xero.ledger)
    lines = (
        InvoiceLine(description="a", quantity="1", unit_price="4.00", tax_amount="0.60"),
        InvoiceLine(description="b", quantity="2", unit_price="5.00"),
    )
    doc = invoice(total="9.60", lines=lines, discount=Decimal("5.00"))
    invoice_id = await push_invoice(xero.ledger, customer_id, doc)
    record = await xero.ledger.get("invoice", invoice_id)
    assert record is not None and record.total == Decimal("9.60")
    discounts = [ln.get("DiscountAmount") for ln in record.raw["LineItems"]]
    assert discounts == [Decimal("4.00"), Decimal("1.00")]
    assert record.raw["TotalTax"] == Decimal("0.60")


def euro_payment(amount: str) -> Payment:
    return payment(amount).model_copy(update={"currency": "EUR"})


async def test_a_foreign_currency_payment_carries_the_invoices_rate(xero: InProcessXero) -> None:
    """Without ``CurrencyRate`` Xero books a foreign payment at its XE.com day rate: the
    adapter sends the rate the source gave the invoice, for a Payment and for an
    overpayment alike, and none in the organisation's own currency."""
    customer_id = await push_customer(xero.ledger, currency="EUR")
    rate = Decimal("1.0850")
    euro = invoice("0.30", currency="EUR", exchange_rate=rate)
    invoice_id = await push_invoice(xero.ledger, customer_id, euro)
    for amount, applied in (("0.10", None), ("0.50", "0.20")):
        await xero.ledger.apply_payment(
            PaymentWrite(
                euro_payment(amount),
                customer_ledger_id=customer_id,
                invoice_ledger_id=invoice_id,
                external_ref=f"csv/payment/P-{amount}",
                idempotency_key=key("p", amount),
                applied=None if applied is None else Decimal(applied),
            )
        )
    [paid] = xero.wire.bodies("PUT", "/Payments")
    [received] = xero.wire.bodies("PUT", "/BankTransactions")
    sent = [paid["Payments"][0]["CurrencyRate"], received["BankTransactions"][0]["CurrencyRate"]]
    assert sent == [rate, rate]
    [stored] = xero.sandbox.book.all("Payment")
    [overpayment] = xero.sandbox.records("overpayment")
    assert (stored["CurrencyRate"], overpayment["CurrencyRate"]) == (rate, rate)
    home_customer = await push_customer(xero.ledger, 2)
    home = await write_invoice(xero.ledger, home_customer, invoice(id="INV-2", number="INV-2"), 2)
    await pay(xero.ledger, home_customer, home.ledger_id, "0.30", applied=None)
    assert "CurrencyRate" not in xero.wire.bodies("PUT", "/Payments")[-1]["Payments"][0]


async def test_a_foreign_refund_carries_its_credits_rate(xero: InProcessXero) -> None:
    customer_id = await push_customer(xero.ledger, currency="EUR")
    rate = Decimal("0.9150")
    note = credit_note("10.00", "EUR", exchange_rate=rate)
    credit = await create_credit_note(xero.ledger, customer_id, note)
    await create_refund(
        xero.ledger,
        customer_id,
        credit.ledger_id,
        refund("4.00", credit_note_id="CN-1").model_copy(update={"currency": "EUR"}),
    )
    [sent] = xero.wire.bodies("PUT", "/Payments")
    assert sent["Payments"][0]["CurrencyRate"] == rate
    [stored] = xero.sandbox.records("refund")
    assert stored["CurrencyRate"] == rate


async def test_a_foreign_payment_of_a_document_in_another_currency_is_refused_unsent(
    xero: InProcessXero,
) -> None:
    """The rate of a USD invoice says nothing about a EUR payment: refused with the
    documented safe path's code, never sent for Xero to pick a rate."""
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    with pytest.raises(PermanentLedgerError) as refused:
        await apply_payment(xero.ledger, customer_id, invoice_id, euro_payment("0.10"))
    assert refused.value.code == "syncledger.exchange_rate_missing"
    assert "payment P-1 is in EUR" in str(refused.value) and "is in USD" in str(refused.value)
    assert xero.wire.requests("PUT", "/Payments") == []
    assert xero.sandbox.count("payment") == 0


# ------------------------------------------------------------------- items


def item_lines(*codes: str | None) -> tuple[InvoiceLine, ...]:
    return tuple(
        InvoiceLine(description=f"line {n}", quantity="1", unit_price="0.10", item_code=code)
        for n, code in enumerate(codes, 1)
    )


async def test_a_line_naming_an_item_sends_the_items_code_and_reads_it_back(
    xero: InProcessXero,
) -> None:
    item_id = xero.sandbox.seed_item("SVC-1", SalesDetails={"AccountCode": "260"})
    customer_id = await push_customer(xero.ledger)
    # one line names the item by its ItemID, one by its code in another case, one by none
    doc = invoice(total="0.30", lines=item_lines(item_id, "svc-1", None))
    invoice_id = await push_invoice(xero.ledger, customer_id, doc)
    [body] = xero.wire.bodies("PUT", "/Invoices")
    sent = body["Invoices"][0]["LineItems"]
    assert [ln.get("ItemCode") for ln in sent] == ["SVC-1", "SVC-1", None]
    assert {ln["AccountCode"] for ln in sent} == {"200"}  # the mapping's account, not the item's
    [stored] = xero.sandbox.records("invoice")
    assert stored["LineItems"][0]["Item"]["ItemID"] == item_id
    record = await xero.ledger.get("invoice", invoice_id)
    assert record is not None
    assert (record.line_items, record.total) == (("SVC-1", "SVC-1", None), Decimal("0.30"))


async def test_item_lookups_are_cached_across_documents(xero: InProcessXero) -> None:
    item_id = xero.sandbox.seed_item("SVC-1")
    customer_id = await push_customer(xero.ledger)
    for n in (1, 2, 3):
        lines = item_lines("SVC-1", "SVC-1")
        doc = invoice("0.20", id=f"INV-{n}", number=f"INV-{n}", lines=lines)
        await write_invoice(xero.ledger, customer_id, doc, n)
    assert len(xero.wire.requests("GET", "/Items")) == 1
    found = await xero.ledger.find_item(item_id)
    assert found is not None and found.code == "SVC-1"
    assert len(xero.wire.requests("GET", f"/Items/{item_id}")) == 0  # known by id already
    assert xero.sandbox.count("invoice") == 3


async def test_an_item_deleted_after_it_was_cached_is_refused_by_xero(
    xero: InProcessXero,
) -> None:
    """The cache can outlive the item: then Xero's own refusal names the code."""
    xero.sandbox.seed_item("SVC-1")
    customer_id = await push_customer(xero.ledger)
    assert await xero.ledger.find_item("SVC-1") is not None
    xero.sandbox.book.db.execute("DELETE FROM records WHERE entity = 'Item'")
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(
            xero.ledger, customer_id, invoice("0.20", lines=item_lines("SVC-1", None))
        )
    assert refused.value.code == "10"
    assert "Item code 'SVC-1' is not valid" in str(refused.value)
    assert xero.sandbox.count("invoice") == 0


async def test_an_item_is_created_as_a_sold_service_item_on_the_sales_account(
    xero: InProcessXero,
) -> None:
    made = await xero.ledger.create_item(ItemWrite("SVC-9", idempotency_key=key("item", 9)))
    [put] = xero.wire.requests("PUT", "/Items")
    assert put.headers["Idempotency-Key"] == key("item", 9)
    assert decode_json(put.content)["Items"] == [
        {
            "Code": "SVC-9",
            "Name": "SVC-9",
            "IsSold": True,
            "IsPurchased": False,
            "SalesDetails": {"AccountCode": "200", "TaxType": "OUTPUT"},
        }
    ]
    [stored] = xero.sandbox.records("item")
    assert (made.ledger_id, made.code, made.name) == (stored["ItemID"], "SVC-9", "SVC-9")


async def test_a_create_xero_refuses_as_a_duplicate_code_returns_the_existing_item(
    xero: InProcessXero,
) -> None:
    """Someone makes the item between our lookup and our create: Xero refuses ours."""
    seeded: list[str] = []

    def someone_makes_it(request: httpx.Request) -> None:
        if request.method == "PUT" and request.url.path.endswith("/Items") and not seeded:
            seeded.append(xero.sandbox.seed_item("svc-1"))

    xero.wire.before = someone_makes_it
    made = await xero.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item", 1)))
    assert (made.ledger_id, made.code) == (seeded[0], "svc-1")
    assert xero.sandbox.count("item") == 1
    assert len(xero.wire.requests("PUT", "/Items")) == 1  # refused once, not resent


async def test_a_500_on_an_item_create_is_recovered_by_its_code(xero: InProcessXero) -> None:
    xero.sandbox.fail_next_writes(1)
    made = await xero.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item", 1)))
    assert xero.sandbox.count("item") == 1
    assert made.code == "SVC-1"
    first, second = xero.wire.requests("PUT", "/Items")
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


async def test_an_item_code_xero_cannot_hold_is_refused_before_sending(
    xero: InProcessXero,
) -> None:
    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.create_item(ItemWrite("X" * 31, idempotency_key=key("item", 1)))
    assert refused.value.code == "syncledger.bad_item_code"
    assert xero.wire.requests("PUT", "/Items") == []


# --------------------------------------------------------------- customers


async def test_find_matches_long_references_and_archived_contacts(xero: InProcessXero) -> None:
    long_ref = "hubspot/customer/" + "7" * 60
    pushed = await xero.ledger.create_customer(
        CustomerWrite(customer(1), external_ref=long_ref, idempotency_key=key("long"))
    )
    stored = xero.sandbox.book.get("Contact", pushed.ledger_id) or {}
    with xero.sandbox.book.transaction():
        xero.sandbox.book.save("Contact", stored | {"ContactStatus": "ARCHIVED"})
    found = await xero.ledger.find("customer", long_ref)
    assert found is not None
    assert (found.ledger_id, found.status) == (pushed.ledger_id, "inactive")
    assert await xero.ledger.find("customer", long_ref + "0") is None


async def test_match_uses_the_tax_number_too(xero: InProcessXero) -> None:
    await xero.ledger.create_customer(
        CustomerWrite(
            customer(1, tax_id="NZ-123"), external_ref="csv/customer/C-1", idempotency_key=key("t")
        )
    )
    same_tax_id = customer(2, tax_id="nz-123")
    assert [r.name for r in await xero.ledger.match_customer(same_tax_id)] == ["Customer 1"]


# ------------------------------------------------------ crash, 5xx, replays


async def test_a_500_is_retried_under_a_fresh_key_because_xero_caches_it(
    xero: InProcessXero,
) -> None:
    xero.sandbox.fail_next_writes(xero.retry.attempts)
    with pytest.raises(XeroServerError):
        await push_customer(xero.ledger)
    # the sync process retries with the same key: Xero would replay the cached 500
    # for 6 minutes, so the adapter must not resend under it
    assert xero.sandbox.count("customer") == 0
    await push_customer(xero.ledger)
    assert xero.sandbox.count("customer") == 1


async def test_a_lost_answer_after_the_key_expired_is_recovered_by_the_reference() -> None:
    env = in_process_xero(per_window=1000, window=60.0, timeout=0.3, idempotency_ttl=0.0)
    customer_id = await push_customer(env.ledger)
    env.sandbox.commit_then_timeout_next(1)
    pushed = await env.ledger.create_invoice(
        InvoiceWrite(
            invoice(), customer_ledger_id=customer_id, external_ref="r/i/1", idempotency_key="k"
        )
    )
    # no replay (the key is gone): "Invoice # must be unique." then find by Reference
    assert pushed.recovered
    assert env.sandbox.count("invoice") == 1
    await env.ledger.aclose()


# ------------------------------------------------- payments, void, updates


async def test_payments_are_found_by_reference_and_deleted_ones_show_in_changes(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    before = await xero.ledger.get("invoice", invoice_id)
    assert before is not None and before.updated_at is not None
    paid = await apply_payment(xero.ledger, customer_id, invoice_id, payment("0.10"))
    found = await xero.ledger.find("payment", "csv/payment/P-1")
    assert found is not None and found.ledger_id == paid.ledger_id
    assert (found.name, found.total, found.customer_ledger_id) == (
        "CHK 1",
        Decimal("0.10"),
        customer_id,
    )
    with xero.sandbox.book.transaction():
        xero.sandbox.delete_payment(paid.ledger_id, {"Status": "DELETED"})
    changed = [r async for r in xero.ledger.changes(before.updated_at + timedelta(milliseconds=1))]
    assert {(r.kind, r.status) for r in changed} == {("invoice", "open"), ("payment", "deleted")}


async def test_a_full_payment_marks_the_invoice_paid_and_then_it_cannot_be_edited(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    await apply_payment(xero.ledger, customer_id, invoice_id, payment("0.30", reference=None))
    record = await xero.ledger.get("invoice", invoice_id)
    assert record is not None and (record.status, record.balance) == ("paid", Decimal(0))
    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.update_invoice(
            InvoiceUpdate(
                invoice(),
                ledger_id=invoice_id,
                version=record.version,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("u"),
            )
        )
    assert refused.value.code == "10"


async def test_voiding_twice_reports_the_second_as_recovered(xero: InProcessXero) -> None:
    invoice_id = await push_invoice(xero.ledger, await push_customer(xero.ledger))
    first = await xero.ledger.void_invoice(
        VoidWrite(invoice_id, version=None, idempotency_key="v1")
    )
    again = await xero.ledger.void_invoice(
        VoidWrite(invoice_id, version="stale", idempotency_key="v2")
    )
    assert (first.recovered, again.recovered, again.version) == (False, True, first.version)


async def test_a_credit_note_discount_becomes_a_negative_line(xero: InProcessXero) -> None:
    customer_id = await push_customer(xero.ledger)
    line = InvoiceLine(description="refund", quantity="1", unit_price="10.00", item_code="SVC-1")
    note = credit_note("8.00", lines=(line,), discount=Decimal("2.00"))
    xero.sandbox.seed_item("SVC-1")
    pushed = await create_credit_note(xero.ledger, customer_id, note)
    record = await xero.ledger.get("credit_note", pushed.ledger_id)
    assert record is not None
    assert (record.total, record.balance, record.status) == (Decimal("8.00"), 8, "open")
    assert [ln["LineAmount"] for ln in record.raw["LineItems"]] == [10, Decimal("-2.00")]
    assert record.line_items == ("SVC-1",)  # the discount line is no document line
    listed = [r async for r in xero.ledger.list_all("credit_note")]
    assert [r.line_items for r in listed] == [("SVC-1",)]


# ------------------------------------------------- overpayments, refunds


async def pay(
    ledger: XeroLedger, customer_id: str, invoice_id: str, amount: str, applied: str | None
) -> str:
    pushed = await apply_payment(
        ledger,
        customer_id,
        invoice_id,
        payment(amount),
        applied=None if applied is None else Decimal(applied),
    )
    return pushed.ledger_id


def refund(amount: str, **credit: str) -> Refund:
    return documents.refund(amount, refunded_on=date(2026, 4, 9), reference="RF 1", **credit)


async def test_an_overpayment_is_received_whole_and_the_applied_part_allocated(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    ledger_id = await pay(xero.ledger, customer_id, invoice_id, "1.00", applied="0.30")
    [received] = xero.sandbox.records("bank_transaction")
    assert (received["Type"], received["LineAmountTypes"], received["Total"]) == (
        "RECEIVE-OVERPAYMENT",
        "NoTax",
        Decimal("1.00"),
    )
    assert [ln["LineAmount"] for ln in received["LineItems"]] == [Decimal("1.00")]
    assert received["BankAccount"]["Code"] == "090"
    [overpayment] = xero.sandbox.records("overpayment")
    assert overpayment["OverpaymentID"] == ledger_id == received["OverpaymentID"]
    assert overpayment["RemainingCredit"] == Decimal("0.70")
    assert [(a["Amount"], a["Invoice"]["InvoiceID"]) for a in overpayment["Allocations"]] == [
        (Decimal("0.30"), invoice_id)
    ]
    assert xero.sandbox.book.all("Payment") == []  # no invoice Payment beside it
    stored = xero.sandbox.book.get("Invoice", invoice_id) or {}
    assert (stored["Status"], stored["AmountDue"], stored["AmountCredited"]) == (
        "PAID",
        0,
        Decimal("0.30"),
    )
    found = await xero.ledger.find("payment", "csv/payment/P-1")
    assert found is not None
    assert (found.ledger_id, found.total, found.balance, found.name) == (
        ledger_id,
        Decimal("1.00"),
        Decimal("0.70"),
        "CHK 1",
    )
    assert [r.ledger_id async for r in xero.ledger.list_all("payment")] == [ledger_id]


async def test_all_credit_is_an_overpayment_with_no_allocation(xero: InProcessXero) -> None:
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    ledger_id = await pay(xero.ledger, customer_id, invoice_id, "0.50", applied="0")
    [overpayment] = xero.sandbox.records("overpayment")
    assert (overpayment["OverpaymentID"], overpayment["Allocations"]) == (ledger_id, [])
    assert "applies" not in overpayment["Reference"]
    record = await xero.ledger.get("invoice", invoice_id)
    assert record is not None and record.balance == Decimal("0.30")


async def test_a_crash_before_the_allocation_is_finished_by_the_retry_not_received_twice() -> None:
    env = in_process_xero(per_window=1000, window=60.0, timeout=0.3)
    customer_id = await push_customer(env.ledger)
    invoice_id = await push_invoice(env.ledger, customer_id)
    env.sandbox.commit_then_timeout_next(env.retry.attempts)  # the overpayment lands, unseen
    with pytest.raises(TransientLedgerError):
        await pay(env.ledger, customer_id, invoice_id, "1.00", applied="0.30")
    assert env.sandbox.count("payment") == 1
    # its reference says 0.30 is allocated, and it is not yet: not reported as pushed
    assert await env.ledger.find("payment", "csv/payment/P-1") is None
    ledger_id = await pay(env.ledger, customer_id, invoice_id, "1.00", applied="0.30")
    assert env.sandbox.count("payment") == 1
    record = await env.ledger.get("payment", ledger_id)
    assert record is not None and (record.total, record.balance) == (
        Decimal("1.00"),
        Decimal("0.70"),
    )
    found = await env.ledger.find("payment", "csv/payment/P-1")
    assert found is not None and found.ledger_id == ledger_id
    await env.ledger.aclose()


async def test_a_credit_note_refund_is_a_payment_out_of_its_credit(xero: InProcessXero) -> None:
    customer_id = await push_customer(xero.ledger)
    note = credit_note("10.00")
    credit = await create_credit_note(xero.ledger, customer_id, note)
    pushed = await create_refund(
        xero.ledger, customer_id, credit.ledger_id, refund("4.00", credit_note_id="CN-1")
    )
    [paid_out] = xero.sandbox.records("refund")
    assert (paid_out["PaymentID"], paid_out["PaymentType"], paid_out["Amount"]) == (
        pushed.ledger_id,
        "ARCREDITPAYMENT",
        Decimal("4.00"),
    )
    assert paid_out["Reference"] == "RF 1 syncledger-ref: csv/refund/R-1"
    assert paid_out["Invoice"]["InvoiceID"] == credit.ledger_id  # how Xero's GET names it
    note_after = await xero.ledger.get("credit_note", credit.ledger_id)
    assert note_after is not None and note_after.balance == Decimal("6.00")
    refunds = [r async for r in xero.ledger.list_all("refund")]
    assert [(r.ledger_id, r.customer_ledger_id) for r in refunds] == [
        (pushed.ledger_id, customer_id)
    ]
    assert [r async for r in xero.ledger.list_all("payment")] == []
    assert await xero.ledger.get("payment", pushed.ledger_id) is None


async def test_an_overpayment_refund_and_one_of_a_payment_applied_in_full(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    invoice_id = await push_invoice(xero.ledger, customer_id)
    credit_id = await pay(xero.ledger, customer_id, invoice_id, "1.00", applied="0.30")
    pushed = await create_refund(
        xero.ledger, customer_id, credit_id, refund("0.70", payment_id="P-1")
    )
    [paid_out] = xero.sandbox.records("refund")
    assert paid_out["PaymentType"] == "AROVERPAYMENTPAYMENT"
    [overpayment] = xero.sandbox.records("overpayment")
    assert (overpayment["RemainingCredit"], overpayment["Status"]) == (0, "PAID")
    got = await xero.ledger.get("refund", pushed.ledger_id)
    assert got is not None and (got.total, got.customer_ledger_id) == (
        Decimal("0.70"),
        customer_id,
    )
    second = (
        await xero.ledger.create_invoice(
            InvoiceWrite(
                invoice(id="INV-2", number="INV-2"),
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-2",
                idempotency_key=key("i2"),
            )
        )
    ).ledger_id
    full = await xero.ledger.apply_payment(
        PaymentWrite(
            payment("0.30"),
            customer_ledger_id=customer_id,
            invoice_ledger_id=second,
            external_ref="csv/payment/P-2",
            idempotency_key=key("p2"),
        )
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.create_refund(
            RefundWrite(
                refund("0.10", payment_id="P-2"),
                customer_ledger_id=customer_id,
                credit_kind="payment",
                credit_ledger_id=full.ledger_id,
                external_ref="csv/refund/R-2",
                idempotency_key=key("r2"),
            )
        )
    assert refused.value.code == "syncledger.no_credit"
    assert xero.sandbox.count("refund") == 1


# --------------------------------------------------------- error translation


def validation(*messages: str) -> object:
    errors = [{"Message": m} for m in messages]
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Elements": [{"ValidationErrors": errors}],
    }


ERRORS = [
    (
        answer(400, validation("Invoice # must be unique.")),
        Translated(PermanentLedgerError, "10", says=("Invoice # must be unique.",)),
    ),
    (
        answer(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException"}),
        Translated(PermanentLedgerError, "14"),
    ),
    (
        answer(401, {"Title": "Unauthorized", "Detail": "TokenExpired: at 1"}),
        Translated(AuthExpiredError, "TokenExpired"),
    ),
    (
        answer(403, {"Detail": "AuthorizationUnsuccessful"}),
        Translated(AuthExpiredError, "AuthorizationUnsuccessful"),
    ),
    (
        answer(404, b"The resource you're looking for cannot be found"),
        Translated(PermanentLedgerError, "404"),
    ),
    (
        answer(429, b"", **{"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}),
        Translated(TransientLedgerError, "429:minute", 7),
    ),
    (
        answer(429, b"", **{"X-Rate-Limit-Problem": "concurrent"}),
        Translated(TransientLedgerError, "429:concurrent"),
    ),
    (
        answer(500, {"ErrorNumber": 500, "Type": "UnknownErrorException"}),
        Translated(XeroServerError, "500"),
    ),
    (
        answer(503, b"Service Unavailable", **{"Retry-After": "5"}),
        Translated(XeroServerError, "503", 5),
    ),
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_xero_refusals_map_to_typed_errors(answer: httpx.Response, expected: Translated) -> None:
    assert translated(translate_xero(answer), expected) == expected


def test_an_element_marked_error_in_a_200_is_a_refusal() -> None:
    failed = {"StatusAttributeString": "ERROR", "ValidationErrors": [{"Message": "Bad"}]}
    error = element_error(failed, "Xero PUT /Contacts")
    assert error is not None and error.code == "10" and "Bad" in str(error)
    assert element_error({"StatusAttributeString": "OK"}, "Xero PUT /Contacts") is None


def test_the_default_mapping_loads_and_has_a_digest() -> None:
    mapping = load_mapping()
    assert mapping.version == "xero-1" and len(mapping.digest) == 64
    assert mapping.reference_field == {
        "customer": "ContactNumber",
        "invoice": "Reference",
        "credit_note": "Reference",
        "payment": "Reference",
    }
    body = mapping.customer_body(customer(phone="+64 21 555", email="a@b.co"), "csv/customer/C-1")
    assert body["Phones"] == [{"PhoneType": "DEFAULT", "PhoneNumber": "+64 21 555"}]
    assert (body["EmailAddress"], body["ContactNumber"]) == ("a@b.co", "csv/customer/C-1")


def test_a_broken_mapping_is_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "xero.toml"
    broken.write_text('version = "x"\n')
    with pytest.raises(ConfigurationError):
        load_mapping(broken)
