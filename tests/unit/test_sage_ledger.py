"""SageLedger against the Sage sandbox in-process: what Sage-specific behaviour adds to the
ledger contract (tests/unit/test_sage_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.oauth2 import MemoryTokenStore
from syncledger.adapters.sage.errors import translate_sage
from syncledger.adapters.sage.ledger import SageLedger, idempotency_id
from syncledger.adapters.sage.mapping import load_mapping, ref_in, ref_token, spread
from syncledger.adapters.sage.sandbox.seed import SALES_LEDGER_ACCOUNT_ID
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    CustomerUpdate,
    CustomerWrite,
    InvoiceWrite,
    ItemWrite,
    LedgerItem,
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
    credit_note,
    customer,
    invoice,
    push_customer,
    push_invoice,
)
from tests.support.sage import (
    BASE_URL,
    BUSINESS,
    InProcessSage,
    RecordingTransport,
    Sent,
    in_process_sage,
    sage_auth,
)
from tests.support.writes import update_invoice


@pytest.fixture
async def sage() -> AsyncIterator[InProcessSage]:
    async with closed_after(in_process_sage(limit=2000)) as env:
        yield env


def payment(amount: str, n: int = 1, reference: str | None = "CHK 1") -> Payment:
    return documents.payment(amount, n, reference=reference)


# ------------------------------------------------------------ idempotency_id


def test_idempotency_ids_are_deterministic_guids_per_resource() -> None:
    digest = key("csv/invoice/INV-1", "v1", "sage")
    first = idempotency_id(digest, "sales_invoices")
    assert first == idempotency_id(digest, "sales_invoices")
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != idempotency_id(digest, "contact_allocations")
    assert first != idempotency_id(key("other"), "sales_invoices")


# ------------------------------------------------------------------- money


@given(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=10**8),
)
def test_a_spread_discount_adds_up_exactly(cents: list[int], wanted: int) -> None:
    nets = [Decimal(c).scaleb(-2) for c in cents]
    discount = min(Decimal(wanted).scaleb(-2), sum(nets, Decimal(0)))
    shares = spread(discount, nets)
    assert sum(shares, Decimal(0)) == discount
    assert all(share >= 0 and share.as_tuple().exponent >= -2 for share in shares)


# ---------------------------------------------------------------- customers


async def test_a_reference_another_contact_holds_moves_to_the_next_candidate(
    sage: InProcessSage,
) -> None:
    """Another system's C-1 holds the code "C-1": ours gets the next candidate (a derived
    one, at most 10 characters) and both are found by their own reference."""
    first = await push_customer(sage.ledger)
    other = await sage.ledger.create_customer(
        CustomerWrite(
            customer(1), external_ref="hubspot/customer/C-1", idempotency_key=key("hubspot")
        )
    )
    assert other.ledger_id != first and not other.recovered
    codes = sage.ledger.mapping.contact_codes("hubspot/customer/C-1")
    stored = {c["id"]: c["reference"] for c in sage.sandbox.records("customer")}
    assert (stored[first], stored[other.ledger_id]) == ("C-1", codes[1])
    assert len(codes[1]) <= 10 and codes[1] != "C-1"
    found = await sage.ledger.find("customer", "hubspot/customer/C-1")
    assert found is not None and found.ledger_id == other.ledger_id
    tries = [
        sent.body["contact"]
        for sent in sage.requests("POST", "/contacts")
        if ref_in(sent.body["contact"]["notes"]) == "hubspot/customer/C-1"
    ]
    assert [t["reference"] for t in tries] == ["C-1", codes[1]]
    assert tries[0]["idempotency_id"] != tries[1]["idempotency_id"]


async def test_every_candidate_reference_taken_is_refused_with_a_reason(
    sage: InProcessSage,
) -> None:
    codes = sage.ledger.mapping.contact_codes("csv/customer/C-9")
    for n, code in enumerate(codes):
        await sage.ledger.create_customer(
            CustomerWrite(
                customer(n), external_ref=f"other/customer/{code}", idempotency_key=key("o", n)
            )
        )
    with pytest.raises(PermanentLedgerError) as refused:
        await sage.ledger.create_customer(
            CustomerWrite(customer(9), external_ref="csv/customer/C-9", idempotency_key=key("c9"))
        )
    assert refused.value.code == "syncledger.reference_taken"
    assert sage.sandbox.count("customer") == len(codes)


@pytest.mark.parametrize(
    "ident",
    ["Ä" * 40, "0f8fad5b-d9cb-469f-a165-70867728950e", "12345678901", "C-1.really-long"],
)
async def test_long_source_ids_get_a_ten_character_reference_that_survives_a_restart(
    sage: InProcessSage, ident: str
) -> None:
    """A UUID or any id over 10 characters: Sage's reference holds at most 10 (swagger
    Contact.reference maxLength 10). The code is derived from the id, so a new adapter
    (a restart, another process) derives it again and finds the contact by it."""
    ref = f"hubspot/customer/{ident}"
    pushed = await sage.ledger.create_customer(
        CustomerWrite(customer(), external_ref=ref, idempotency_key="k")
    )
    [sent] = sage.requests("POST", "/contacts")
    code = sent.body["contact"]["reference"]
    assert len(code) == 10 and code.startswith("SL") and code.isalnum()
    [stored] = sage.sandbox.records("customer")
    assert (stored["reference"], ref_in(stored["notes"])) == (code, ref)
    restarted = SageLedger.connect(
        auth=sage_auth(sage.store),
        business_id=BUSINESS,
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=sage.app),
    )
    found = await restarted.find("customer", ref)
    await restarted.aclose()
    assert found is not None and (found.ledger_id, found.external_ref) == (pushed.ledger_id, ref)
    assert restarted.mapping.contact_code(ref) == code


async def test_versions_change_with_every_edit_even_within_one_second(sage: InProcessSage) -> None:
    ledger_id = await push_customer(sage.ledger)
    versions = set()
    for n in range(3):
        renamed = customer(1, name=f"Renamed {n}")
        record = await sage.ledger.get("customer", ledger_id)
        assert record is not None
        versions.add(record.version)
        await sage.ledger.update_customer(
            CustomerUpdate(
                renamed,
                ledger_id=ledger_id,
                version=record.version,
                external_ref="csv/customer/C-1",
                idempotency_key=key("cu", n),
            )
        )
    assert len(versions) == 3


async def test_an_invoice_does_not_make_its_customers_version_stale(sage: InProcessSage) -> None:
    ledger_id = await push_customer(sage.ledger)
    before = await sage.ledger.get("customer", ledger_id)
    await push_invoice(sage.ledger, ledger_id)  # the contact's balance moves
    after = await sage.ledger.get("customer", ledger_id)
    assert before is not None and after is not None
    assert (before.version, after.balance) == (after.version, Decimal("0.30"))


# ------------------------------------------------------- payments, find, void


async def test_payments_carry_our_reference_and_are_found_by_it(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    paid = await apply_payment(
        sage.ledger, customer_id, invoice_id, payment("0.30", reference="CHEQUE 000123456")
    )
    [stored] = sage.sandbox.records("payment")
    assert stored["reference"] == "CHEQUE 00 csv/payment/P-1"  # ≤ 25
    read = await sage.ledger.get("payment", paid.ledger_id)
    assert read is not None and (read.external_ref, read.name) == ("csv/payment/P-1", "CHEQUE 00")
    found = await sage.ledger.find("payment", "csv/payment/P-1")
    assert found is not None
    assert (found.ledger_id, found.name, found.external_ref) == (
        paid.ledger_id,
        "CHEQUE 00",
        "csv/payment/P-1",
    )
    assert await sage.ledger.find("payment", "csv/payment/P-2") is None
    record = await sage.ledger.get("invoice", invoice_id)
    assert record is not None and (record.status, record.balance) == ("paid", Decimal(0))


async def test_a_reference_too_long_for_sage_is_carried_as_a_token(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    long_ref = "hubspot/payment/" + "9" * 20
    paid = await sage.ledger.apply_payment(
        PaymentWrite(
            payment("0.30", reference="CHEQUE 000123456"),
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=long_ref,
            idempotency_key=key("p"),
        )
    )
    [stored] = sage.sandbox.records("payment")
    assert stored["reference"] == "CHEQUE 00 " + ref_token(long_ref)  # ≤ 25
    read = await sage.ledger.get("payment", paid.ledger_id)
    assert read is not None and (read.external_ref, read.name) == (None, "CHEQUE 00")
    found = await sage.ledger.find("payment", long_ref)
    assert found is not None and (found.ledger_id, found.external_ref) == (paid.ledger_id, long_ref)


@pytest.mark.parametrize(("window", "found"), [(timedelta(seconds=-5), False), (None, True)])
async def test_find_falls_back_to_the_newest_records_inside_its_window(
    window: timedelta | None, found: bool
) -> None:
    env = in_process_sage(ledger_options={"find_window": window})
    customer_id = await push_customer(env.ledger)
    renumbered = invoice(number="A-77")  # the number is not the source id: search misses
    await push_invoice(env.ledger, customer_id, renumbered)
    assert (await env.ledger.find("invoice", "csv/invoice/INV-1") is not None) is found
    await env.ledger.aclose()


async def test_void_is_idempotent_and_checks_the_version(sage: InProcessSage) -> None:
    invoice_id = await push_invoice(sage.ledger, await push_customer(sage.ledger))
    record = await sage.ledger.get("invoice", invoice_id)
    assert record is not None
    voided = await sage.ledger.void_invoice(
        VoidWrite(invoice_id, version=record.version, idempotency_key="v")
    )
    again = await sage.ledger.void_invoice(
        VoidWrite(invoice_id, version=record.version, idempotency_key="v")
    )
    assert (again.ledger_id, again.recovered, again.version) == (invoice_id, True, voided.version)
    after = await sage.ledger.get("invoice", invoice_id)
    assert after is not None and (after.status, after.balance) == ("void", 0)
    with pytest.raises(PermanentLedgerError) as missing:
        await sage.ledger.void_invoice(VoidWrite("f" * 32, version=None, idempotency_key="v"))
    assert missing.value.code == "RecordNotFound"


async def test_a_stale_invoice_update_is_refused_and_changes_nothing(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    before = await sage.ledger.get("invoice", invoice_id)
    assert before is not None
    stale = before.version
    await apply_payment(sage.ledger, customer_id, invoice_id, payment("0.10"))
    bigger = invoice(
        total="0.60", lines=(InvoiceLine(description="c", quantity="2", unit_price="0.30"),)
    )
    with pytest.raises(StaleVersionError):
        await update_invoice(sage.ledger, customer_id, invoice_id, bigger, stale)
    record = await sage.ledger.get("invoice", invoice_id)
    assert record is not None and (record.total, record.balance) == (
        Decimal("0.30"),
        Decimal("0.20"),
    )
    updated = await update_invoice(sage.ledger, customer_id, invoice_id, bigger, record.version)
    after = await sage.ledger.get("invoice", invoice_id)
    assert after is not None and after.version == updated.version
    assert (after.total, after.balance, len(after.raw["invoice_lines"])) == (
        Decimal("0.60"),
        Decimal("0.50"),
        1,
    )


async def test_an_update_sends_only_our_lines_as_the_swagger_documents_a_put(
    sage: InProcessSage,
) -> None:
    """``putSalesInvoices`` lines carry no ``id`` and no ``_destroy``: the PUT names none of
    the old lines, and Sage holds exactly ours afterwards."""
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    current = await sage.ledger.get("invoice", invoice_id)
    assert current is not None
    one_line = invoice(
        total="0.60", lines=(InvoiceLine(description="c", quantity="2", unit_price="0.30"),)
    )
    await update_invoice(sage.ledger, customer_id, invoice_id, one_line, current.version)
    [put] = sage.requests("PUT", f"/sales_invoices/{invoice_id}")
    lines = put.body["sales_invoice"]["invoice_lines"]
    assert [ln["description"] for ln in lines] == ["c"]
    assert not any({"id", "_destroy"} & set(ln) for ln in lines)
    [stored] = sage.sandbox.records("invoice")
    assert [(ln["description"], ln["net_amount"]) for ln in stored["invoice_lines"]] == [
        ("c", Decimal("0.60"))
    ]


async def test_an_update_sage_answers_with_the_old_lines_kept_is_refused(
    sage: InProcessSage,
) -> None:
    """Should Sage add a PUT's lines to the old ones (undocumented either way), the totals
    would double: the adapter reads the answer and refuses instead of counting it done."""
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    current = await sage.ledger.get("invoice", invoice_id)
    assert current is not None
    sage.sandbox.put_keeps_lines = True
    with pytest.raises(PermanentLedgerError) as refused:
        await update_invoice(
            sage.ledger, customer_id, invoice_id, invoice(total="0.30"), current.version
        )
    assert refused.value.code == "syncledger.lines_not_replaced"
    assert "4 lines" in str(refused.value)


async def test_a_document_reads_back_with_the_tax_sage_holds(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    taxed = invoice(
        total="0.34",
        lines=(
            InvoiceLine(description="a", quantity="1", unit_price="0.10", tax_amount="0.02"),
            InvoiceLine(description="b", quantity="1", unit_price="0.20", tax_amount="0.02"),
        ),
    )
    record = await sage.ledger.get("invoice", await push_invoice(sage.ledger, customer_id, taxed))
    assert record is not None and (record.total, record.tax) == (Decimal("0.34"), Decimal("0.04"))
    assert record.tax == record.raw["tax_amount"]


async def test_the_address_is_split_into_sages_fields(sage: InProcessSage) -> None:
    address = "1 Long Street, Building 4\nSuite 200\nSpringfield\nIllinois 62704"
    await sage.ledger.create_customer(
        CustomerWrite(
            customer(1, billing_address=address, contact_name="Ann Example"),
            external_ref="csv/customer/C-1",
            idempotency_key=key("c"),
        )
    )
    [sent] = sage.requests("POST", "/contacts")
    assert sent.body["contact"]["main_address"] == {
        "address_line_1": "1 Long Street, Building 4",
        "address_line_2": "Suite 200",
        "city": "Springfield",
        "region": "Illinois 62704",
    }
    [stored] = sage.sandbox.records("customer")
    assert stored["main_address"]["city"] == "Springfield"


@pytest.mark.parametrize(
    "changes",
    [
        {"billing_address": "1\n2\n3\n4\n5"},  # Sage keeps four address fields
        {"billing_address": "A" * 51},  # Address.address_line_1 maxLength 50
        {"contact_name": "N" * 51},  # ContactPerson.name maxLength 50
        {"name": "N" * 101},  # Contact.name maxLength 100
    ],
)
async def test_what_exceeds_sages_published_lengths_is_refused_before_sending(
    sage: InProcessSage, changes: dict[str, str]
) -> None:
    with pytest.raises(PermanentLedgerError) as refused:
        await sage.ledger.create_customer(
            CustomerWrite(
                customer(1, **changes), external_ref="csv/customer/C-1", idempotency_key=key("c")
            )
        )
    assert refused.value.code == "too_long"
    assert sage.requests("POST", "/contacts") == []


async def test_a_credit_note_without_an_invoice_stays_unapplied(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    note = credit_note()
    pushed = await create_credit_note(sage.ledger, customer_id, note)
    record = await sage.ledger.get("credit_note", pushed.ledger_id)
    assert record is not None and (record.status, record.balance) == ("open", Decimal("5.00"))
    assert sage.sandbox.count("allocation") == 0


# ---------------------------------------------------- overpayments, refunds


def refund(amount: str, n: int = 1, **credit: str) -> Refund:
    return documents.refund(amount, n, reference="BACS back", **credit)


async def overpaid(sage: InProcessSage, amount: str = "0.50", applied: str = "0.30") -> str:
    """A receipt of ``amount`` on the 0.30 invoice, ``applied`` of it allocated."""
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)
    paid = await apply_payment(
        sage.ledger, customer_id, invoice_id, payment(amount), applied=Decimal(applied)
    )
    return paid.ledger_id


async def push_refund(sage: InProcessSage, r: Refund, credit_id: str, n: int = 1) -> str:
    [contact] = sage.sandbox.records("customer")
    pushed = await sage.ledger.create_refund(
        RefundWrite(
            r,
            customer_ledger_id=str(contact["id"]),
            credit_kind=r.credit_kind,
            credit_ledger_id=credit_id,
            external_ref=f"csv/refund/R-{n}",
            idempotency_key=key("r", n),
        )
    )
    return pushed.ledger_id


async def test_an_overpayment_is_one_receipt_with_the_rest_on_account(sage: InProcessSage) -> None:
    payment_id = await overpaid(sage)
    [receipt] = sage.sandbox.records("payment")
    assert receipt["transaction_type"]["id"] == "CUSTOMER_RECEIPT"
    assert receipt["total_amount"] == Decimal("0.50")
    [allocated] = receipt["allocated_artefacts"]
    assert allocated["amount"] == Decimal("0.30")
    on_account = receipt["payment_on_account"]
    assert (on_account["total_amount"], on_account["outstanding_amount"]) == (Decimal("0.20"),) * 2
    assert sage.sandbox.count("credit_note") == 0  # the excess is never booked as a credit note
    record = await sage.ledger.get("payment", payment_id)
    assert record is not None and (record.total, record.balance) == (
        Decimal("0.50"),
        Decimal("0.20"),
    )
    [contact] = sage.sandbox.records("customer")
    assert contact["balance"] == Decimal("-0.20")  # Sage holds it as the customer's credit


async def test_a_receipt_applying_nothing_allocates_nothing(sage: InProcessSage) -> None:
    payment_id = await overpaid(sage, amount="0.50", applied="0")
    [receipt] = sage.sandbox.records("payment")
    assert receipt["allocated_artefacts"] == []
    assert receipt["payment_on_account"]["outstanding_amount"] == Decimal("0.50")
    record = await sage.ledger.get("payment", payment_id)
    assert record is not None and record.balance == Decimal("0.50")
    invoice = await sage.ledger.find("invoice", "csv/invoice/INV-1")
    assert invoice is not None and invoice.balance == Decimal("0.30")


async def test_a_refund_of_an_overpayment_allocates_its_payment_on_account(
    sage: InProcessSage,
) -> None:
    payment_id = await overpaid(sage)
    refund_id = await push_refund(sage, refund("0.15", payment_id="P-1"), payment_id)
    [receipt] = sage.sandbox.records("payment")
    [paid_out] = sage.sandbox.records("refund")
    assert paid_out["id"] == refund_id
    assert paid_out["transaction_type"]["id"] == "CUSTOMER_REFUND"
    assert paid_out["reference"] == "BACS back csv/refund/R-1"
    [allocated] = paid_out["allocated_artefacts"]
    assert allocated["artefact"]["id"] == receipt["payment_on_account"]["id"] != payment_id
    assert allocated["amount"] == paid_out["total_amount"] == Decimal("0.15")
    after = await sage.ledger.get("payment", payment_id)
    assert after is not None and after.balance == Decimal("0.05")
    record = await sage.ledger.get("refund", refund_id)
    assert record is not None
    assert (record.kind, record.total, record.external_ref, record.currency) == (
        "refund",
        Decimal("0.15"),
        "csv/refund/R-1",
        "USD",
    )
    # receipts and refunds share /contact_payments; each kind sees only its own
    assert await sage.ledger.get("payment", refund_id) is None
    assert await sage.ledger.get("refund", payment_id) is None
    assert [r.ledger_id async for r in sage.ledger.list_all("refund")] == [refund_id]
    assert [r.ledger_id async for r in sage.ledger.list_all("payment")] == [payment_id]


async def test_a_receipt_allocated_in_full_has_nothing_to_refund(sage: InProcessSage) -> None:
    payment_id = await overpaid(sage, amount="0.30", applied="0.30")
    assert sage.sandbox.records("payment")[0]["payment_on_account"] is None
    with pytest.raises(PermanentLedgerError) as refused:
        await push_refund(sage, refund("0.10", payment_id="P-1"), payment_id)
    assert refused.value.code == "syncledger.no_credit_to_refund"
    assert sage.sandbox.count("refund") == 0


async def test_a_refund_above_the_credit_left_is_refused_by_sage(sage: InProcessSage) -> None:
    payment_id = await overpaid(sage)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_refund(sage, refund("0.21", payment_id="P-1"), payment_id)
    assert refused.value.code == "RecordInvalid"
    assert "allocated_artefacts.amount" in str(refused.value)
    assert sage.sandbox.count("refund") == 0
    after = await sage.ledger.get("payment", payment_id)
    assert after is not None and after.balance == Decimal("0.20")


async def test_a_refund_whose_answer_was_lost_is_replayed_not_refused() -> None:
    """The first write used the whole credit; the retry must reach the idempotency_id
    replay rather than a pre-check that would see no credit left."""
    env = in_process_sage(timeout=0.3)
    payment_id = await overpaid(env)
    env.sandbox.commit_then_timeout_next(1)
    refund_id = await push_refund(env, refund("0.20", payment_id="P-1"), payment_id)
    assert env.sandbox.count("refund") == 1
    assert env.sandbox.records("refund")[0]["id"] == refund_id
    after = await env.ledger.get("payment", payment_id)
    assert after is not None and after.balance == 0
    await env.ledger.aclose()
    env.sandbox.close()


async def test_a_refund_of_a_credit_note_allocates_the_credit_note(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    note = credit_note()
    pushed = await create_credit_note(sage.ledger, customer_id, note)
    refund_id = await push_refund(sage, refund("2.00", credit_note_id="CN-1"), pushed.ledger_id)
    [paid_out] = sage.sandbox.records("refund")
    assert [a["artefact"]["id"] for a in paid_out["allocated_artefacts"]] == [pushed.ledger_id]
    record = await sage.ledger.get("credit_note", pushed.ledger_id)
    assert record is not None and (record.total, record.balance) == (
        Decimal("5.00"),
        Decimal("3.00"),
    )
    found = await sage.ledger.find("refund", "csv/refund/R-1")
    assert found is not None and found.ledger_id == refund_id


# ------------------------------------------------------------- applications


def goodwill(total: str = "5.00") -> CreditNote:
    return credit_note(total, description="goodwill", invoice_id="INV-1")


async def test_a_credit_note_above_what_the_invoice_owes_is_allocated_only_that(
    sage: InProcessSage,
) -> None:
    customer_id = await push_customer(sage.ledger)
    invoice_id = await push_invoice(sage.ledger, customer_id)  # 0.30
    pushed = await create_credit_note(sage.ledger, customer_id, goodwill("5.00"), invoice_id)
    [allocation] = sage.sandbox.records("allocation")
    assert sorted(a["amount"] for a in allocation["allocated_artefacts"]) == [
        Decimal("-0.30"),
        Decimal("0.30"),
    ]
    note = await sage.ledger.get("credit_note", pushed.ledger_id)
    assert note is not None and note.balance == Decimal("4.70")
    assert note.applied_to == ((invoice_id, Decimal("0.30")),)
    paid = await sage.ledger.get("invoice", invoice_id)
    assert paid is not None and (paid.balance, paid.status) == (Decimal(0), "paid")


# ------------------------------------------------------------- limits, auth


async def test_another_business_is_refused_with_sages_code() -> None:
    env = in_process_sage()
    other = SageLedger.connect(
        auth=sage_auth(MemoryTokenStore(), refresh_token=env.sandbox.oauth.grant()),
        business_id="f" * 32,
        base_url="http://sage.sandbox.test/v3.1",
        transport=httpx.ASGITransport(app=env.app),
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await other.get("customer", "1")
    assert refused.value.code == "MultiUserAccessDenied"
    await other.aclose()
    await env.ledger.aclose()


# ------------------------------------------------------------------- items


def with_items(*codes: str | None, n: int = 1) -> Invoice:
    """``invoice()`` number INV-``n`` whose lines name the items ``codes`` (None: none)."""
    base = invoice(id=f"INV-{n}", number=f"INV-{n}")
    lines = tuple(
        line.model_copy(update={"item_code": code})
        for line, code in zip(base.lines, codes, strict=True)
    )
    return base.model_copy(update={"lines": lines})


async def push_numbered(sage: InProcessSage, customer_id: str, document: Invoice) -> str:
    pushed = await sage.ledger.create_invoice(
        InvoiceWrite(
            document,
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/{document.id}",
            idempotency_key=key("i", document.id),
        )
    )
    return pushed.ledger_id


async def test_a_new_item_is_a_service_sold_to_the_mapped_account(sage: InProcessSage) -> None:
    made = await sage.ledger.create_item(ItemWrite("SVC-2", idempotency_key=key("item", 2)))
    [post] = sage.requests("POST", "/services")
    assert post.body == {
        "service": {
            "item_code": "SVC-2",
            "description": "SVC-2",
            "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
            "idempotency_id": idempotency_id(key("item", 2), "services"),
        }
    }
    [stored] = sage.sandbox.records("item")
    assert (stored["id"], stored["item_code"]) == (made.ledger_id, "SVC-2")
    assert stored["sales_ledger_account"]["id"] == SALES_LEDGER_ACCOUNT_ID


async def test_a_line_naming_an_item_is_sent_with_its_service_id(sage: InProcessSage) -> None:
    item = await sage.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item", 1)))
    invoice_id = await push_invoice(
        sage.ledger, await push_customer(sage.ledger), with_items("SVC-1", None)
    )
    [post] = sage.requests("POST", "/sales_invoices")
    first, second = post.body["sales_invoice"]["invoice_lines"]
    assert (first["service_id"], first["ledger_account_id"]) == (
        item.ledger_id,
        SALES_LEDGER_ACCOUNT_ID,
    )
    assert not {"service_id", "product_id"} & set(second)
    record = await sage.ledger.get("invoice", invoice_id)
    assert record is not None and record.line_items == ("SVC-1", None)
    assert record.total == Decimal("0.30")


async def test_a_product_made_by_hand_is_found_and_booked_by_product_id(
    sage: InProcessSage,
) -> None:
    product_id = sage.sandbox.seed_item("WIDGET", "products")
    assert await sage.ledger.find_item("WIDGET") == LedgerItem(product_id, "WIDGET", "WIDGET")
    invoice_id = await push_invoice(
        sage.ledger, await push_customer(sage.ledger), with_items(None, "WIDGET")
    )
    [post] = sage.requests("POST", "/sales_invoices")
    second = post.body["sales_invoice"]["invoice_lines"][1]
    assert second["product_id"] == product_id and "service_id" not in second
    record = await sage.ledger.get("invoice", invoice_id)
    assert record is not None and record.line_items == (None, "WIDGET")


async def test_one_code_on_many_invoices_is_looked_up_once(sage: InProcessSage) -> None:
    sage.sandbox.seed_item("SVC-9")
    customer_id = await push_customer(sage.ledger)
    for n in range(1, 4):
        await push_numbered(sage, customer_id, with_items("SVC-9", "SVC-9", n=n))
    assert len(sage.requests("GET", "/services")) == 1
    assert sage.requests("GET", "/products") == []  # found among the services first
    before = len(sage.sent)
    records = [r async for r in sage.ledger.list_all("invoice")]
    assert [r.line_items for r in records] == [("SVC-9", "SVC-9")] * 3
    assert [s.path for s in sage.sent[before:]] == ["/sales_invoices"]  # ids known: no look-up


async def test_a_fresh_adapter_reads_each_item_id_once(sage: InProcessSage) -> None:
    item_id = sage.sandbox.seed_item("SVC-9")
    customer_id = await push_customer(sage.ledger)
    for n in range(1, 4):
        await push_numbered(sage, customer_id, with_items("SVC-9", None, n=n))
    sent: list[Sent] = []
    fresh = SageLedger.connect(
        auth=sage_auth(MemoryTokenStore(), refresh_token=sage.sandbox.oauth.grant()),
        business_id=BUSINESS,
        base_url=BASE_URL,
        transport=RecordingTransport(sage.app, sent),
    )
    records = [r async for r in fresh.list_all("invoice")]
    assert [r.line_items for r in records] == [("SVC-9", None)] * 3
    assert [s.path for s in sent if s.path != "/sales_invoices"] == [f"/services/{item_id}"]
    await fresh.aclose()


async def test_a_code_that_is_no_sage_key_is_never_fetched_by_id(sage: InProcessSage) -> None:
    """The refusal itself: the contract's ItemLookupSection."""
    customer_id = await push_customer(sage.ledger)
    with pytest.raises(PermanentLedgerError):
        await push_invoice(sage.ledger, customer_id, with_items(None, "NO-SUCH"))
    assert sage.requests("GET", "/services/NO-SUCH") == []


async def test_a_code_taken_in_another_case_resolves_to_its_holder(sage: InProcessSage) -> None:
    held = sage.sandbox.seed_item("svc-audit")
    made = await sage.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item", 1)))
    assert (made.ledger_id, made.code) == (held, "svc-audit")
    assert len(sage.requests("POST", "/services")) == 1  # refused: item_code taken
    assert sage.sandbox.count("item") == 1
    await push_invoice(sage.ledger, await push_customer(sage.ledger), with_items("SVC-AUDIT", None))
    [post] = sage.requests("POST", "/sales_invoices")
    assert post.body["sales_invoice"]["invoice_lines"][0]["service_id"] == held


async def test_the_new_items_table_sets_the_tax_rate_and_refuses_unknown_keys(
    tmp_path: Path,
) -> None:
    text = (Path(__file__).parents[2] / "adapters/sage/mapping.toml").read_text()
    rated = tmp_path / "rated.toml"
    rated.write_text(text.replace("[new_items]\n", '[new_items]\nsales_tax_rate_id = "GB_ZERO"\n'))
    assert load_mapping(rated).item_body("X")["sales_tax_rate_id"] == "GB_ZERO"
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace("[new_items]\n", '[new_items]\nprice = "1"\n'))
    with pytest.raises(ConfigurationError, match="price"):
        load_mapping(wrong)


# --------------------------------------------------------- error translation


def diagnoses(code: str, message: str = "m", source: str = "") -> object:
    return [{"$severity": "error", "$dataCode": code, "$message": message, "$source": source}]


ERRORS = [
    (
        answer(429, diagnoses("TooManyRequests")),
        Translated(TransientLedgerError, "TooManyRequests", 60),
    ),
    (
        answer(429, b"", **{"Retry-After": "7"}),
        Translated(TransientLedgerError, "TooManyRequests", 7),
    ),
    (
        answer(401, diagnoses("AccessTokenVerificationError")),
        Translated(AuthExpiredError, "AccessTokenVerificationError"),
    ),
    (
        answer(401, {"error": "Authorization missing."}),
        Translated(AuthExpiredError, "401", says=("Authorization missing",)),
    ),
    (
        answer(500, diagnoses("UnexpectedError")),
        Translated(TransientLedgerError, "UnexpectedError"),
    ),
    (
        answer(422, diagnoses("RecordInvalid", "is invalid", "tax_number")),
        Translated(PermanentLedgerError, "RecordInvalid", says=("is invalid (tax_number)",)),
    ),
    (
        answer(422, {"$diagnoses": diagnoses("ValidationError")}),
        Translated(PermanentLedgerError, "ValidationError"),
    ),
    (answer(502, b"<html>Bad Gateway</html>"), Translated(TransientLedgerError, "502")),
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_sage_diagnoses_map_to_typed_errors(answer: httpx.Response, expected: Translated) -> None:
    assert translated(translate_sage(answer), expected) == expected


def test_a_code_limit_above_sages_ten_is_a_configuration_error(tmp_path: Path) -> None:
    default = Path(__file__).parents[2] / "adapters" / "sage" / "mapping.toml"
    text = default.read_text().replace("code_limit = 10", "code_limit = 30")
    path = tmp_path / "sage.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match="at most 10"):
        load_mapping(path)


def test_the_default_mapping_loads_and_has_a_digest() -> None:
    mapping = load_mapping()
    assert mapping.version == "sage-1"
    assert len(mapping.digest) == 64
    assert mapping.fields["customer"]["email"] == ("main_contact_person.email",)
    assert mapping.setting("customer", "field") == "notes"
    assert mapping.setting("payment", "transaction_type_id") == "CUSTOMER_RECEIPT"
