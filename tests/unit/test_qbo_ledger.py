"""QboLedger against the QBO sandbox in-process: what QBO-specific behaviour adds to the
ledger contract (tests/unit/test_qbo_contract.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.qbo.errors import translate_qbo
from syncledger.adapters.qbo.items import qbo_literal
from syncledger.adapters.qbo.ledger import BatchItem, QboLedger, request_id
from syncledger.adapters.qbo.links import allocations, credit_applied_to, payment_applied_to
from syncledger.adapters.qbo.mapping import (
    REF_MARKER,
    QboMapping,
    load_mapping,
    ref_in,
    ref_note,
    with_ref,
)
from syncledger.core.errors import (
    AuthExpiredError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import Invoice, InvoiceLine, Refund
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerUpdate,
    CustomerWrite,
    InvoiceUpdate,
    InvoiceWrite,
    ItemWrite,
    LedgerRecord,
    PaymentWrite,
    RefundWrite,
    VoidWrite,
    WriteSteps,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.contracts.steps_contract import StepsUnderTest
from tests.support import documents
from tests.support.documents import (
    apply_payment,
    create_credit_note,
    credit_note,
    customer,
    invoice,
    payment,
    push_customer,
    push_invoice,
)
from tests.support.qbo import InProcessQbo, in_process_qbo
from tests.support.writes import pay_invoice, update_invoice


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    async with closed_after(in_process_qbo(per_second=50, per_minute=2000)) as env:
        yield env


async def pay(ledger: QboLedger, customer_id: str, invoice_id: str, amount: str) -> None:
    await apply_payment(ledger, customer_id, invoice_id, payment(amount))


async def push_credit_note(
    ledger: QboLedger, customer_id: str, invoice_id: str | None, total: str = "0.25"
) -> str:
    pushed = await create_credit_note(
        ledger, customer_id, credit_note(total, invoice_id="INV-1"), invoice_id
    )
    return pushed.ledger_id


async def fetch(ledger: QboLedger, kind: str, ledger_id: str) -> LedgerRecord:
    record = await ledger.get(kind, ledger_id)
    assert record is not None, f"{kind} {ledger_id} is not in the book"
    return record


# ----------------------------------------------------------------- requestid


def test_requestid_is_deterministic_and_fits_qbo_limits() -> None:
    digest = key("csv/invoice/INV-1", "v1", "qbo")
    assert request_id(digest) == digest[:50]
    assert request_id("not a digest: csv/invoice/1") == request_id("not a digest: csv/invoice/1")
    assert len(request_id("not a digest")) == 50
    assert request_id("not a digest") != request_id("not a digest!")
    assert len(request_id(digest, 36)) == 36


_REFS = st.from_regex(r"[a-z]{1,8}/[a-z_]{1,12}/[A-Za-z0-9.-]{1,20}", fullmatch=True)
_NOTES = st.text().filter(lambda text: REF_MARKER not in text)


@given(text=_NOTES, old=_REFS, new=_REFS)
def test_our_reference_is_put_into_a_note_keeping_its_text(text: str, old: str, new: str) -> None:
    noted = with_ref(text, old)
    assert ref_in(noted) == old
    assert noted.startswith(text.rstrip())
    assert with_ref(noted, old) == noted
    moved = with_ref(noted, new)
    assert ref_in(moved) == new
    assert moved == noted.replace(ref_note(old), ref_note(new))


def test_query_literals_escape_quotes() -> None:
    assert qbo_literal("O'Brien \\ Co") == r"'O\'Brien \\ Co'"


# ---------------------------------------------------------------- customers


async def test_find_sees_inactive_customers_and_nothing_else(qbo: InProcessQbo) -> None:
    ledger_id = await push_customer(qbo.ledger)
    await push_customer(qbo.ledger, 2)
    stored = qbo.sandbox.book.get("Customer", ledger_id) or {}
    qbo.sandbox.book.put("Customer", stored | {"Active": False})
    found = await qbo.ledger.find("customer", "csv/customer/C-1")
    assert found is not None
    assert (found.ledger_id, found.status) == (ledger_id, "inactive")
    assert await qbo.ledger.find("customer", "csv/customer/C-3") is None


@pytest.mark.parametrize(("window", "found"), [(timedelta(microseconds=1), False), (None, True)])
async def test_find_looks_only_inside_its_window(window: timedelta | None, found: bool) -> None:
    env = in_process_qbo(ledger_options={"find_window": window})
    await push_customer(env.ledger)
    await asyncio.sleep(0.001)
    assert (await env.ledger.find("customer", "csv/customer/C-1") is not None) is found
    await env.ledger.aclose()


# ------------------------------------------------------------ payments, void


async def test_a_full_payment_marks_the_invoice_paid_and_void_fetches_the_token(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    pushed = await qbo.ledger.create_invoice(
        InvoiceWrite(
            invoice(),
            customer_ledger_id=customer_id,
            external_ref="r/i/1",
            idempotency_key=key("i"),
        )
    )
    paid = await apply_payment(
        qbo.ledger, customer_id, pushed.ledger_id, payment(reference="CHK 1")
    )
    record = await qbo.ledger.get("invoice", pushed.ledger_id)
    assert record is not None and (record.status, record.balance) == ("paid", Decimal(0))
    found = await qbo.ledger.find("payment", "csv/payment/P-1")
    assert found is not None and found.ledger_id == paid.ledger_id
    assert (found.name, found.total) == ("CHK 1", Decimal("0.30"))
    voided = await qbo.ledger.void_invoice(
        VoidWrite(pushed.ledger_id, version=None, idempotency_key="v")
    )
    assert voided.version == str(int(record.version or 0) + 1)
    with pytest.raises(StaleVersionError):
        await qbo.ledger.void_invoice(
            VoidWrite(pushed.ledger_id, version="0", idempotency_key="v2")
        )


# ------------------------------------------------- overpayments and refunds


async def overpay(
    ledger: QboLedger, customer_id: str, invoice_id: str, amount: str, applied: str, n: int = 1
) -> str:
    doc = payment(amount, n)
    return await pay_invoice(ledger, customer_id, invoice_id, doc, applied, n=n, ref=f"P-{n}")


def a_refund(amount: str, **credit: str) -> Refund:
    return documents.refund(amount, reference="CHQ 1001", **credit)


async def refund(
    ledger: QboLedger,
    customer_id: str,
    credit_id: str,
    refund: Refund,
    key_part: str = "r",
    steps: WriteSteps | None = None,
) -> str:
    pushed = await ledger.create_refund(
        RefundWrite(
            refund,
            customer_ledger_id=customer_id,
            credit_kind=refund.credit_kind,
            credit_ledger_id=credit_id,
            external_ref="csv/refund/R-1",
            idempotency_key=key(key_part),
            steps=steps,
        )
    )
    return pushed.ledger_id


async def test_an_overpayment_is_one_payment_whose_line_applies_only_the_invoice_balance(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    payment_id = await overpay(qbo.ledger, customer_id, invoice_id, "0.50", applied="0.30")
    [stored] = qbo.sandbox.records("payment")
    assert (stored["Id"], stored["TotalAmt"], stored["UnappliedAmt"]) == (
        payment_id,
        Decimal("0.50"),
        Decimal("0.20"),
    )
    assert [(ln["Amount"], ln["LinkedTxn"]) for ln in stored["Line"]] == [
        (Decimal("0.30"), [{"TxnId": invoice_id, "TxnType": "Invoice"}])
    ]
    assert (await fetch(qbo.ledger, "invoice", invoice_id)).status == "paid"
    # nothing applied: a payment without any line, all of it unapplied
    second = await overpay(qbo.ledger, customer_id, invoice_id, "0.40", applied="0", n=2)
    unapplied = qbo.sandbox.book.get("Payment", second) or {}
    assert (unapplied["TotalAmt"], unapplied["UnappliedAmt"]) == (Decimal("0.40"),) * 2
    assert unapplied.get("Line", []) == []


async def test_a_credit_note_refund_is_a_cheque_on_receivables_paid_by_the_credit_memo(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    memo_id = await push_credit_note(qbo.ledger, customer_id, None, total="0.25")
    refund_id = await refund(
        qbo.ledger, customer_id, memo_id, a_refund("0.10", credit_note_id="CN-1")
    )
    [check] = qbo.sandbox.records("refund")
    assert check["Id"] == refund_id
    assert (check["PaymentType"], check["AccountRef"], check["EntityRef"]) == (
        "Check",
        {"value": "35"},
        {"value": customer_id, "type": "Customer"},
    )
    assert [
        (ln["Amount"], ln["AccountBasedExpenseLineDetail"]["AccountRef"]) for ln in check["Line"]
    ] == [(Decimal("0.10"), {"value": "84"})]
    assert (check["DocNumber"], ref_in(check["PrivateNote"])) == ("CHQ 1001", "csv/refund/R-1")
    [link] = qbo.sandbox.records("payment")
    assert link["TotalAmt"] == 0
    assert [(ln["Amount"], ln["LinkedTxn"]) for ln in link["Line"]] == [
        (Decimal("0.10"), [{"TxnId": refund_id, "TxnType": "Check"}]),
        (Decimal("0.10"), [{"TxnId": memo_id, "TxnType": "CreditMemo"}]),
    ]
    assert link["PrivateNote"] == "syncledger-applies: csv/refund/R-1"
    memo = await fetch(qbo.ledger, "credit_note", memo_id)
    assert (memo.balance, memo.raw["RemainingCredit"]) == (Decimal("0.15"), Decimal("0.15"))
    assert [r.ledger_id async for r in qbo.ledger.list_all("payment")] == []
    listed = [r async for r in qbo.ledger.list_all("refund")]
    assert [(r.ledger_id, r.total, r.customer_ledger_id) for r in listed] == [
        (refund_id, Decimal("0.10"), customer_id)
    ]


async def test_an_overpayment_refund_adds_a_cheque_line_to_the_payment_itself(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    payment_id = await overpay(qbo.ledger, customer_id, invoice_id, "0.50", applied="0.30")
    refund_id = await refund(
        qbo.ledger, customer_id, payment_id, a_refund("0.20", payment_id="P-1")
    )
    [stored] = qbo.sandbox.records("payment")  # no second payment: the credit is spent in place
    assert (stored["Id"], stored["TotalAmt"], stored["UnappliedAmt"]) == (
        payment_id,
        Decimal("0.50"),
        0,
    )
    assert [(ln["Amount"], ln["LinkedTxn"][0]["TxnType"]) for ln in stored["Line"]] == [
        (Decimal("0.30"), "Invoice"),
        (Decimal("0.20"), "Check"),
    ]
    assert stored["Line"][1]["LinkedTxn"][0]["TxnId"] == refund_id
    assert ref_in(stored["PrivateNote"]) == "csv/payment/P-1"  # the sparse update kept it
    assert (await fetch(qbo.ledger, "invoice", invoice_id)).balance == 0


async def test_a_refund_of_another_customer_or_currency_is_refused_with_its_own_code(
    qbo: InProcessQbo,
) -> None:
    """Another customer's credit is every adapter's credit_of_another_customer (that
    reason wins when the currency differs too); only another currency is
    credit_in_another_currency."""
    owner = await push_customer(qbo.ledger)
    stranger = await push_customer(qbo.ledger, 2)
    memo_id = await push_credit_note(qbo.ledger, owner, None, total="0.25")
    euro = a_refund("0.10", credit_note_id="CN-1").model_copy(update={"currency": "EUR"})
    tries = {
        "customer": (stranger, a_refund("0.10", credit_note_id="CN-1")),
        "both": (stranger, euro),
        "currency": (owner, euro),
    }
    codes = {}
    for case, (customer_id, money) in tries.items():
        with pytest.raises(PermanentLedgerError) as refused:
            await refund(qbo.ledger, customer_id, memo_id, money, key_part=case)
        codes[case] = refused.value.code
    assert codes == {
        "customer": "syncledger.credit_of_another_customer",
        "both": "syncledger.credit_of_another_customer",
        "currency": "syncledger.credit_in_another_currency",
    }
    assert qbo.sandbox.count("refund") == 0
    assert (await fetch(qbo.ledger, "credit_note", memo_id)).balance == Decimal("0.25")


async def test_a_crash_between_the_cheque_and_its_link_is_completed_by_a_retry() -> None:
    env = in_process_qbo(timeout=0.3)
    customer_id = await push_customer(env.ledger)
    memo_id = await push_credit_note(env.ledger, customer_id, None, total="0.25")
    env.sandbox.commit_then_timeout_next(env.retry.attempts)
    journal = StepsUnderTest(key("r"))  # the record's journal, as the sync keeps it
    with pytest.raises(TransientLedgerError):
        await refund(
            env.ledger, customer_id, memo_id, a_refund("0.25", credit_note_id="CN-1"), steps=journal
        )
    assert env.sandbox.count("refund") == 1  # the cheque is written, the credit not spent
    assert await env.ledger.find("refund", "csv/refund/R-1") is None  # so not done yet
    assert (await fetch(env.ledger, "credit_note", memo_id)).balance == Decimal("0.25")
    assert env.sandbox.book.forget_replies("refund") == 1  # even if QBO forgot the requestid
    refund_id = await refund(
        env.ledger, customer_id, memo_id, a_refund("0.25", credit_note_id="CN-1"), steps=journal
    )
    assert (journal.names, journal.finds) == (["check", "link"], 1)  # the cheque was found
    found = await env.ledger.find("refund", "csv/refund/R-1")
    assert found is not None and found.ledger_id == refund_id
    assert (env.sandbox.count("refund"), env.sandbox.count("payment")) == (1, 1)
    assert (await fetch(env.ledger, "credit_note", memo_id)).balance == 0
    await env.ledger.aclose()


async def test_the_tax_id_is_sent_but_qbo_cannot_match_on_it(qbo: InProcessQbo) -> None:
    assert qbo.ledger.capabilities.matches_tax_id is False
    assert "refund" in qbo.ledger.capabilities.kinds
    await qbo.ledger.create_customer(
        CustomerWrite(
            customer(1, tax_id="DE136695976"),
            external_ref="csv/customer/C-1",
            idempotency_key=key("c"),
        )
    )
    [stored] = qbo.sandbox.records("customer")
    assert stored["PrimaryTaxIdentifier"] == "XXXXXXX5976"  # what QBO gives back: masked


# ------------------------------------------------------------------ updates


async def test_an_update_keeps_the_text_a_person_wrote_around_our_reference(
    qbo: InProcessQbo,
) -> None:
    ledger_id = await push_customer(qbo.ledger)
    stored = qbo.sandbox.book.get("Customer", ledger_id) or {}
    edited = qbo.sandbox.book.put("Customer", stored | {"Notes": f"Call Bob\n{stored['Notes']}"})
    changed = customer(1, email="ap@customer.example", phone="+1 555 0100")
    pushed = await qbo.ledger.update_customer(
        CustomerUpdate(
            changed,
            ledger_id=ledger_id,
            version=None,  # the current token is read
            external_ref="csv/customer/C-1",
            idempotency_key=key("cu"),
        )
    )
    [now] = qbo.sandbox.records("customer")
    assert pushed.version == now["SyncToken"] == str(int(edited["SyncToken"]) + 1)
    assert now["PrimaryEmailAddr"] == {"Address": "ap@customer.example"}
    assert now["Notes"] == "Call Bob\nsyncledger-ref: csv/customer/C-1"
    found = await qbo.ledger.find("customer", "csv/customer/C-1")
    assert found is not None and found.ledger_id == ledger_id


async def test_an_invoice_update_can_drop_the_tax_and_keeps_payments_applied(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    taxed = invoice(
        total="0.33",
        lines=(
            InvoiceLine(description="a", quantity="1", unit_price="0.10", tax_amount="0.01"),
            InvoiceLine(description="b", quantity="1", unit_price="0.20", tax_amount="0.02"),
        ),
    )
    invoice_id = await push_invoice(qbo.ledger, customer_id, taxed)
    await pay(qbo.ledger, customer_id, invoice_id, "0.13")
    version = (await fetch(qbo.ledger, "invoice", invoice_id)).version
    await qbo.ledger.update_invoice(
        InvoiceUpdate(
            invoice(),  # the same lines without tax: 0.30
            ledger_id=invoice_id,
            version=version,
            customer_ledger_id=customer_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key=key("iu"),
        )
    )
    record = await fetch(qbo.ledger, "invoice", invoice_id)
    assert (record.total, record.balance, record.status) == (
        Decimal("0.30"),
        Decimal("0.17"),
        "partially_paid",
    )
    assert record.raw["TxnTaxDetail"]["TotalTax"] == 0
    assert record.external_ref == "csv/invoice/INV-1"
    with pytest.raises(StaleVersionError):
        await update_invoice(qbo.ledger, customer_id, invoice_id, taxed, version, 2)
    assert (await fetch(qbo.ledger, "invoice", invoice_id)).total == Decimal("0.30")


# ------------------------------------------------------------- credit notes


async def test_a_credit_note_without_an_invoice_stays_as_the_customers_credit(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    memo_id = await push_credit_note(qbo.ledger, customer_id, None)
    record = await fetch(qbo.ledger, "credit_note", memo_id)
    assert (record.name, record.total, record.balance, record.status) == (
        "CN-1",
        Decimal("0.25"),
        Decimal("0.25"),
        "open",
    )
    assert (record.customer_ledger_id, record.external_ref) == (
        customer_id,
        "csv/credit_note/CN-1",
    )
    assert [r.ledger_id async for r in qbo.ledger.list_all("credit_note")] == [memo_id]
    assert qbo.sandbox.count("payment") == 0
    assert await qbo.ledger.get("credit_note", "987654") is None


async def test_a_credit_note_beyond_the_open_balance_applies_what_is_owed(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    await pay(qbo.ledger, customer_id, invoice_id, "0.20")
    memo_id = await push_credit_note(qbo.ledger, customer_id, invoice_id, total="0.25")
    paid = await fetch(qbo.ledger, "invoice", invoice_id)
    assert (paid.balance, paid.status) == (Decimal(0), "paid")
    memo = await fetch(qbo.ledger, "credit_note", memo_id)
    assert (memo.balance, memo.status) == (Decimal("0.15"), "partially_applied")
    _, application = qbo.sandbox.records("payment")
    assert application["TotalAmt"] == 0
    assert [(ln["Amount"], ln["LinkedTxn"][0]["TxnType"]) for ln in application["Line"]] == [
        (Decimal("0.10"), "Invoice"),
        (Decimal("0.10"), "CreditMemo"),
    ]
    assert application["PrivateNote"] == "syncledger-applies: csv/credit_note/CN-1"
    assert await qbo.ledger.find("payment", "csv/credit_note/CN-1") is None


async def test_a_credit_note_is_not_applied_twice_when_qbo_forgets_the_requestid(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    first = await push_credit_note(qbo.ledger, customer_id, invoice_id, total="0.25")
    assert qbo.sandbox.book.forget_replies("payment") == 1
    again = await push_credit_note(qbo.ledger, customer_id, invoice_id, total="0.25")
    assert again == first
    assert (qbo.sandbox.count("credit_note"), qbo.sandbox.count("payment")) == (1, 1)
    assert (await fetch(qbo.ledger, "invoice", invoice_id)).balance == Decimal("0.05")


async def test_a_crash_between_the_credit_memo_and_its_application_is_completed_by_a_retry() -> (
    None
):
    env = in_process_qbo(timeout=0.3)
    customer_id = await push_customer(env.ledger)
    invoice_id = await push_invoice(env.ledger, customer_id)
    env.sandbox.commit_then_timeout_next(env.retry.attempts)
    with pytest.raises(TransientLedgerError):
        await push_credit_note(env.ledger, customer_id, invoice_id)
    found = await env.ledger.find("credit_note", "csv/credit_note/CN-1")
    assert found is not None and found.status == "open"  # created, not yet applied
    assert (await fetch(env.ledger, "invoice", invoice_id)).balance == Decimal("0.30")
    assert await push_credit_note(env.ledger, customer_id, invoice_id) == found.ledger_id
    assert (await fetch(env.ledger, "invoice", invoice_id)).balance == Decimal("0.05")
    assert (await fetch(env.ledger, "credit_note", found.ledger_id)).status == "applied"
    assert (env.sandbox.count("credit_note"), env.sandbox.count("payment")) == (1, 1)
    await env.ledger.aclose()


async def test_a_credit_note_for_another_customers_invoice_is_refused_before_writing(
    qbo: InProcessQbo,
) -> None:
    invoice_id = await push_invoice(qbo.ledger, await push_customer(qbo.ledger, 1))
    other = await push_customer(qbo.ledger, 2)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_credit_note(qbo.ledger, other, invoice_id)
    assert refused.value.code == "syncledger.credit_target"
    assert qbo.sandbox.count("credit_note") == 0


# ------------------------------------------------------------- applications


async def test_a_listing_of_credit_notes_reads_the_payments_once(qbo: InProcessQbo) -> None:
    customer_id = await push_customer(qbo.ledger)
    memo = await push_credit_note(
        qbo.ledger, customer_id, await push_invoice(qbo.ledger, customer_id)
    )
    asked = len(qbo.transport.queries("Payment"))
    listed = [r async for r in qbo.ledger.list_all("credit_note")]
    assert [r.ledger_id for r in listed] == [memo]
    assert len(qbo.transport.queries("Payment")) == asked + 1


def test_credit_in_a_payment_pays_its_charges_in_line_order_before_its_money() -> None:
    def line(amount: str, txn_type: str, txn_id: str) -> dict[str, Any]:
        return {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}

    payment = {  # a person's payment: 50 of money and credit memo M's 40 on two invoices
        "Id": "P",
        "TotalAmt": Decimal("50"),
        "Line": [
            line("60", "Invoice", "A"),
            line("30", "Invoice", "B"),
            line("40", "CreditMemo", "M"),
        ],
    }
    assert payment_applied_to(payment) == (("A", Decimal("20")), ("B", Decimal("30")))
    assert credit_applied_to("M", [payment]) == (("A", Decimal("40")),)
    assert credit_applied_to("other", [payment]) == ()


@given(
    charges=st.lists(st.decimals(min_value="0.01", max_value="1000", places=2), max_size=4),
    credits=st.lists(st.decimals(min_value="0.01", max_value="1000", places=2), max_size=4),
)
def test_a_payments_allocations_pay_each_charge_exactly_and_spend_no_more_credit(
    charges: list[Decimal], credits: list[Decimal]
) -> None:
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": f"I{n}", "TxnType": "Invoice"}]}
        for n, amount in enumerate(charges)
    ] + [
        {"Amount": amount, "LinkedTxn": [{"TxnId": f"M{n}", "TxnType": "CreditMemo"}]}
        for n, amount in enumerate(credits)
    ]
    found = allocations({"Id": "P", "Line": lines})
    for n, amount in enumerate(charges):
        assert sum(a.amount for a in found if a.charge.txn_id == f"I{n}") == amount
    for n, amount in enumerate(credits):
        spent = sum(a.amount for a in found if a.source and a.source.txn_id == f"M{n}")
        assert spent <= amount
    money = sum(a.amount for a in found if a.source is None)
    assert money == max(Decimal(0), sum(charges, Decimal(0)) - sum(credits, Decimal(0)))


# ---------------------------------------------------------------------- CDC


async def test_changes_report_credit_notes_and_what_their_application_changed(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    since = (await fetch(qbo.ledger, "invoice", invoice_id)).updated_at
    assert since is not None
    memo_id = await push_credit_note(qbo.ledger, customer_id, invoice_id, total="0.30")
    changed = [r async for r in qbo.ledger.changes(since + timedelta(microseconds=1))]
    assert {(r.kind, r.ledger_id, r.status) for r in changed if r.kind != "payment"} == {
        ("invoice", invoice_id, "paid"),
        ("credit_note", memo_id, "applied"),
    }
    assert [r.total for r in changed if r.kind == "payment"] == [Decimal(0)]


# -------------------------------------------------------------------- batch


async def test_batch_splits_into_chunks_of_thirty_and_keeps_item_order(
    qbo: InProcessQbo,
) -> None:
    items = [BatchItem("create", "customer", {"DisplayName": f"Batch {n}"}) for n in range(34)]
    items.append(BatchItem("create", "customer", {"DisplayName": "Batch 3"}))  # duplicate
    items.append(BatchItem("query", "customer", "select * from Customer maxresults 1000"))
    results = await qbo.ledger.batch(items, idempotency_key=key("batch"))
    assert [r.records[0].name for r in results[:34]] == [f"Batch {n}" for n in range(34)]
    assert isinstance(results[34].error, PermanentLedgerError)
    assert results[34].error.code == "6240"
    assert len(results[35].records) == 34
    again = await qbo.ledger.batch(items, idempotency_key=key("batch"))
    assert [r.records[0].ledger_id for r in again[:34]] == [
        r.records[0].ledger_id for r in results[:34]
    ]
    assert qbo.sandbox.count("customer") == 34


# --------------------------------------------------------- error translation


def fault(
    code: str, message: str = "m", detail: str = "d", kind: str = "ValidationFault"
) -> object:
    error = {"Message": message, "Detail": detail, "code": code, "element": ""}
    return {"Fault": {"Error": [error], "type": kind}, "time": "t"}


THROTTLED_XML = (
    b'<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>message='
    b"ThrottleExceeded; errorCode=003001; statusCode=429</Message></Error></Fault>"
    b"</IntuitResponse>"
)
ERRORS = [
    (
        answer(429, fault("3001", "message=ThrottleExceeded", "", "SERVICE")),
        Translated(TransientLedgerError, "003001", 60),
    ),
    (answer(429, THROTTLED_XML), Translated(TransientLedgerError, "003001", 60)),
    (answer(401, fault("3200", kind="AuthenticationFault")), Translated(AuthExpiredError, "3200")),
    (answer(400, fault("5010")), Translated(StaleVersionError, "5010")),
    (
        answer(503, b"Service Unavailable", **{"Retry-After": "5"}),
        Translated(TransientLedgerError, "503", 5),
    ),
    (  # no QBO Fault
        answer(503, b'{"error": "upstream unavailable"}'),
        Translated(TransientLedgerError, "503"),
    ),
    (
        answer(400, fault("6240", "Duplicate Name Exists Error")),
        Translated(PermanentLedgerError, "6240", says=("Duplicate Name",)),
    ),
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_qbo_faults_map_to_typed_errors(answer: httpx.Response, expected: Translated) -> None:
    assert translated(translate_qbo(answer), expected) == expected


def test_the_default_mapping_loads_and_has_a_digest() -> None:
    mapping = load_mapping()
    assert mapping.version == "qbo-1"
    assert len(mapping.digest) == 64
    assert mapping.ref_field == {
        "customer": "Notes",
        "invoice": "PrivateNote",
        "payment": "PrivateNote",
        "credit_note": "PrivateNote",
        "refund": "PrivateNote",
    }
    assert mapping.fields["customer"]["name"] == ("DisplayName", "CompanyName")
    # no [refund] table in the default mapping file: Intuit's sample company accounts
    assert (mapping.refund["bank_account_ref"], mapping.refund["receivable_account_ref"]) == (
        "35",
        "84",
    )


async def test_create_many_sends_documents_through_batch_and_credit_notes_alone() -> None:
    from syncledger.core.ports import BatchCreator, PushResult
    from tests.contracts.ledger_contract import LedgerContract, key
    from tests.support.qbo import in_process_qbo

    qbo = in_process_qbo(per_second=50)
    contract = LedgerContract()
    assert isinstance(qbo.ledger, BatchCreator)
    customer = await qbo.ledger.create_customer(
        CustomerWrite(
            contract.customer(), external_ref="csv/customer/C-1", idempotency_key=key("c")
        )
    )
    invoices = [
        InvoiceWrite(contract.invoice(n), customer.ledger_id, f"csv/invoice/INV-{n}", key("i", n))
        for n in range(1, 36)
    ]
    results = await qbo.ledger.create_many(invoices, batch_key=key("batch"))
    assert all(isinstance(r, PushResult) for r in results)
    assert qbo.sandbox.count("invoice") == 35
    first = results[0]
    assert isinstance(first, PushResult)
    tail = [
        CreditNoteWrite(
            contract.credit_note(),
            customer.ledger_id,
            first.ledger_id,
            "csv/credit_note/CN-1",
            key("cn"),
        ),
        PaymentWrite(
            contract.payment("10.00"),
            customer.ledger_id,
            first.ledger_id,
            "csv/payment/PAY-1",
            key("p"),
        ),
    ]
    tail.append(
        PaymentWrite(
            contract.payment("300.00", n=2),
            customer.ledger_id,
            results[1].ledger_id if isinstance(results[1], PushResult) else "",
            "csv/payment/PAY-2",
            key("p", 2),
            applied=Decimal("225.45"),
        )
    )
    again = await qbo.ledger.create_many(tail, batch_key=key("batch", 2))
    assert all(isinstance(r, PushResult) for r in again)
    assert qbo.sandbox.count("credit_note") == 1
    # the sandbox holds our payment and the zero payment applying the credit note; the
    # adapter lists only ours (the other belongs to the credit note)
    assert qbo.sandbox.count("payment") == 3
    ours = [r async for r in qbo.ledger.list_all("payment")]
    assert [(r.external_ref, r.total, r.balance) for r in ours] == [
        ("csv/payment/PAY-1", Decimal("10.00"), 0),
        ("csv/payment/PAY-2", Decimal("300.00"), Decimal("74.55")),  # batch passes `applied`
    ]
    # the same batch resent (a lost answer) is replayed, not applied twice
    await qbo.ledger.create_many(invoices, batch_key=key("batch"))
    assert qbo.sandbox.count("invoice") == 35
    await qbo.ledger.aclose()


async def test_create_many_runs_a_credit_notes_two_writes_through_its_journal(
    qbo: InProcessQbo,
) -> None:
    from syncledger.core.ports import PushResult

    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id)
    journal = StepsUnderTest(key("cn"))
    request = CreditNoteWrite(
        credit_note("0.25", invoice_id="INV-1"),
        customer_id,
        invoice_id,
        "csv/credit_note/CN-1",
        key("cn"),
        journal,
    )
    [result] = await qbo.ledger.create_many([request], batch_key=key("batch"))
    assert isinstance(result, PushResult)
    assert journal.names == ["credit_memo", "apply"]
    assert [s.ledger_id for s in journal.logged.values() if s] == [
        result.ledger_id,
        qbo.sandbox.records("payment")[0]["Id"],
    ]
    memo = await fetch(qbo.ledger, "credit_note", result.ledger_id)
    assert memo.applied_to == ((invoice_id, Decimal("0.25")),)


# -------------------------------------------------------------------- items


def booked(doc: Invoice, *codes: str | None) -> Invoice:
    """``doc`` with its lines booked to ``codes`` in order (None: the default item)."""
    lines = tuple(
        ln.model_copy(update={"item_code": code})
        for ln, code in zip(doc.lines, codes, strict=False)
    )
    return doc.model_copy(update={"lines": lines + doc.lines[len(lines) :]})


def someone_adds_item(env: InProcessQbo, name: str) -> str:
    """An item made in QBO by someone else (not through the adapter)."""
    body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    return str(env.sandbox.write("item", None, body)["Item"]["Id"])


def sent_item_refs(sent: httpx.Request | dict[str, Any]) -> list[Any]:
    """The ItemRefs of the lines of an invoice sent (a request, or a batch item)."""
    body = decode_json(sent.content) if isinstance(sent, httpx.Request) else sent["Invoice"]
    lines = body["Line"]
    return [ln["SalesItemLineDetail"]["ItemRef"] for ln in lines if "SalesItemLineDetail" in ln]


async def test_a_line_with_an_item_code_is_sent_with_the_items_id(qbo: InProcessQbo) -> None:
    made = await qbo.ledger.create_item(ItemWrite("SVC-AUDIT-7", idempotency_key=key("item")))
    [post] = qbo.transport.posts("item")
    assert decode_json(post.content) == {
        "Name": "SVC-AUDIT-7",
        "Type": "Service",
        "IncomeAccountRef": {"value": "1"},  # the default Services item's income account
    }
    assert post.url.params["requestid"] == request_id(key("item"))
    customer_id = await push_customer(qbo.ledger)
    await push_invoice(qbo.ledger, customer_id, booked(invoice(), "SVC-AUDIT-7"))
    [sent] = qbo.transport.posts("invoice")
    assert sent_item_refs(sent) == [
        {"value": made.ledger_id, "name": "SVC-AUDIT-7"},
        {"value": "1", "name": "Services"},  # no item code: the mapping's default item
    ]
    [stored] = qbo.sandbox.records("invoice")
    assert stored["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == made.ledger_id


async def test_a_line_may_name_its_item_by_id(qbo: InProcessQbo) -> None:
    ident = someone_adds_item(qbo, "Hours")
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id, booked(invoice(), ident))
    [sent] = qbo.transport.posts("invoice")
    assert sent_item_refs(sent)[0] == {"value": ident, "name": "Hours"}
    assert (await fetch(qbo.ledger, "invoice", invoice_id)).line_items == ("Hours", "Services")


async def test_item_lookups_are_cached_n_invoices_naming_one_code_cost_one_lookup(
    qbo: InProcessQbo,
) -> None:
    someone_adds_item(qbo, "Hours")
    customer_id = await push_customer(qbo.ledger)
    pushed = []
    for n in range(1, 5):
        doc = booked(invoice(), "Hours", "Hours").model_copy(update={"number": f"INV-{n}"})
        result = await qbo.ledger.create_invoice(
            InvoiceWrite(
                doc, customer_ledger_id=customer_id, external_ref=f"r/i/{n}", idempotency_key=key(n)
            )
        )
        pushed.append(result.ledger_id)
    assert qbo.transport.queries("Item") == [
        "SELECT * FROM Item WHERE Name = 'Hours' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    ]
    # reading them back takes the names QBO answers with: no lookup either
    records = [await fetch(qbo.ledger, "invoice", ident) for ident in pushed]
    assert {r.line_items for r in records} == {("Hours", "Hours")}
    assert len(qbo.transport.queries("Item")) == 1


async def test_a_reference_qbo_refuses_is_its_2500_and_the_items_are_looked_up_again(
    qbo: InProcessQbo,
) -> None:
    made = await qbo.ledger.create_item(ItemWrite("Old", idempotency_key=key("item")))
    item = qbo.sandbox.book.get("Item", made.ledger_id)
    assert item is not None
    qbo.sandbox.book.put("Item", item | {"Active": False})  # someone made it inactive
    customer_id = await push_customer(qbo.ledger)
    with pytest.raises(PermanentLedgerError) as refused:  # the adapter still knew it
        await push_invoice(qbo.ledger, customer_id, booked(invoice(), "Old"))
    assert refused.value.code == "2500"
    assert "Invalid Reference Id" in str(refused.value)
    with pytest.raises(PermanentLedgerError) as again:  # looked up afresh: it is gone
        await push_invoice(qbo.ledger, customer_id, booked(invoice(), "Old"))
    assert again.value.code == "unknown_item"
    assert qbo.sandbox.count("invoice") == 0


async def test_a_create_refused_as_a_duplicate_name_returns_the_item_that_has_it(
    qbo: InProcessQbo,
) -> None:
    theirs: list[str] = []

    def racing_user(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/item") and not theirs:
            theirs.append(someone_adds_item(qbo, "svc-race"))  # between our lookup and create

    qbo.transport.before = racing_user
    made = await qbo.ledger.create_item(ItemWrite("SVC-RACE", idempotency_key=key("item")))
    assert made.ledger_id == theirs[0]
    assert made.code == "svc-race"  # QBO's names are unique ignoring case
    assert qbo.sandbox.count("item") == 2


def mapping_with(tmp_path: Path, old: str, new: str) -> QboMapping:
    """The default mapping with ``old`` replaced by ``new``."""
    path = tmp_path / "qbo.toml"
    path.write_text(Path("adapters/qbo/mapping.toml").read_text().replace(old, new))
    return load_mapping(path)


async def test_new_items_book_to_the_income_account_set_in_the_mapping(tmp_path: Path) -> None:
    mapping = mapping_with(tmp_path, 'income_account_ref = ""', 'income_account_ref = "7"')
    env = in_process_qbo(ledger_options={"mapping": mapping})
    made = await env.ledger.create_item(ItemWrite("Ads", idempotency_key=key("item")))
    stored = env.sandbox.book.get("Item", made.ledger_id)
    assert stored is not None
    assert stored["IncomeAccountRef"]["value"] == "7"
    assert env.transport.queries("Item") == [  # only the name: the default item is not read
        "SELECT * FROM Item WHERE Name = 'Ads' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    ]
    await env.ledger.aclose()


async def test_a_line_answered_with_an_item_id_only_is_named_after_one_lookup(
    qbo: InProcessQbo,
) -> None:
    someone_adds_item(qbo, "Hours")
    customer_id = await push_customer(qbo.ledger)
    invoice_id = await push_invoice(qbo.ledger, customer_id, booked(invoice(), None, "Hours"))
    stored = qbo.sandbox.book.get("Invoice", invoice_id)
    assert stored is not None
    for line in stored["Line"]:
        line.get("SalesItemLineDetail", {}).get("ItemRef", {}).pop("name", None)
    qbo.sandbox.book.put("Invoice", stored)  # as if QBO answered ids without names
    before = len(qbo.transport.queries("Item"))
    for _ in range(2):
        assert (await fetch(qbo.ledger, "invoice", invoice_id)).line_items == ("Services", "Hours")
    # "Hours" was met when the invoice was pushed; the default item is looked up once
    assert qbo.transport.queries("Item")[before:] == [
        "SELECT * FROM Item WHERE Id IN ('1') ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    ]


async def test_listing_and_changes_report_the_items_lines_are_booked_to(
    qbo: InProcessQbo,
) -> None:
    someone_adds_item(qbo, "Hours")
    customer_id = await push_customer(qbo.ledger)
    since = datetime.now(UTC) - timedelta(seconds=1)
    await push_invoice(qbo.ledger, customer_id, booked(invoice(), "Hours"))
    [listed] = [r async for r in qbo.ledger.list_all("invoice")]
    changed = [r async for r in qbo.ledger.changes(since) if r.kind == "invoice"]
    assert listed.line_items == ("Hours", "Services")
    assert [r.line_items for r in changed] == [("Hours", "Services")]


async def test_create_many_resolves_every_documents_items_before_the_batch() -> None:
    from syncledger.core.ports import PushResult

    env = in_process_qbo(per_second=50)
    someone_adds_item(env, "Hours")
    customer_id = await push_customer(env.ledger)
    docs = [booked(invoice(), "Hours").model_copy(update={"number": f"INV-{n}"}) for n in range(3)]
    docs.insert(1, booked(invoice(), "NO-SUCH-ITEM").model_copy(update={"number": "INV-X"}))
    requests = [
        InvoiceWrite(doc, customer_id, f"r/i/{doc.number}", key(doc.number)) for doc in docs
    ]
    results = await env.ledger.create_many(requests, batch_key=key("batch"))
    assert [type(r) for r in results] == [PushResult, PermanentLedgerError, PushResult, PushResult]
    refused = results[1]
    assert isinstance(refused, PermanentLedgerError)
    assert refused.code == "unknown_item"
    [batch] = env.transport.posts("batch")
    sent = decode_json(batch.content)["BatchItemRequest"]
    assert [sent_item_refs(item)[0]["name"] for item in sent] == ["Hours"] * 3
    lookups = [r for r in env.transport.requests if "FROM Item" in r.url.params.get("query", "")]
    assert all(
        env.transport.requests.index(r) < env.transport.requests.index(batch) for r in lookups
    )
    assert sum("'Hours'" in q for q in env.transport.queries("Item")) == 1
    assert env.sandbox.count("invoice") == 3
    await env.ledger.aclose()
