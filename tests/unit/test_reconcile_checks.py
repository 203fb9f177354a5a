"""The reconciler's comparisons beyond totals: an invoice's status and amount paid, a credit
note never applied, due dates, line item codes, a customer's name, and the AR balance per
customer and currency — each a typed mismatch with both values, compared only where both
sides hold the value. The last tests run the whole path on the memory ledger: what the
sync pushed agrees, and what a bookkeeper changes in the ledger afterwards is found."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.core.pii_names import NameDigest, digester
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import Expected, Mismatch, Reconciler, compare
from syncledger.core.reconcile_expected import with_log
from syncledger.core.reconcile_source import load_state_and_content
from syncledger.core.sync_state import SyncState
from syncledger.projections.engine import make_engine
from syncledger.projections.queries import ReadModels
from syncledger.projections.runner import ProjectionRunner
from syncledger.projections.schema import create_all
from tests.support.records import credit_note, customer, invoice, payment
from tests.unit.test_sync import ENTITY, Harness

USD = "USD"
D = Decimal


def _inv(ledger_id: str = "L1", **kw: Any) -> LedgerRecord:
    fields: dict[str, Any] = {
        "total": D("110.00"),
        "balance": D("50.00"),
        "status": "partially_paid",
        "currency": USD,
        "customer_ledger_id": "LC1",
    }
    fields.update(kw)
    return LedgerRecord("invoice", ledger_id, "1", f"csv/invoice/{ledger_id}", **fields)


def _exp(ledger_id: str = "L1", **kw: Any) -> Expected:
    fields: dict[str, Any] = {"paid": D("60.00")}
    fields.update(kw)
    total = fields.pop("total", D("110.00"))
    return Expected(f"csv/invoice/{ledger_id}", "invoice", ledger_id, total, USD, **fields)


def _types(found: list[Mismatch]) -> list[str]:
    return [m.mismatch_type for m in found]


# ------------------------------------------------------------------ status and balance


def test_an_invoice_paid_as_the_log_says_agrees() -> None:
    assert compare([_exp()], [_inv()]) == []


def test_less_paid_in_the_ledger_than_the_log_applied_is_a_balance_mismatch() -> None:
    [found] = compare([_exp()], [_inv(balance=D("110.00"), status="open")])
    assert found.mismatch_type == "balance_mismatch"
    assert found.key == "balance_mismatch|csv/invoice/L1|L1"
    assert (found.expected, found.actual) == ("paid 60.00, open 50.00", "paid 0.00, open 110.00")
    assert (found.at_stake, found.currency) == (D("60.00"), USD)


def test_more_paid_in_the_ledger_than_the_log_applied_is_the_ledger_owning_money() -> None:
    """A payment a bookkeeper recorded in the ledger is how invoices get paid: no mismatch
    (back-sync writes the status back to the source)."""
    assert compare([_exp()], [_inv(balance=D("0.00"), status="paid")]) == []


def test_a_ledger_that_does_not_say_the_balance_is_not_compared() -> None:
    assert compare([_exp()], [_inv(balance=None, status="open")]) == []
    assert compare([_exp(paid=None)], [_inv(balance=D("0.00"), status="paid")]) == []


def test_voided_on_one_side_only_is_a_status_mismatch() -> None:
    [found] = compare([_exp(voided=True)], [_inv()])
    assert (found.mismatch_type, found.expected, found.actual) == (
        "status_mismatch",
        "void",
        "partially_paid",
    )
    assert found.at_stake == D("50.00")  # what the ledger still says is owed
    [other] = compare([_exp(paid=D("0"))], [_inv(status="void", balance=D("0"))])
    assert (other.mismatch_type, other.expected, other.actual) == (
        "status_mismatch",
        "open",
        "void",
    )
    assert other.at_stake == D("110.00")
    assert compare([_exp(voided=True)], [_inv(status="void", balance=D("0"))]) == []


def test_equal_amounts_with_another_status_is_a_status_mismatch() -> None:
    [found] = compare([_exp()], [_inv(status="open")])
    assert (found.mismatch_type, found.expected, found.actual) == (
        "status_mismatch",
        "partially_paid",
        "open",
    )
    assert compare([_exp()], [_inv(status="draft")]) == []  # not a status compared


# ------------------------------------------------------------------ credit notes


def _note(**kw: Any) -> LedgerRecord:
    fields: dict[str, Any] = {"total": D("40.00"), "balance": D("40.00"), "currency": USD}
    fields.update(kw)
    return LedgerRecord("credit_note", "N1", "1", "csv/credit_note/n1", **fields)


NOTE = Expected("csv/credit_note/n1", "credit_note", "N1", D("40.00"), USD, "L1", None)


def test_a_credit_note_never_applied_is_credit_unapplied() -> None:
    [found] = compare([NOTE], [_note()])
    assert found.mismatch_type == "credit_unapplied"
    assert found.key == "credit_unapplied|csv/credit_note/n1|N1"
    assert (found.expected, found.actual) == ("some applied to L1", "unapplied, 40.00 credit left")
    assert (found.at_stake, found.currency) == (D("40.00"), USD)


def test_a_credit_note_applied_elsewhere_or_in_part_is_an_application_mismatch() -> None:
    half = _note(balance=D("20.00"), applied_to=(("L9", D("20.00")),))
    assert _types(compare([NOTE], [half])) == ["application_mismatch"]
    applied = _note(balance=D("0.00"), applied_to=(("L1", D("40.00")),))
    assert compare([NOTE], [applied]) == []
    refunded = _note(balance=D("0.00"))  # its credit paid out, not applied: not "never"
    assert _types(compare([NOTE], [refunded])) == ["application_mismatch"]


def test_a_credit_note_the_log_never_meant_to_apply_is_not_a_mismatch() -> None:
    standalone = replace(NOTE, applied_to=None)
    assert compare([standalone], [_note()]) == []


# ------------------------------------------------------------------ due date, items, names


def test_due_dates_are_compared_where_both_sides_have_one() -> None:
    exp = _exp(due_date=date(2026, 2, 1))
    [found] = compare([exp], [_inv(due_date=date(2026, 3, 1))])
    assert (found.mismatch_type, found.expected, found.actual) == (
        "due_date_mismatch",
        "2026-02-01",
        "2026-03-01",
    )
    assert compare([exp], [_inv(due_date=date(2026, 2, 1))]) == []
    assert compare([exp], [_inv()]) == []  # the ledger's read has none: never compared


def test_each_source_item_code_must_be_booked_in_the_ledger() -> None:
    exp = _exp(item_codes=("WIDGET", "SETUP"))
    [found] = compare([exp], [_inv(line_items=("WIDGET", None))])
    assert (found.mismatch_type, found.expected, found.actual) == (
        "line_items_mismatch",
        "WIDGET, SETUP",
        "WIDGET, -",
    )
    assert compare([exp], [_inv(line_items=("SETUP", "WIDGET", "SERVICES"))]) == []
    assert compare([exp], [_inv(line_items=())]) == []  # a list read without lines (Zoho)
    twice = _exp(item_codes=("WIDGET", "WIDGET"))
    assert _types(compare([twice], [_inv(line_items=("WIDGET",))])) == ["line_items_mismatch"]


def test_a_customer_name_the_source_owns_is_compared_without_case_or_spacing() -> None:
    exp = Expected("csv/customer/c1", "customer", "LC1", None, None, name="Acme  Ltd")
    held = LedgerRecord("customer", "LC1", "1", "csv/customer/c1", name="ACME Ltd")
    assert compare([exp], [held]) == []
    [found] = compare([exp], [replace(held, name="Acme Inc")])
    assert (found.mismatch_type, found.expected, found.actual) == (
        "customer_name_mismatch",
        "Acme  Ltd",
        "Acme Inc",
    )


# ------------------------------------------------------------------ AR per customer


def _ar_book() -> tuple[list[Expected], list[LedgerRecord]]:
    cust = {"customer_ref": "csv/customer/c1", "customer_ledger_ref": "LC1"}
    expected = [
        _exp("L1", **cust),  # 50.00 open
        _exp("L2", paid=D("0"), **cust),  # 110.00 open
        _exp("L3", voided=True, **cust),  # nothing open
    ]
    held = [
        _inv("L1"),
        _inv("L2", balance=D("110.00"), status="open"),
        _inv("L3", balance=D("0"), status="void"),
    ]
    return expected, held


def test_ar_per_customer_and_currency_agrees_when_the_documents_do() -> None:
    expected, held = _ar_book()
    assert compare(expected, held) == []


def test_an_invoice_raised_only_in_the_ledger_shows_in_the_ar_balance() -> None:
    expected, held = _ar_book()
    by_hand = LedgerRecord(
        "invoice", "L4", "1", None, total=D("30.00"), balance=D("30.00"), status="open",
        currency=USD, customer_ledger_id="LC1",
    )  # fmt: skip
    in_eur = replace(by_hand, ledger_id="L5", currency="EUR", balance=D("5.00"))
    found = compare(expected, [*held, by_hand, in_eur])
    assert [(m.key, m.expected, m.actual, m.at_stake, m.currency) for m in found] == [
        (
            "ar_balance_mismatch|csv/customer/c1|EUR",
            "0.00 open on 0 invoices",
            "5.00 open on 1 invoice",
            D("5.00"),
            "EUR",
        ),
        (
            "ar_balance_mismatch|csv/customer/c1|USD",
            "160.00 open on 3 invoices",
            "190.00 open on 3 invoices",
            D("30.00"),
            USD,
        ),
    ]
    assert {m.ledger_ref for m in found} == {"LC1"}


def test_ar_is_not_compared_when_a_side_is_not_fully_known() -> None:
    expected, held = _ar_book()
    unknown = [replace(held[0], balance=None, status="open"), *held[1:]]
    assert "ar_balance_mismatch" not in _types(compare(expected, unknown))
    not_pushed = [replace(expected[0], paid=None), *expected[1:]]
    more = [*held, replace(held[1], ledger_id="L9", external_ref=None)]
    assert "ar_balance_mismatch" not in _types(compare(not_pushed, more))


# ------------------------------------------------------------------ through the sync


async def _expected(h: Harness, models: ReadModels) -> list[Expected]:
    from syncledger.core.pipeline import expected_records

    state = SyncState(ENTITY, h.ledger.ledger)
    content = await load_state_and_content(h.store, state, digester(h.keys, ENTITY))
    return with_log(expected_records(models, ENTITY, h.ledger.ledger), state, content)


async def _synced() -> tuple[Harness, ReadModels, ProjectionRunner]:
    h = Harness()
    await h.ingest([
        customer("c1", "Acme"),
        invoice("i1", "c1"),  # 110.00
        invoice("i2", "c1"),
        payment("p1", "i1", "c1", "60.00"),
        credit_note("n1", "i2", "c1"),  # 40.00 applied to i2
    ])  # fmt: skip
    await h.run()
    engine = make_engine("sqlite://")
    create_all(engine)
    runner = ProjectionRunner(engine, h.store)
    await runner.catch_up()
    return h, ReadModels(engine), runner


async def test_what_the_sync_pushed_agrees_with_the_ledger() -> None:
    h, models, _ = await _synced()
    expected = await _expected(h, models)
    by_ref = {e.source_ref: e for e in expected}
    i1, i2 = by_ref["csv/invoice/i1"], by_ref["csv/invoice/i2"]
    assert (i1.paid, i2.paid) == (D("60.00"), D("40.00"))
    assert i1.due_date == date(2026, 2, 1) and i1.item_codes == ()
    assert (i1.customer_ref, i1.customer_ledger_ref) == ("csv/customer/c1", "1")
    names = digester(h.keys, ENTITY)
    assert by_ref["csv/customer/c1"].name == names("acme ")  # the name's keyed digest
    held = [r for kind in ("customer", "invoice", "payment", "credit_note") for r in
            [x async for x in h.ledger.list_all(kind)]]  # fmt: skip
    assert compare(expected, [_digested(r, names) for r in held]) == []


def _digested(rec: LedgerRecord, names: NameDigest) -> LedgerRecord:
    """A ledger customer's name as the reconciler compares it (its keyed digest)."""
    return replace(rec, name=names(rec.name)) if rec.kind == "customer" else rec


async def test_what_a_bookkeeper_changes_in_the_ledger_afterwards_is_found() -> None:
    h, models, runner = await _synced()
    i1 = await h.ledger.find("invoice", "csv/invoice/i1")
    c1 = await h.ledger.find("customer", "csv/customer/c1")
    assert i1 is not None and c1 is not None
    # the payment the sync applied is taken off the invoice in the ledger
    h.ledger.records[i1.ledger_id] = replace(
        i1, balance=D("110.00"), status="open", due_date=date(2026, 3, 3)
    )
    h.ledger.records[c1.ledger_id] = replace(c1, name="Acme Holdings")
    expected = await _expected(h, models)
    names = digester(h.keys, ENTITY)
    recon = Reconciler(h.store, h.ledger, entity=ENTITY, actor="t", names=names)
    report = await recon.run(expected, {})
    found = {(m.mismatch_type, m.source_ref, m.expected, m.actual) for m in report.open}
    assert found == {
        ("balance_mismatch", "csv/invoice/i1", "paid 60.00, open 50.00", "paid 0.00, open 110.00"),
        ("due_date_mismatch", "csv/invoice/i1", "2026-02-01", "2026-03-03"),
        # names are personal data: compared by keyed digest, shown by neither side
        ("customer_name_mismatch", "csv/customer/c1", None, None),
    }  # the AR difference is i1's, told once: by its balance_mismatch
    await runner.catch_up()
    folded = {m.mismatch_type for m in models.open_mismatches(ENTITY, h.ledger.ledger)}
    assert folded == {m[0] for m in found}


def test_an_ar_difference_a_document_mismatch_explains_is_told_once() -> None:
    expected, held = _ar_book()
    edited = [replace(held[1], total=D("80.00"), balance=D("80.00")), held[0], held[2]]
    assert _types(compare(expected, edited)) == ["amount_mismatch"]
    unpaid_in_ledger = [replace(held[0], balance=D("110.00"), status="open"), *held[1:]]
    assert _types(compare(expected, unpaid_in_ledger)) == ["balance_mismatch"]
    paid_by_hand = [replace(held[1], balance=D("0.00"), status="paid"), held[0], held[2]]
    assert _types(compare(expected, paid_by_hand)) == []  # the ledger owns money


# ------------------------------------------------------------------ due dates as read


def test_qbo_and_xero_reads_carry_the_invoice_due_date() -> None:
    from syncledger.adapters.qbo.mapping import to_record as qbo_record
    from syncledger.adapters.xero.mapping import to_record as xero_record

    qbo = qbo_record("invoice", {"Id": "5", "DueDate": "2026-02-01", "TotalAmt": 1}, "DocNumber")
    assert qbo.due_date == date(2026, 2, 1)
    assert qbo_record("invoice", {"Id": "5"}, "DocNumber").due_date is None
    xero = {"InvoiceID": "x", "Total": 1, "DueDate": "/Date(1769904000000+0000)/"}
    assert xero_record("invoice", xero).due_date == date(2026, 2, 1)
    by_string = {"InvoiceID": "x", "Total": 1, "DueDateString": "2026-02-01T00:00:00"}
    assert xero_record("invoice", by_string).due_date == date(2026, 2, 1)


async def test_a_disputed_invoice_credited_by_the_sync_agrees() -> None:
    """The sync credits a disputed invoice with a credit note of its own making (never
    observed in the source): the log counts it as paid on the invoice."""
    from tests.support.records import changed

    h = Harness()
    await h.ingest([customer("c1"), changed(invoice("i1", "c1"), "2026-01-02", status="disputed")])
    await h.run()
    engine = make_engine("sqlite://")
    create_all(engine)
    await ProjectionRunner(engine, h.store).catch_up()
    expected = await _expected(h, ReadModels(engine))
    [i1] = [e for e in expected if e.source_ref == "csv/invoice/i1"]
    assert i1.paid == D("110.00")
    held = [r for kind in ("customer", "invoice", "credit_note") for r in
            [x async for x in h.ledger.list_all(kind)]]  # fmt: skip
    assert [r.balance for r in held if r.kind == "invoice"] == [D("0.00")]
    assert compare(expected, held) == []
