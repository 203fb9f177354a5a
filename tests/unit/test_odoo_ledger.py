"""OdooLedger against the Odoo sandbox in-process: what Odoo-specific behaviour adds to the
ledger contract (tests/unit/test_odoo_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.oauth2 import FileTokenStore
from syncledger.adapters.odoo.errors import (
    OdooThrottled,
    answered_none,
    fault_error,
    translate_json2,
)
from syncledger.adapters.odoo.platform import PLATFORM, rates
from syncledger.adapters.odoo.sandbox.server import DEFAULT_API_KEY
from syncledger.adapters.odoo.versions import dialect_of
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import Rate
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Invoice, InvoiceLine
from syncledger.core.ports import (
    CustomerWrite,
    InvoiceUpdate,
    InvoiceWrite,
    ItemWrite,
    PaymentWrite,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.contracts.steps_contract import StepsUnderTest
from tests.support import documents
from tests.support.documents import (
    create_credit_note,
    create_refund,
    customer,
    invoice,
    payment,
    push_customer,
    push_invoice,
)
from tests.support.odoo import InProcessOdoo, connect, in_process_odoo
from tests.support.writes import pay_invoice, write_invoice


@pytest.fixture(params=["json2", "xmlrpc"])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[InProcessOdoo]:
    async with closed_after(
        in_process_odoo(transport=request.param, per_second=100, per_minute=5000)
    ) as env:
        yield env


# ------------------------------------------------------------------- money


async def test_a_tax_odoo_cannot_compute_is_refused_before_anything_is_written(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    odd = invoice(
        total="10.33",
        lines=(InvoiceLine(description="x", quantity="1", unit_price="10.00", tax_amount="0.33"),),
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(odoo.ledger, customer_id, odd)
    assert refused.value.code == "syncledger.tax_unmatched"
    assert odoo.sandbox.count("invoice") == 0


# ----------------------------------------------------------------- releases


@pytest.fixture
async def odoo_release(request: pytest.FixtureRequest) -> AsyncIterator[InProcessOdoo]:
    """An XML-RPC ledger on a sandbox playing the release ``request.param``."""
    async with closed_after(
        in_process_odoo(transport="xmlrpc", per_second=100, version=request.param)
    ) as env:
        yield env


@pytest.mark.parametrize(
    ("odoo_release", "memo"), [(17, "ref"), (18, "memo"), (19, "memo")], indirect=["odoo_release"]
)
async def test_a_payment_carries_our_reference_in_the_field_its_release_has(
    odoo_release: InProcessOdoo, memo: str
) -> None:
    """``account.payment.memo`` is new in 18.0; on 17 the payment's memo is the ``ref`` of
    the move it inherits (OpenUpgrade's 18.0 account analysis): written, searched and read
    back there. The release is asked once, with ``common.version()``."""
    odoo = odoo_release
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    await pay(odoo, customer_id, invoice_id, "0.30")
    payment_id = await pay(odoo, customer_id, invoice_id, "0.50", applied="0", n=2)
    [create] = odoo.wire.calls("account.payment", "create")
    assert create["args"][0][0][memo] == "csv/payment/P-2"
    assert {"memo", "ref"} - {memo} & set(create["args"][0][0]) == set()
    searched = odoo.wire.calls("account.payment", "search_read")
    assert all(memo in call["fields"] for call in searched)
    found = await odoo.ledger.find("payment", "csv/payment/P-2")
    assert found is not None and (found.ledger_id, found.external_ref) == (
        payment_id,
        "csv/payment/P-2",
    )
    asked = [path for path, body in odoo.wire.sent if b"<methodName>version<" in body]
    assert asked == ["/xmlrpc/2/common"]


@pytest.mark.parametrize("odoo_release", [16], indirect=True)
async def test_a_release_older_than_17_is_refused_with_one_line(
    odoo_release: InProcessOdoo,
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        await odoo_release.ledger.get("customer", "1")
    assert "Odoo 16.0 is older than 17.0" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert [path for path, _ in odoo_release.wire.sent] == ["/xmlrpc/2/common"]


def test_versions_are_read_from_common_version() -> None:
    def info(*version: object) -> dict[str, object]:
        return {"server_version_info": list(version), "server_serie": ""}

    assert dialect_of(info(17, 0, 0, "final", 0, "")).payment_memo == "ref"
    assert dialect_of(info("saas~18", 2, 0, "final", 0, "")).payment_memo == "memo"
    assert dialect_of(info(19, 0, 0, "final", 0, "e")).rate_field == "invoice_currency_rate"
    for old in (info(16, 0, 0, "final", 0, ""), info("saas~17", 2, 0, "final", 0, "")):
        with pytest.raises(ConfigurationError):
            dialect_of(old)
    with pytest.raises(ConfigurationError):
        dialect_of("not a version")


@pytest.mark.parametrize("odoo_release", [17], indirect=True)
async def test_on_17_a_foreign_invoice_goes_out_only_at_the_sources_rate(
    odoo_release: InProcessOdoo,
) -> None:
    """17 has no ``invoice_currency_rate``: the move converts at ``res.currency``'s rate
    for its date, so the adapter reads that rate and writes only when it is ours."""
    odoo = odoo_release
    customer_id = await push_customer(odoo.ledger)
    euro = invoice(currency="EUR", exchange_rate=Decimal("1.25"))  # ours: 0.8 EUR per USD
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(odoo.ledger, customer_id, euro)  # Odoo's table: none, so 1.0
    assert refused.value.code == "syncledger.exchange_rate_differs"
    assert "enter 0.8" in str(refused.value) and odoo.sandbox.count("invoice") == 0
    odoo.sandbox.set_currency_rate("EUR", "2026-03-31", Decimal("0.8"))
    invoice_id = await push_invoice(odoo.ledger, customer_id, euro)
    [create] = odoo.wire.calls("account.move", "create")
    assert "invoice_currency_rate" not in create["args"][0][0]
    reads = odoo.wire.calls("res.currency", "read")  # the refused try's, then this one's
    assert [r["context"] for r in reads] == [{"date": "2026-04-01"}] * 2
    record = await odoo.ledger.get("invoice", invoice_id)
    assert record is not None and (record.currency, record.status) == ("EUR", "open")


@pytest.mark.parametrize("odoo_release", [18], indirect=True)
async def test_on_18_a_foreign_invoice_carries_its_own_rate(odoo_release: InProcessOdoo) -> None:
    customer_id = await push_customer(odoo_release.ledger)
    euro = invoice(currency="EUR", exchange_rate=Decimal("1.25"))
    await push_invoice(odoo_release.ledger, customer_id, euro)
    [create] = odoo_release.wire.calls("account.move", "create")
    assert create["args"][0][0]["invoice_currency_rate"] == Decimal("0.8")
    assert odoo_release.wire.calls("res.currency", "read") == []


async def test_an_invoice_with_payments_is_not_reset_to_draft(odoo: InProcessOdoo) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    await odoo.ledger.apply_payment(
        PaymentWrite(
            payment("0.10", id="P"),
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref="csv/payment/P",
            idempotency_key=key("p"),
        )
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await odoo.ledger.update_invoice(
            InvoiceUpdate(
                invoice(),
                ledger_id=invoice_id,
                version=None,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("u"),
            )
        )
    assert refused.value.code == "syncledger.invoice_has_payments"
    record = await odoo.ledger.get("invoice", invoice_id)
    assert record is not None and record.balance == Decimal("0.20")


# ------------------------------------------------------------------- items


def booked(code: str | None, *rest: str | None) -> Invoice:
    """``invoice()`` with its lines naming items ``code`` and ``rest``."""
    codes = (code, *rest, None)[:2]
    lines = tuple(
        ln.model_copy(update={"item_code": c}) for ln, c in zip(invoice().lines, codes, strict=True)
    )
    return invoice(lines=lines)


def sent_lines(odoo: InProcessOdoo) -> list[dict[str, Any]]:
    """The line values of the last ``account.move`` create sent."""
    call = odoo.wire.calls("account.move", "create")[-1]
    [vals] = call.get("vals_list") or call["args"][0]
    return [command[2] for command in vals["invoice_line_ids"]]


def product_lookups(odoo: InProcessOdoo) -> int:
    return len(odoo.wire.calls("product.product", "search_read"))


def hand_made_product(odoo: InProcessOdoo, code: str) -> int:
    """A product someone made in Odoo (the adapter has not seen it)."""
    vals = {"name": f"{code} by hand", "default_code": code, "type": "service"}
    with odoo.sandbox.book.transaction():
        [ident] = odoo.sandbox.orm.call("product.product", "create", [], {"vals_list": [vals]}, {})
    return int(ident)


async def test_a_line_naming_an_item_carries_its_product_id(odoo: InProcessOdoo) -> None:
    item = await odoo.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    invoice_id = await push_invoice(odoo.ledger, await push_customer(odoo.ledger), booked("SVC-1"))
    first, second = sent_lines(odoo)
    assert first["product_id"] == int(item.ledger_id)
    assert (first["name"], first["price_unit"]) == ("a", Decimal("0.10"))  # still ours
    assert "product_id" not in second
    stored = [ln for ln in odoo.sandbox.records("account.move.line") if ln["move_id"]]
    assert stored[0]["product_id"] == [int(item.ledger_id), "[SVC-1] SVC-1"]
    record = await odoo.ledger.get("invoice", invoice_id)
    assert record is not None
    assert (record.total, record.line_items) == (Decimal("0.30"), ("SVC-1", None))


async def test_a_new_item_is_a_service_booked_where_lines_without_items_are(
    odoo: InProcessOdoo,
) -> None:
    item = await odoo.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    await push_invoice(odoo.ledger, await push_customer(odoo.ledger), booked("SVC-1"))
    [product] = odoo.sandbox.records("product.product")
    assert (product["id"], product["default_code"], product["type"]) == (
        int(item.ledger_id),
        "SVC-1",
        "service",
    )
    [journal] = [j for j in odoo.sandbox.records("account.journal") if j["type"] == "sale"]
    assert product["property_account_income_id"] == journal["default_account_id"]
    accounts = [
        ln["account_id"]
        for ln in odoo.sandbox.records("account.move.line")
        if ln["account_type"] == "income"
    ]
    assert accounts == [journal["default_account_id"]] * 2  # with or without the item


async def test_a_product_gone_since_it_was_cached_is_refused_by_odoo(
    odoo: InProcessOdoo,
) -> None:
    item = await odoo.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    customer_id = await push_customer(odoo.ledger)
    with odoo.sandbox.book.transaction():  # deleted in Odoo behind our back
        odoo.sandbox.book.delete("product.product", int(item.ledger_id))
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(odoo.ledger, customer_id, booked("SVC-1"))
    # JSON-2 names the exception; XML-RPC's fault 2 is every UserError's
    assert refused.value.code in ("odoo.exceptions.MissingError", "2")
    assert "Record does not exist or has been deleted" in str(refused.value)
    assert odoo.sandbox.count("invoice") == 0


async def test_item_lookups_are_cached_per_adapter(odoo: InProcessOdoo) -> None:
    product_id = hand_made_product(odoo, "SVC-1")
    customer_id = await push_customer(odoo.ledger)
    for n in range(1, 4):
        await write_invoice(odoo.ledger, customer_id, booked("SVC-1", "SVC-1"), n)
    assert product_lookups(odoo) == 1  # six lines, three invoices, one lookup
    assert all(ln["product_id"] == product_id for ln in sent_lines(odoo))
    listed = [r.line_items async for r in odoo.ledger.list_all("invoice")]
    assert listed == [("SVC-1", "SVC-1")] * 3
    assert product_lookups(odoo) == 1  # read back through the cache
    fresh = connect(odoo.app, transport=odoo.ledger._rpc.transport, per_second=100, wire=odoo.wire)
    try:
        assert [r.line_items async for r in fresh.list_all("invoice")] == listed
    finally:
        await fresh.aclose()
    assert product_lookups(odoo) == 2  # a new adapter reads the page's unknown ids once


async def test_codes_odoo_lets_two_products_share_resolve_to_the_oldest(
    odoo: InProcessOdoo,
) -> None:
    oldest = hand_made_product(odoo, "SVC-1")
    hand_made_product(odoo, "SVC-1")
    made = await odoo.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    found = await odoo.ledger.find_item("SVC-1")
    assert made.ledger_id == str(oldest)
    assert found is not None and found.ledger_id == str(oldest)
    assert odoo.sandbox.count("item") == 2  # none made


async def test_an_item_can_be_named_by_its_product_id(odoo: InProcessOdoo) -> None:
    product_id = hand_made_product(odoo, "SVC-1")
    invoice_id = await push_invoice(
        odoo.ledger, await push_customer(odoo.ledger), booked(str(product_id))
    )
    assert sent_lines(odoo)[0]["product_id"] == product_id
    record = await odoo.ledger.get("invoice", invoice_id)
    assert record is not None and record.line_items == ("SVC-1", None)


async def test_a_discount_line_is_not_a_document_line(odoo: InProcessOdoo) -> None:
    item = await odoo.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    discounted = booked("SVC-1").model_copy(
        update={"discount": Decimal("0.05"), "total": Decimal("0.25")}
    )
    invoice_id = await push_invoice(odoo.ledger, await push_customer(odoo.ledger), discounted)
    assert [ln.get("product_id") for ln in sent_lines(odoo)] == [int(item.ledger_id), None, None]
    record = await odoo.ledger.find("invoice", "csv/invoice/INV-1")
    assert record is not None and record.ledger_id == invoice_id
    assert (record.total, record.line_items) == (Decimal("0.25"), ("SVC-1", None))


# ------------------------------------------------- overpayments, refunds


async def pay(
    odoo: InProcessOdoo,
    customer_id: str,
    invoice_id: str,
    amount: str,
    applied: str | None = None,
    n: int = 1,
) -> str:
    doc = payment(amount, n)
    return await pay_invoice(odoo.ledger, customer_id, invoice_id, doc, applied, n=n, ref=f"P-{n}")


async def refund_from(
    odoo: InProcessOdoo,
    customer_id: str,
    amount: str,
    *,
    credit_note_id: str | None = None,
    payment_id: str | None = None,
) -> str:
    refund = documents.refund(
        amount,
        payment_id="P-1" if payment_id else None,
        credit_note_id="CN-1" if credit_note_id else None,
    )
    pushed = await create_refund(
        odoo.ledger, customer_id, payment_id or credit_note_id or "", refund
    )
    return pushed.ledger_id


async def open_credit_note(odoo: InProcessOdoo, customer_id: str) -> str:
    note = credit_note("0.25", invoice_id=None)
    pushed = await create_credit_note(odoo.ledger, customer_id, note)
    return pushed.ledger_id


def receivable_of(odoo: InProcessOdoo, **owner: int) -> dict[str, Any]:
    """The receivable journal item of a move (``move_id=``) or payment (``payment_id=``)."""
    [name] = owner
    return next(
        line
        for line in odoo.sandbox.records("account.move.line")
        if line["account_type"] == "asset_receivable"
        and line[name]
        and line[name][0] == owner[name]
    )


async def test_an_overpayment_is_one_inbound_payment_kept_open_never_a_credit_note(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    payment_id = await pay(odoo, customer_id, invoice_id, "1.00", applied="0.30")
    [wizard] = odoo.sandbox.records("account.payment.register")
    assert (wizard["amount"], wizard["payment_difference_handling"]) == (Decimal("1.00"), "open")
    [stored] = odoo.sandbox.records("payment")
    assert (stored["payment_type"], stored["amount"]) == ("inbound", Decimal("1.00"))
    assert stored["reconciled_invoice_ids"] == [int(invoice_id)]
    assert receivable_of(odoo, payment_id=int(payment_id))["amount_residual"] == Decimal("-0.70")
    assert odoo.sandbox.count("credit_note") == 0
    record = await odoo.ledger.get("payment", payment_id)
    assert record is not None and (record.total, record.balance) == (
        Decimal("1.00"),
        Decimal("0.70"),
    )


async def test_nothing_applied_posts_a_payment_reconciled_with_nothing(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    await pay(odoo, customer_id, invoice_id, "0.30")
    payment_id = await pay(odoo, customer_id, invoice_id, "0.50", applied="0", n=2)
    assert len(odoo.sandbox.records("account.payment.register")) == 1  # the first one only
    stored = next(p for p in odoo.sandbox.records("payment") if str(p["id"]) == payment_id)
    assert (stored["state"], stored["reconciled_invoice_ids"]) == ("paid", [])
    assert stored["memo"] == "csv/payment/P-2"
    assert stored["partner_id"][0] == int(customer_id)
    assert receivable_of(odoo, payment_id=int(payment_id))["amount_residual"] == Decimal("-0.50")


async def test_over_xmlrpc_the_none_answer_of_action_post_is_not_a_failure() -> None:
    env = in_process_odoo(transport="xmlrpc", per_second=100, retry=RetryPolicy(attempts=1))
    try:
        customer_id = await push_customer(env.ledger)
        invoice_id = await push_invoice(env.ledger, customer_id)
        await pay(env, customer_id, invoice_id, "0.50", applied="0")  # one try, no retry
        [stored] = env.sandbox.records("payment")
        assert stored["state"] == "paid"
    finally:
        await env.ledger.aclose()
        env.sandbox.close()


async def test_a_payment_left_in_draft_by_an_earlier_try_is_posted_not_duplicated(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    vals = {"partner_id": int(customer_id), "amount": Decimal("0.50"), "memo": "csv/payment/P-1"}
    with odoo.sandbox.book.transaction():  # the create committed, the post never came
        odoo.sandbox.orm.call("account.payment", "create", [], {"vals_list": [vals]}, {})
    # the journal holds the create's intent without its outcome, as the sync's log does
    journal = StepsUnderTest(key("p", 1), logged={"create": None})
    pushed = await odoo.ledger.apply_payment(
        PaymentWrite(
            payment("0.50"),
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref="csv/payment/P-1",
            idempotency_key=key("p", 1),
            steps=journal,
            applied=Decimal(0),
        )
    )
    assert pushed.recovered
    assert journal.finds == 1
    [stored] = odoo.sandbox.records("payment")
    assert stored["state"] == "paid"
    record = await odoo.ledger.get("payment", pushed.ledger_id)
    assert record is not None and record.balance == Decimal("0.50")


async def test_a_credit_note_refund_is_an_outbound_payment_reconciled_with_it(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    credit_id = await open_credit_note(odoo, customer_id)
    refund_id = await refund_from(odoo, customer_id, "0.10", credit_note_id=credit_id)
    [wizard] = odoo.sandbox.records("account.payment.register")
    assert wizard["line_ids"] == [receivable_of(odoo, move_id=int(credit_id))["id"]]
    assert wizard["payment_difference_handling"] == "open"
    [stored] = odoo.sandbox.records("refund")
    assert str(stored["id"]) == refund_id
    assert (stored["payment_type"], stored["partner_type"]) == ("outbound", "customer")
    assert (stored["amount"], stored["memo"]) == (Decimal("0.10"), "csv/refund/R-1")
    assert receivable_of(odoo, move_id=int(credit_id))["amount_residual"] == Decimal("-0.15")
    assert odoo.sandbox.count("payment") == 0  # a refund is not a payment received
    listed = [r async for r in odoo.ledger.list_all("refund")]
    assert [(r.ledger_id, r.total, r.status) for r in listed] == [
        (refund_id, Decimal("0.10"), "refunded")
    ]


async def test_an_overpayment_refund_is_reconciled_with_its_outstanding_item(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    payment_id = await pay(odoo, customer_id, invoice_id, "1.00", applied="0.30")
    await refund_from(odoo, customer_id, "0.20", payment_id=payment_id)
    assert receivable_of(odoo, payment_id=int(payment_id))["amount_residual"] == Decimal("-0.50")
    record = await odoo.ledger.get("payment", payment_id)
    assert record is not None and record.balance == Decimal("0.50")
    [refund] = odoo.sandbox.records("refund")
    assert receivable_of(odoo, payment_id=refund["id"])["amount_residual"] == 0


# ------------------------------------------- applications, multi-write steps


def credit_note(total: str, invoice_id: str | None = "INV-1") -> CreditNote:
    return documents.credit_note(total, description="goodwill", invoice_id=invoice_id)


async def test_with_a_journal_a_server_error_between_two_writes_is_the_syncs_to_retry(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    odoo.sandbox.faults.update({"match": "action_post", "match_fail": 1, "fail_status": 503})
    journal = StepsUnderTest(key("i"))

    async def push() -> str:
        pushed = await odoo.ledger.create_invoice(
            InvoiceWrite(
                invoice(),
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("i"),
                steps=journal,
            )
        )
        return pushed.ledger_id

    with pytest.raises(TransientLedgerError):
        await push()  # not retried here: the sync logs the failed step and retries it
    assert odoo.sandbox.faults.matched == 1
    [draft] = odoo.sandbox.records("invoice")
    assert draft["state"] == "draft"
    invoice_id = await push()
    assert journal.names == ["create", "post"]
    [posted] = odoo.sandbox.records("invoice")
    assert (str(posted["id"]), posted["state"]) == (invoice_id, "posted")


async def test_a_refused_update_leaves_the_invoice_posted_as_it_was(odoo: InProcessOdoo) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    odd = invoice(
        total="10.33",
        lines=(InvoiceLine(description="x", quantity="1", unit_price="10.00", tax_amount="0.33"),),
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await odoo.ledger.update_invoice(
            InvoiceUpdate(
                odd,
                ledger_id=invoice_id,
                version=None,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("u"),
                steps=StepsUnderTest(key("u")),
            )
        )
    assert refused.value.code == "syncledger.tax_unmatched"
    [stored] = odoo.sandbox.records("invoice")
    assert (stored["state"], stored["amount_total"]) == ("posted", Decimal("0.30"))


# -------------------------------------------------------------- pagination


async def test_match_customer_ignores_case_and_finds_by_tax_id(odoo: InProcessOdoo) -> None:
    await odoo.ledger.create_customer(
        CustomerWrite(
            customer(1, tax_id="DE123456789"),
            external_ref="csv/customer/C-1",
            idempotency_key=key("c"),
        )
    )
    by_name = await odoo.ledger.match_customer(customer(2, name="CUSTOMER 1"))
    by_vat = await odoo.ledger.match_customer(customer(3, tax_id="DE123456789"))
    assert (
        [r.external_ref for r in by_name]
        == [r.external_ref for r in by_vat]
        == ["csv/customer/C-1"]
    )
    assert await odoo.ledger.match_customer(customer(4, name="Customer 10")) == []


# -------------------------------------------------------------------- auth


async def test_rotation_persists_the_new_key_then_revokes_the_old(
    odoo: InProcessOdoo, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "odoo.json")
    transport = odoo.ledger._rpc.transport
    rotating = connect(odoo.app, transport=transport, per_second=100, key_store=store)
    other_process = connect(
        odoo.app,
        transport=transport,
        per_second=100,
        key_store=FileTokenStore(tmp_path / "odoo.json"),
    )
    stale = connect(odoo.app, transport=transport, per_second=100)  # still holds the old key
    try:
        await rotating.rotate_api_key(valid_days=30)
        saved = store.load()
        assert saved is not None and saved.access_token != DEFAULT_API_KEY
        assert odoo.sandbox.key_uid(saved.access_token) is not None
        assert odoo.sandbox.key_uid(DEFAULT_API_KEY) is None
        customer_id = await push_customer(rotating)
        assert await other_process.get("customer", customer_id) is not None  # reads the store
        with pytest.raises(AuthExpiredError):
            await stale.get("customer", customer_id)
    finally:
        for ledger in (rotating, other_process, stale):
            await ledger.aclose()


# ----------------------------------------------------------- error mapping


DOCUMENTED = (
    b'{"name": "odoo.exceptions.UserError", "message": "No way", "arguments": ["No way"],'
    b' "context": {}, "debug": "Traceback SECRET"}'
)
UNAUTHORIZED = b'{"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey"}'
JSON2_ERRORS = [
    (  # the exception's name, its message, not its traceback
        answer(422, DOCUMENTED),
        Translated(
            PermanentLedgerError, "odoo.exceptions.UserError", says=("No way",), hides=("SECRET",)
        ),
    ),
    (
        answer(422, b"\"got an unexpected keyword argument 'x'\""),
        Translated(PermanentLedgerError, "HTTP 422"),
    ),
    (answer(429, b"{}", **{"Retry-After": "3"}), Translated(OdooThrottled, "429", 3)),
    (answer(503, b"<html>"), Translated(TransientLedgerError, "HTTP 503")),
    (answer(401, UNAUTHORIZED), Translated(AuthExpiredError, "werkzeug.exceptions.Unauthorized")),
]


@pytest.mark.parametrize(("answer", "expected"), JSON2_ERRORS)
def test_json2_errors_map_by_status_and_keep_the_exception_name(
    answer: httpx.Response, expected: Translated
) -> None:
    assert translated(translate_json2(answer), expected) == expected


def test_the_fault_for_a_none_answer_reads_as_done_and_no_other() -> None:
    after_commit = (
        "Traceback (most recent call last):\n  ...\n"
        "TypeError: cannot marshal None unless allow_none is enabled\n"
    )
    assert answered_none(1, after_commit)
    assert not answered_none(2, after_commit)
    assert not answered_none(1, "Traceback\nValueError: bad field")


def test_xmlrpc_faults_map_by_code() -> None:
    assert isinstance(fault_error(3, "Access Denied", "x"), AuthExpiredError)
    warning = fault_error(2, "Record does not exist", "x")
    assert isinstance(warning, PermanentLedgerError) and warning.code == "2"
    crash = fault_error(
        1, 'Traceback (most recent call last):\n  File "x", line 1\nValueError: bad field', "x"
    )
    assert isinstance(crash, TransientLedgerError)
    assert "ValueError: bad field" in str(crash) and "Traceback" not in str(crash)


# --------------------------------------------------------------- platform


def test_capabilities_follow_the_configured_limits() -> None:
    assert rates({}) == (Rate(4, 1.0), Rate(120, 60.0))
    assert rates({"requests_per_minute": "30", "requests_per_second": "1"}) == (
        Rate(1, 1.0),
        Rate(30, 60.0),
    )
    with pytest.raises(ConfigurationError):
        rates({"requests_per_minute": "lots"})


async def test_the_platform_refuses_an_unknown_transport_and_serves_without_a_key(
    tmp_path: Path,
) -> None:
    """The rest of the platform's wiring: tests/contracts/ledger_sections.py PlatformSection."""
    with pytest.raises(ConfigurationError):
        PLATFORM.connect(
            Connection(
                "https://example.odoo.com",
                tmp_path / "t.json",
                {"api_key": "k", "transport": "soap"},
            )
        )
    served = PLATFORM.connect(Connection("http://127.0.0.1:8069", tmp_path / "s.json", {}))
    await served.aclose()  # no key on this machine: the served sandbox and its public key
