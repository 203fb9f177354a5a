"""ZohoLedger against the Zoho Books sandbox in-process: what Zoho-specific behaviour adds
to the ledger contract (tests/unit/test_zoho_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.platforms import Connection, platform
from syncledger.adapters.zoho.errors import checked, translate_zoho
from syncledger.adapters.zoho.ledger import ZohoLedger
from syncledger.adapters.zoho.mapping import load_mapping, reference_token
from syncledger.adapters.zoho.sandbox.items import INCOME_ACCOUNTS
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerWrite,
    InvoiceWrite,
    ItemWrite,
    PushResult,
    RefundWrite,
    VoidWrite,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.contracts.steps_contract import StepsUnderTest
from tests.support import documents
from tests.support.documents import create_credit_note
from tests.support.writes import pay_invoice, update_invoice, write_customer, write_invoice
from tests.support.zoho import (
    BASE_URL,
    ORG,
    InProcessZoho,
    another_ledger,
    in_process_zoho,
    zoho_auth,
)


@pytest.fixture
async def zoho() -> AsyncIterator[InProcessZoho]:
    async with closed_after(in_process_zoho(per_window=200, window=1.0)) as env:
        yield env


def customer(n: int = 1, **changes: object) -> Customer:
    fields: dict[str, object] = {"id": f"C-{n}", "name": f"Customer {n}", "currency": "USD"}
    return Customer.model_validate(fields | changes)


def invoice(total: str = "30.00", currency: str = "USD", **changes: object) -> Invoice:
    fields: dict[str, object] = {
        "id": "INV-1",
        "number": "INV-1",
        "customer_id": "C-1",
        "issue_date": date(2026, 4, 1),
        "currency": currency,
        "lines": (
            InvoiceLine(description="a", quantity="1", unit_price="10.00"),
            InvoiceLine(description="b", quantity="2", unit_price="10.00"),
        ),
        "total": Decimal(total),
    }
    return Invoice.model_validate(fields | changes)


async def push_customer(zoho: InProcessZoho, n: int = 1, **changes: object) -> str:
    result = await write_customer(zoho.ledger, customer(n, **changes), n)
    return result.ledger_id


async def push_invoice(zoho: InProcessZoho, customer_id: str, doc: Invoice | None = None) -> str:
    result = await write_invoice(zoho.ledger, customer_id, doc or invoice())
    return result.ledger_id


# ---------------------------------------------------------- error mapping


ERRORS = [
    (answer(429, {"code": 44, "message": "too many"}), Translated(TransientLedgerError, "44", 60)),
    (answer(429, {"code": 45, "message": "daily"}), Translated(TransientLedgerError, "45", 3600)),
    (
        answer(429, {"code": 1070, "message": "concurrent"}),
        Translated(TransientLedgerError, "1070", 1),
    ),
    (answer(401, {"code": 57, "message": "not authorized"}), Translated(AuthExpiredError, "57")),
    (
        answer(500, {"code": 1000, "message": "Internal error"}),
        Translated(TransientLedgerError, "1000"),
    ),
    (answer(400, {"code": 3062, "message": "exists"}), Translated(PermanentLedgerError, "3062")),
    (
        answer(404, {"code": 1002, "message": "Invoice does not exist."}),
        Translated(PermanentLedgerError, "1002"),
    ),
    (  # a Retry-After header wins
        answer(429, {"code": 44, "message": "x"}, **{"Retry-After": "7"}),
        Translated(TransientLedgerError, "44", 7),
    ),
    (answer(502, b"<html>bad gateway</html>"), Translated(TransientLedgerError, "502")),
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_refusals_become_typed_errors_with_zohos_code(
    answer: httpx.Response, expected: Translated
) -> None:
    assert translated(translate_zoho(answer), expected) == expected


def test_a_non_zero_code_on_http_200_is_a_refusal() -> None:
    with pytest.raises(PermanentLedgerError) as refused:
        checked({"code": 1002, "message": "Invalid value passed for customer_id"}, "Zoho Books")
    assert refused.value.code == "1002"


async def test_a_name_taken_by_someone_elses_contact_is_refused_with_3062(
    zoho: InProcessZoho,
) -> None:
    await push_customer(zoho)
    with pytest.raises(PermanentLedgerError) as refused:
        await zoho.ledger.create_customer(
            CustomerWrite(
                customer(1), external_ref="crm/customer/other", idempotency_key=key("c", "other")
            )
        )
    assert refused.value.code == "3062"
    assert zoho.sandbox.count("customer") == 1


async def test_the_daily_cap_surfaces_as_transient_without_sleeping_a_day() -> None:
    zoho = in_process_zoho(daily_limit=2, client_daily_limit=1_000)  # another app spent it
    with pytest.raises(TransientLedgerError) as throttled:
        await push_customer(zoho)
    assert (throttled.value.code, throttled.value.retry_after) == ("45", 3600.0)
    assert zoho.sandbox.count("customer") == 0
    await zoho.ledger.aclose()


# ----------------------------------------------------------- idempotency


async def test_matches_carry_their_reference_so_ours_and_others_differ(zoho: InProcessZoho) -> None:
    ours = await push_customer(zoho, 1, email="pay@acme.example")
    matches = await zoho.ledger.match_customer(customer(2, name="ACME", email="pay@acme.example"))
    assert [(m.ledger_id, m.external_ref) for m in matches] == [(ours, "csv/customer/C-1")]
    assert await zoho.ledger.match_customer(customer(3, email="other@acme.example")) == []


async def test_a_customer_reference_is_found_by_its_key_not_by_a_prefix(
    zoho: InProcessZoho,
) -> None:
    ten = await push_customer(zoho, 10)
    one = await push_customer(zoho, 1)
    found = await zoho.ledger.find("customer", "csv/customer/C-1")
    assert found is not None and (found.ledger_id, found.external_ref) == (one, "csv/customer/C-1")
    assert one != ten


async def test_a_taken_name_is_ours_when_that_contact_carries_our_reference(
    zoho: InProcessZoho,
) -> None:
    edited = {"contact_name": "Customer 1", "notes": "syncledger-ref: csv/customer/C-1"}
    existing = zoho.sandbox.org.create_contact(edited).body["contact"]  # key line edited away
    pushed = await zoho.ledger.create_customer(
        CustomerWrite(customer(1), external_ref="csv/customer/C-1", idempotency_key=key("c", 1))
    )
    assert (pushed.ledger_id, pushed.recovered) == (existing["contact_id"], True)
    assert zoho.sandbox.count("customer") == 1


async def test_a_number_taken_by_another_invoice_is_refused_with_1001(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    await push_invoice(zoho, customer_id)
    with pytest.raises(PermanentLedgerError) as refused:
        await zoho.ledger.create_invoice(
            InvoiceWrite(
                invoice(),
                customer_ledger_id=customer_id,
                external_ref="crm/invoice/other",
                idempotency_key=key("other"),
            )
        )
    assert refused.value.code == "1001"
    assert zoho.sandbox.count("invoice") == 1


async def test_a_long_reference_is_stored_as_a_token_and_found(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    ref = "crm/invoice/" + "x" * 150
    pushed = await zoho.ledger.create_invoice(
        InvoiceWrite(
            invoice(), customer_ledger_id=customer_id, external_ref=ref, idempotency_key=key("long")
        )
    )
    found = await zoho.ledger.find("invoice", ref)
    assert found is not None and found.ledger_id == pushed.ledger_id
    assert found.external_ref == reference_token(ref) and len(reference_token(ref)) <= 100


async def test_a_draft_left_by_a_crash_is_found_and_marked_sent(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    draft = {  # what the crash left: the invoice created, never marked as sent
        "customer_id": customer_id,
        "invoice_number": "INV-1",
        "reference_number": "csv/invoice/INV-1",
        "line_items": [{"rate": Decimal("10.00")}, {"rate": Decimal("10.00"), "quantity": 2}],
    }
    zoho.sandbox.org.create_document("invoice", draft, {"ignore_auto_number_generation": "true"})
    pushed = await write_invoice(zoho.ledger, customer_id, invoice())
    assert pushed.recovered
    record = await zoho.ledger.get("invoice", pushed.ledger_id)
    assert record is not None and record.raw["status"] == "sent"
    assert zoho.sandbox.count("invoice") == 1


async def test_a_void_that_timed_out_after_committing_is_recovered(zoho: InProcessZoho) -> None:
    invoice_id = await push_invoice(zoho, await push_customer(zoho))
    version = (await zoho.ledger.get("invoice", invoice_id) or pytest.fail("no invoice")).version
    zoho.sandbox.commit_then_timeout_next(1, stall_seconds=5)
    slow = in_process_timeout(zoho)
    voided = await slow.void_invoice(
        VoidWrite(invoice_id, version=version, idempotency_key=key("v"))
    )
    assert voided.recovered
    record = await zoho.ledger.get("invoice", invoice_id)
    assert record is not None and (record.status, record.balance) == ("void", Decimal(0))


async def test_a_credit_applied_before_a_timeout_is_not_applied_twice(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    note = documents.credit_note(issue_date=date(2026, 4, 2))
    first = dict(customer_ledger_id=customer_id, external_ref="csv/credit_note/CN-1")
    await zoho.ledger.create_credit_note(
        CreditNoteWrite(note, invoice_ledger_id=None, idempotency_key=key("cn"), **first)
    )
    zoho.sandbox.commit_then_timeout_next(1, stall_seconds=5)  # the apply lands, then stalls
    await in_process_timeout(zoho).create_credit_note(
        CreditNoteWrite(note, invoice_ledger_id=invoice_id, idempotency_key=key("cn"), **first)
    )
    record = await zoho.ledger.get("invoice", invoice_id)
    assert record is not None and record.balance == Decimal("25.00")
    assert zoho.sandbox.count("credit_note") == 1


# ------------------------------------------------- overpayments and refunds


def payment(amount: str, n: int = 1) -> Payment:
    return documents.payment(amount, id=f"PAY-{n}", paid_on=date(2026, 4, 5))


def refund(amount: str, n: int = 1, **credit: str) -> Refund:
    dated = {"refunded_on": date(2026, 4, 9), "reference": f"RF-{n}"}
    return documents.refund(amount, id=f"REF-{n}", **(dated | credit))


async def push_payment(
    zoho: InProcessZoho, customer_id: str, invoice_id: str, amount: str, applied: str, n: int = 1
) -> str:
    return await pay_invoice(zoho.ledger, customer_id, invoice_id, payment(amount, n), applied, n=n)


async def push_refund(
    ledger: ZohoLedger, customer_id: str, money_back: Refund, credit_id: str, n: int = 1
) -> PushResult:
    return await ledger.create_refund(
        RefundWrite(
            money_back,
            customer_ledger_id=customer_id,
            credit_kind=money_back.credit_kind,
            credit_ledger_id=credit_id,
            external_ref=f"csv/refund/REF-{n}",
            idempotency_key=key("r", n),
        )
    )


async def open_credit_note(zoho: InProcessZoho, customer_id: str, total: str = "40.00") -> str:
    note = credit_note(total, invoice_id=None)
    result = await create_credit_note(zoho.ledger, customer_id, note)
    return result.ledger_id


async def test_an_overpayment_is_one_payment_whose_rest_stays_unused(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    await push_payment(zoho, customer_id, invoice_id, "50.00", applied="30.00")
    [sent] = zoho.sandbox.records("payment")
    assert sent["amount"] == Decimal("50.00")
    assert [(i["invoice_id"], i["amount_applied"]) for i in sent["invoices"]] == [
        (invoice_id, Decimal("30.00"))
    ]
    assert sent["unused_amount"] == Decimal("20.00")
    assert zoho.sandbox.count("credit_note") == 0  # the excess is no credit note
    contact = zoho.sandbox.records("customer")[0]
    assert zoho.sandbox.org.read("contact", contact["contact_id"]).body["contact"][
        "unused_credits_receivable_amount"
    ] == Decimal("20.00")


async def test_a_payment_applying_nothing_is_sent_with_no_invoices(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    payment_id = await push_payment(zoho, customer_id, invoice_id, "12.00", applied="0")
    [sent] = zoho.sandbox.records("payment")
    assert (sent["invoices"], sent["unused_amount"]) == ([], Decimal("12.00"))
    record = await zoho.ledger.get("payment", payment_id)
    assert record is not None and (record.total, record.balance) == (Decimal(12), Decimal(12))
    invoice_now = await zoho.ledger.get("invoice", invoice_id)
    assert invoice_now is not None and invoice_now.balance == Decimal("30.00")


async def test_a_credit_note_refund_is_posted_under_it_from_the_primary_account(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    note_id = await open_credit_note(zoho, customer_id)
    pushed = await push_refund(
        zoho.ledger, customer_id, refund("15.00", credit_note_id="CN-1"), note_id
    )
    [sent] = zoho.sandbox.records("refund")  # the sandbox's primary account: Business Checking
    assert (sent["reference_number"], sent["description"]) == ("csv/refund/REF-1", "RF-1")
    assert (sent["from_account_name"], sent["refund_mode"]) == ("Business Checking", "banktransfer")
    assert (sent["date"], sent["amount_fcy"]) == ("2026-04-09", Decimal("15.00"))
    assert pushed.ledger_id == f"credit_note/{note_id}/{sent['creditnote_refund_id']}"
    record = await zoho.ledger.get("refund", pushed.ledger_id)
    assert record is not None
    assert (record.customer_ledger_id, record.currency) == (customer_id, "USD")
    note = await zoho.ledger.get("credit_note", note_id)
    assert note is not None and (note.balance, note.status) == (Decimal("25.00"), "open")


async def test_a_refund_that_timed_out_after_committing_is_found_not_repeated(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    payment_id = await push_payment(zoho, customer_id, invoice_id, "50.00", applied="30.00")
    zoho.sandbox.commit_then_timeout_next(1, stall_seconds=5)
    slow = in_process_timeout(zoho)
    pushed = await push_refund(slow, customer_id, refund("20.00", payment_id="PAY-1"), payment_id)
    assert pushed.recovered
    assert zoho.sandbox.count("refund") == 1
    record = await zoho.ledger.get("payment", payment_id)
    assert record is not None and record.balance == 0


async def test_find_and_list_all_see_refunds_of_payments_and_of_credit_notes(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    payment_id = await push_payment(zoho, customer_id, invoice_id, "50.00", applied="30.00")
    note_id = await open_credit_note(zoho, customer_id)
    by_payment = await push_refund(
        zoho.ledger, customer_id, refund("5.00", 1, payment_id="PAY-1"), payment_id, 1
    )
    by_note = await push_refund(
        zoho.ledger, customer_id, refund("7.00", 2, credit_note_id="CN-1"), note_id, 2
    )
    found = await zoho.ledger.find("refund", "csv/refund/REF-1")
    assert found is not None and found.ledger_id == by_payment.ledger_id
    assert (found.total, found.customer_ledger_id) == (Decimal("5.00"), customer_id)
    assert await zoho.ledger.find("refund", "csv/refund/REF-404") is None
    listed = {(r.ledger_id, r.total) async for r in zoho.ledger.list_all("refund")}
    assert listed == {(by_payment.ledger_id, Decimal("5.00")), (by_note.ledger_id, Decimal("7.00"))}
    assert await zoho.ledger.get("refund", "credit_note/460000000999999/1") is None
    assert await zoho.ledger.get("refund", "not-a-refund-id") is None


# ------------------------------------------------- applications, multi-write steps


def credit_note(total: str = "5.00", **changes: object) -> CreditNote:
    """Zoho's goodwill note of 2 April on INV-1."""
    dated: dict[str, object] = {"invoice_id": "INV-1", "issue_date": date(2026, 4, 2)}
    return documents.credit_note(total, description="goodwill", **(dated | changes))


async def test_applications_of_an_unchanged_version_are_not_read_twice(
    zoho: InProcessZoho,
) -> None:
    """What each record is applied to: the contract's ApplicationsSection."""
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)  # 30.00
    paid = await push_payment(zoho, customer_id, invoice_id, "40.00", applied="25.00")
    await push_refund(zoho.ledger, customer_id, refund("15.00", payment_id="PAY-1"), paid)
    kinds = ("credit_note", "payment", "refund")
    listed = {r.ledger_id: r.applied_to for k in kinds async for r in zoho.ledger.list_all(k)}
    assert listed[paid] == ((invoice_id, Decimal("25.00")),)
    before = len(zoho.transport.requests)
    again = {r.ledger_id: r.applied_to for k in kinds async for r in zoho.ledger.list_all(k)}
    assert again == listed
    reread = [
        r.url.path
        for r in zoho.transport.requests[before:]
        if r.url.path.endswith("/invoices") or r.url.path.endswith(f"/customerpayments/{paid}")
    ]
    assert reread == []  # applications of an unchanged version are not read twice


async def test_listed_customers_carry_our_reference_read_once_per_version(
    zoho: InProcessZoho,
) -> None:
    ids = [await push_customer(zoho, n) for n in (1, 2)]
    reader, sent = another_ledger(zoho)
    for _ in range(2):
        listed = {r.ledger_id: r.external_ref async for r in reader.list_all("customer")}
        assert listed == {i: f"csv/customer/C-{n}" for i, n in zip(ids, (1, 2), strict=True)}
    reads = [r.url.path for r in sent.requests if r.url.path.startswith("/books/v3/contacts/")]
    assert sorted(reads) == sorted(f"/books/v3/contacts/{i}" for i in ids)  # rows lack notes
    await reader.aclose()


async def test_an_invoice_is_marked_sent_as_its_own_step(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    journal = StepsUnderTest(key("i"))
    result = await zoho.ledger.create_invoice(
        InvoiceWrite(
            invoice(),
            customer_ledger_id=customer_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key=journal.key,
            steps=journal,
        )
    )
    assert journal.names == ["invoice", "sent"]
    assert zoho.sandbox.records("invoice")[0]["status"] == "sent"
    assert zoho.transport.sent("POST", f"/invoices/{result.ledger_id}/status/sent") != []


# ---------------------------------------------------------------- tax ids


async def test_a_tax_id_is_matched_through_our_notes_line_and_confirmed(
    zoho: InProcessZoho,
) -> None:
    ours = await push_customer(zoho, 1, tax_id="DE 136-695.976")
    notes = zoho.sandbox.records("customer")[0]["notes"]
    assert "syncledger-tax: DE136695976" in notes.splitlines()
    mention = {"contact_name": "Someone", "notes": "took over DE136695976's debts"}
    zoho.sandbox.org.create_contact(mention)  # found by search_text, but no tax id of its own
    renamed = customer(9, name="ACME GmbH", tax_id="de136695976")
    assert [m.ledger_id for m in await zoho.ledger.match_customer(renamed)] == [ours]


async def test_a_mapping_may_name_the_editions_tax_field_and_the_refund_account(
    tmp_path: Path,
) -> None:
    default = (Path(__file__).parents[2] / "adapters/zoho/mapping.toml").read_text()
    text = (
        default.replace("[customer.fields]\n", '[customer.fields]\ntax_id = "vat_reg_no"\n', 1)
        + '\n[refund]\nfrom_account_id = "460000000980002"\nrefund_mode = "cash"\n'
    )
    path = tmp_path / "zoho.toml"
    path.write_text(text)
    zoho = in_process_zoho(per_window=200, ledger_options={"mapping": load_mapping(path)})
    try:
        customer_id = await push_customer(zoho, 1, tax_id="GB123456789")
        assert zoho.sandbox.records("customer")[0]["vat_reg_no"] == "GB123456789"
        hand_made = {"contact_name": "Typed In", "vat_reg_no": "gb 123 456 789"}
        zoho.sandbox.org.create_contact(hand_made | {"notes": "VAT GB123456789"})
        matches = await zoho.ledger.match_customer(customer(5, name="X", tax_id="GB123456789"))
        assert len(matches) == 2 and customer_id in {m.ledger_id for m in matches}
        note_id = await open_credit_note(zoho, customer_id)
        await push_refund(zoho.ledger, customer_id, refund("1.00", credit_note_id="CN-1"), note_id)
        [sent] = zoho.sandbox.records("refund")
        assert (sent["from_account_name"], sent["refund_mode"]) == ("Petty Cash", "cash")
    finally:
        await zoho.ledger.aclose()
        zoho.sandbox.close()


def in_process_timeout(zoho: InProcessZoho) -> ZohoLedger:
    """A second client of the same sandbox that gives up waiting after 0.2 s."""
    return ZohoLedger.connect(
        organization_id=ORG,
        auth=zoho_auth(zoho.store),
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=zoho.app),
        retry=zoho.retry,
        timeout=0.2,
    )


# ------------------------------------------------------------- versions


async def test_a_version_changes_with_the_record_even_within_one_second(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    invoice_id = await push_invoice(zoho, customer_id)
    old = (await zoho.ledger.get("invoice", invoice_id) or pytest.fail("no invoice")).version
    await update_invoice(
        zoho.ledger, customer_id, invoice_id, invoice("10.00", lines=invoice().lines[:1]), old, 1
    )
    new = (await zoho.ledger.get("invoice", invoice_id) or pytest.fail("no invoice")).version
    assert new != old
    with pytest.raises(StaleVersionError):
        await update_invoice(zoho.ledger, customer_id, invoice_id, invoice(), old, 2)
    record = await zoho.ledger.get("invoice", invoice_id)
    assert record is not None and record.total == Decimal("10.00")


async def test_list_and_single_answers_give_the_same_version(zoho: InProcessZoho) -> None:
    invoice_id = await push_invoice(zoho, await push_customer(zoho))
    listed = [r async for r in zoho.ledger.list_all("invoice")]
    single = await zoho.ledger.get("invoice", invoice_id)
    assert single is not None and [r.version for r in listed] == [single.version]


# ------------------------------------------------------- money and tax


async def test_a_line_tax_no_organisation_tax_reproduces_is_refused_before_sending(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    lines = (InvoiceLine(description="odd", quantity="1", unit_price="10.00", tax_amount="0.70"),)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(zoho, customer_id, invoice("10.70", lines=lines))
    assert refused.value.code == "syncledger.tax_unmapped"
    assert "7.000%" in str(refused.value)
    assert zoho.sandbox.count("invoice") == 0


# ------------------------------------------------------------------ items


def item_line(code: str | None, price: str = "10.00") -> InvoiceLine:
    return InvoiceLine(description="work", quantity="1", unit_price=price, item_code=code)


def item_invoice(n: int, *codes: str | None) -> Invoice:
    lines = tuple(item_line(c) for c in codes)
    total = str(Decimal("10.00") * len(codes))
    return invoice(total, id=f"INV-{n}", number=f"INV-{n}", lines=lines)


async def push_numbered(zoho: InProcessZoho, customer_id: str, doc: Invoice) -> str:
    result = await zoho.ledger.create_invoice(
        InvoiceWrite(
            doc,
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/{doc.id}",
            idempotency_key=key("i", doc.id),
        )
    )
    return result.ledger_id


def body_of(request: httpx.Request) -> dict[str, object]:
    body: dict[str, object] = decode_json(request.content)
    return body


async def test_a_line_naming_an_item_is_sent_with_its_item_id_and_read_back_by_code(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    made = await zoho.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    [create] = zoho.transport.sent("POST", "/items")
    assert body_of(create) == {"name": "SVC-AUDIT", "rate": 0, "product_type": "service"}
    invoice_id = await push_numbered(zoho, customer_id, item_invoice(1, "SVC-AUDIT", None))
    [post] = zoho.transport.sent("POST", "/invoices")
    lines = body_of(post)["line_items"]
    assert isinstance(lines, list)
    default = await zoho.ledger.find_item("General sales")  # the uncoded line's item
    assert default is not None
    assert [ln.get("item_id") for ln in lines] == [made.ledger_id, default.ledger_id]
    assert [ln["rate"] for ln in lines] == [Decimal("10.00"), Decimal("10.00")]
    [stored] = zoho.sandbox.records("invoice")
    assert [ln["item_id"] for ln in stored["line_items"]] == [made.ledger_id, default.ledger_id]
    record = await zoho.ledger.get("invoice", invoice_id)
    assert record is not None
    assert (record.line_items, record.total) == (("SVC-AUDIT", None), Decimal("20.00"))


async def test_item_lookups_are_cached_one_per_code_and_ids_read_once(
    zoho: InProcessZoho,
) -> None:
    hosting = zoho.sandbox.seed_item("Hosting")  # made by hand in Zoho Books
    customer_id = await push_customer(zoho)
    ids = [await push_numbered(zoho, customer_id, item_invoice(n, "Hosting")) for n in (1, 2, 3)]
    assert len(zoho.transport.sent("GET", "/items")) == 1
    for ident in ids:
        record = await zoho.ledger.get("invoice", ident)
        assert record is not None and record.line_items == ("Hosting",)
    assert zoho.transport.sent("GET", f"/items/{hosting}") == []  # known from the lookup
    fresh, transport = another_ledger(zoho)  # a new process: empty caches
    for ident in ids:
        again = await fresh.get("invoice", ident)
        assert again is not None and again.line_items == ("Hosting",)
    assert len(transport.sent("GET", f"/items/{hosting}")) == 1
    await fresh.aclose()


async def test_zoho_refuses_an_item_id_it_does_not_hold_with_its_own_code(
    zoho: InProcessZoho, tmp_path: Path
) -> None:
    default = (Path(__file__).parents[2] / "adapters/zoho/mapping.toml").read_text()
    path = tmp_path / "zoho.toml"
    path.write_text(default.replace('item_id = ""', 'item_id = "460000000999999"', 1))
    zoho.ledger.mapping = load_mapping(path)  # a default item deleted since it was mapped
    customer_id = await push_customer(zoho)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(zoho, customer_id)
    assert refused.value.code == "1002"
    assert "Invalid value passed for item_id" in str(refused.value)
    assert zoho.sandbox.count("invoice") == 0


async def test_a_create_refused_as_a_taken_name_ends_with_the_item_holding_it() -> None:
    taken: list[str] = []

    def someone_else_first(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/items") and not taken:
            taken.append(zoho.sandbox.seed_item("svc-race"))  # same name, other case

    zoho = in_process_zoho(per_window=200, before_request=someone_else_first)
    try:
        made = await zoho.ledger.create_item(ItemWrite("SVC-RACE", idempotency_key=key("item")))
        assert made.ledger_id == taken[0]
        assert made.code == "svc-race"
        assert zoho.sandbox.count("item") == 1
        assert (await zoho.ledger.find_item("SVC-RACE")) == made
    finally:
        await zoho.ledger.aclose()
        zoho.sandbox.close()


async def test_an_item_write_that_failed_is_retried_once_made(zoho: InProcessZoho) -> None:
    zoho.sandbox.fail_next_writes(1, status=503)
    made = await zoho.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    assert zoho.sandbox.count("item") == 1
    assert len(zoho.transport.sent("POST", "/items")) == 2
    assert (await zoho.ledger.find_item(made.ledger_id)) == made


async def test_new_items_go_to_the_mapped_account_else_the_default_items(
    zoho: InProcessZoho, tmp_path: Path
) -> None:
    general = next(i for i, name in INCOME_ACCOUNTS.items() if name == "General Income")
    default_item = zoho.sandbox.seed_item("Default", account_id=general)
    text = (Path(__file__).parents[2] / "adapters/zoho/mapping.toml").read_text()
    path = tmp_path / "zoho.toml"
    path.write_text(text.replace('item_id = ""', f'item_id = "{default_item}"', 1))
    zoho.ledger.mapping = load_mapping(path)
    await zoho.ledger.create_item(ItemWrite("FROM-DEFAULT", idempotency_key=key("item", 1)))
    path.write_text(text.replace('account_id = ""', f'account_id = "{general}"', 1))
    mapped, transport = another_ledger(zoho)
    mapped.mapping = load_mapping(path)
    await mapped.create_item(ItemWrite("FROM-NEW-ITEMS", idempotency_key=key("item", 2)))
    await mapped.aclose()
    [create] = transport.sent("POST", "/items")
    assert body_of(create)["account_id"] == general
    accounts = {i["name"]: i["account_name"] for i in zoho.sandbox.records("item")}
    assert accounts == {
        "Default": "General Income",
        "FROM-DEFAULT": "General Income",
        "FROM-NEW-ITEMS": "General Income",
    }


def test_new_items_take_only_the_settings_the_adapter_knows(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "adapters/zoho/mapping.toml").read_text()
    path = tmp_path / "zoho.toml"
    path.write_text(text.replace('account_id = ""', 'account_id = ""\nrate = "1"', 1))
    with pytest.raises(ConfigurationError, match=r"\[new_items\] has unknown keys \['rate'\]"):
        load_mapping(path)


async def test_get_gives_each_lines_item_and_list_reads_cost_no_document_reads(
    zoho: InProcessZoho,
) -> None:
    await zoho.ledger.create_item(ItemWrite("SVC-A", idempotency_key=key("item")))
    customer_id = await push_customer(zoho)
    invoice_id = await push_numbered(zoho, customer_id, item_invoice(1, None, "SVC-A"))
    got = await zoho.ledger.get("invoice", invoice_id)
    assert got is not None
    assert got.line_items == (None, "SVC-A")
    found = await zoho.ledger.find("invoice", "csv/invoice/INV-1")
    listed = [r async for r in zoho.ledger.list_all("invoice")]
    since = datetime.now(UTC).replace(year=2000)
    changed = [r async for r in zoho.ledger.changes(since) if r.kind == "invoice"]
    for record in (found, *listed, *changed):  # list rows carry no lines: none read in full
        assert record is not None
        assert (record.ledger_id, record.line_items) == (invoice_id, ())


# ------------------------------------------- Zoho's published request schemas


def two_line_credit_note(discount: str = "0", total: str = "30.00") -> CreditNote:
    lines = invoice().lines
    return credit_note(total, invoice_id=None, lines=lines, discount=Decimal(discount))


async def push_credit_note(zoho: InProcessZoho, customer_id: str, note: CreditNote) -> PushResult:
    return await create_credit_note(zoho.ledger, customer_id, note)


async def test_a_credit_note_with_a_discount_is_refused_before_anything_is_sent(
    zoho: InProcessZoho,
) -> None:
    """Zoho's credit-note schema has no document discount: sent anyway, the credit would
    total its lines (30.00 here, 885.12 for the demo's 840.86) without a word."""
    customer_id = await push_customer(zoho)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_credit_note(zoho, customer_id, two_line_credit_note("5.00", "25.00"))
    assert refused.value.code == "syncledger.credit_note_discount_unsupported"
    assert "credit note CN-1" in str(refused.value) and "30.00" in str(refused.value)
    assert zoho.transport.sent("POST", "/creditnotes") == []
    assert zoho.transport.sent("POST", "/items") == []  # not even its lines' item
    assert zoho.sandbox.count("credit_note") == 0


async def test_credit_notes_go_without_discount_fields_and_invoices_with_them(
    zoho: InProcessZoho,
) -> None:
    customer_id = await push_customer(zoho)
    made = await push_credit_note(zoho, customer_id, two_line_credit_note())
    [post] = zoho.transport.sent("POST", "/creditnotes")
    discount_fields = {"discount", "discount_type", "is_discount_before_tax"}
    assert discount_fields.isdisjoint(body_of(post))
    held = await zoho.ledger.get("credit_note", made.ledger_id)
    assert held is not None and (held.total, held.tax) == (Decimal("30.00"), Decimal(0))
    await push_invoice(zoho, customer_id, invoice("25.00", discount=Decimal("5.00")))
    [sent] = zoho.transport.sent("POST", "/invoices")
    assert {k: body_of(sent)[k] for k in sorted(discount_fields)} == {
        "discount": Decimal("5.00"),
        "discount_type": "entity_level",
        "is_discount_before_tax": False,
    }


async def test_every_invoice_line_is_sent_with_an_item_id(zoho: InProcessZoho) -> None:
    """Zoho's invoice schemas require ``line_items[].item_id``: an uncoded line goes to the
    mapping's item, made once, and reads back as uncoded."""
    customer_id = await push_customer(zoho)
    first = await push_numbered(zoho, customer_id, item_invoice(1, None, None))
    await push_numbered(zoho, customer_id, item_invoice(2, None))
    [made] = zoho.transport.sent("POST", "/items")
    assert body_of(made) == {"name": "General sales", "rate": 0, "product_type": "service"}
    [item] = zoho.sandbox.records("item")
    for post in zoho.transport.sent("POST", "/invoices"):
        lines = body_of(post)["line_items"]
        assert isinstance(lines, list)
        assert {ln["item_id"] for ln in lines} == {item["item_id"]}
    fresh, _ = another_ledger(zoho)  # knows the item by its name only
    held = await fresh.get("invoice", first)
    await fresh.aclose()
    assert held is not None and held.line_items == (None, None)


async def test_a_mapped_default_item_is_used_and_nothing_is_created(
    zoho: InProcessZoho, tmp_path: Path
) -> None:
    mine = zoho.sandbox.seed_item("Consulting")
    text = (Path(__file__).parents[2] / "adapters/zoho/mapping.toml").read_text()
    path = tmp_path / "zoho.toml"
    path.write_text(text.replace('item_id = ""', f'item_id = "{mine}"', 1))
    zoho.ledger.mapping = load_mapping(path)
    invoice_id = await push_invoice(zoho, await push_customer(zoho))
    [post] = zoho.transport.sent("POST", "/invoices")
    lines = body_of(post)["line_items"]
    assert isinstance(lines, list) and [ln["item_id"] for ln in lines] == [mine, mine]
    assert zoho.transport.sent("POST", "/items") == []
    held = await zoho.ledger.get("invoice", invoice_id)
    assert held is not None and held.line_items == (None, None)


async def test_documents_read_back_the_tax_zoho_computed(zoho: InProcessZoho) -> None:
    customer_id = await push_customer(zoho)
    lines = (
        InvoiceLine(description="taxed", quantity="1", unit_price="10.00", tax_amount="0.80"),
        InvoiceLine(description="not", quantity="1", unit_price="5.00"),
    )
    invoice_id = await push_invoice(zoho, customer_id, invoice("15.80", lines=lines))
    held = await zoho.ledger.get("invoice", invoice_id)
    assert held is not None and (held.total, held.tax) == (Decimal("15.80"), Decimal("0.80"))
    [listed] = [r async for r in zoho.ledger.list_all("invoice")]
    assert listed.tax is None  # list rows carry no tax: not a zero


# ------------------------------------------------------ pages and changes


class Clock:
    """The sandbox's clock, moved by hand (Zoho's times have one-second resolution)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int = 60) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


async def test_changes_find_an_old_document_changed_late_on_any_page() -> None:
    """Invoices and credit notes are listed by ``created_time`` (a sort column their
    lists document; ``last_modified_time`` is not one) and every page is read: an
    invoice changed late is found whatever unchanged ones sort before or after it."""
    clock = Clock()
    zoho = in_process_zoho(per_window=200, clock=clock, ledger_options={"page_size": 1})
    customer_id = await push_customer(zoho)
    ids = []
    for n in (1, 2, 3):
        clock.advance()
        ids.append(await push_numbered(zoho, customer_id, item_invoice(n, None)))
    since = clock.advance()
    clock.advance()
    await zoho.ledger.void_invoice(VoidWrite(ids[1], version=None, idempotency_key=key("void")))
    zoho.transport.requests.clear()
    changed = [(r.kind, r.ledger_id) async for r in zoho.ledger.changes(since)]
    assert changed == [("invoice", ids[1])]
    for path in ("/invoices", "/creditnotes", "/customerpayments"):
        listed = zoho.transport.sent("GET", path)
        assert listed and {r.url.params["sort_column"] for r in listed} == {"created_time"}
    pages = [r.url.params["page"] for r in zoho.transport.sent("GET", "/invoices")]
    assert pages == ["1", "2", "3"]  # every page, though the first row is unchanged
    await zoho.ledger.aclose()
    zoho.sandbox.close()


async def test_contact_changes_stop_at_the_first_older_row_of_a_newest_first_list() -> None:
    clock = Clock()
    zoho = in_process_zoho(per_window=200, clock=clock, ledger_options={"page_size": 1})
    for n in (1, 2, 3):
        clock.advance()
        await push_customer(zoho, n)
    since = clock.advance()
    clock.advance()
    newest = await push_customer(zoho, 4)
    zoho.transport.requests.clear()
    changed = [r.ledger_id async for r in zoho.ledger.changes(since) if r.kind == "customer"]
    assert changed == [newest]
    contacts = zoho.transport.sent("GET", "/contacts")
    assert [(r.url.params["sort_column"], r.url.params["page"]) for r in contacts] == [
        ("last_modified_time", "1"),
        ("last_modified_time", "2"),  # its row is older: the contacts end there
    ]
    await zoho.ledger.aclose()
    zoho.sandbox.close()


# -------------------------------------------------------------- platform


@pytest.mark.parametrize(
    "creds",
    [
        {},
        {
            "client_id": "a",
            "client_secret": "b",
            "refresh_token": "c",
            "organization_id": "1",
            "daily_limit": "lots",
        },
    ],
)
def test_a_live_connection_needs_credentials_and_a_numeric_daily_limit(
    tmp_path: Path, creds: dict[str, str]
) -> None:
    conn = Connection("https://www.zohoapis.eu", tmp_path / "t.json", creds)
    with pytest.raises(ConfigurationError):
        platform("zoho-books").connect(conn)
