"""QBO tax models (issue 10): what the adapter sends for each (the request bodies), what the
sandbox company holds for each, and the read-back that shows QBO's own tax."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.qbo.mapping import QboMapping, load_mapping
from syncledger.adapters.qbo.tax import CompanyTax, TaxPlan, company_tax
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import Invoice, InvoiceLine
from syncledger.core.ports import CustomerUpdate, CustomerWrite
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer, invoice, push_customer, push_invoice
from tests.support.qbo import InProcessQbo, in_process_qbo
from tests.support.writes import update_invoice, write_invoice
from tests.unit.test_qbo_sandbox import Qbo, code_of, sales_line

TAXED = (
    InvoiceLine(description="boiler", quantity="2", unit_price="75.50", tax_amount="12.08"),
    InvoiceLine(description="valve", quantity="3", unit_price="9.99", tax_amount="2.40"),
    InvoiceLine(description="call-out", quantity="1", unit_price="40.00"),
)


def taxed_invoice(discount: str = "10.00", currency: str = "USD") -> Invoice:
    # 151.00 + 29.97 + 40.00 + 14.48 tax - discount
    total = Decimal("235.45") - Decimal(discount)
    return invoice(str(total), currency, lines=TAXED, discount=Decimal(discount))


def mapping_with(tmp_path: Path, *changes: tuple[str, str]) -> QboMapping:
    """The default QBO mapping file with ``changes`` (old, new) made to its text."""
    text = Path("adapters/qbo/mapping.toml").read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "qbo.toml"
    path.write_text(text)
    return load_mapping(path)


def sent(env: InProcessQbo, resource: str = "invoice") -> list[dict[str, Any]]:
    """The bodies the adapter POSTed to ``resource``."""
    return [decode_json(r.content) for r in env.transport.posts(resource)]


def gets(env: InProcessQbo, tail: str) -> int:
    return sum(1 for r in env.transport.requests if r.method == "GET" and tail in r.url.path)


@pytest.fixture
async def ast() -> AsyncIterator[InProcessQbo]:
    async with closed_after(
        in_process_qbo(per_second=50, per_minute=2000, ast_rate=Decimal("0.08"))
    ) as env:
        yield env


@pytest.fixture
async def manual() -> AsyncIterator[InProcessQbo]:
    async with closed_after(in_process_qbo(per_second=50, per_minute=2000)) as env:
        yield env


# ------------------------------------------------------- the adapter's bodies


async def test_under_automated_sales_tax_lines_say_tax_or_non_and_no_amount_is_sent(
    ast: InProcessQbo,
) -> None:
    customer_id = await push_customer(ast.ledger)
    invoice_id = await push_invoice(ast.ledger, customer_id, taxed_invoice())
    [body] = sent(ast)
    codes = [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in body["Line"][:3]]
    assert codes == ["TAX", "TAX", "NON"]
    # the customer's DefaultTaxCodeRef, which AST filled in; no TotalTax, no TaxLine
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "2"}}
    assert body["ApplyTaxAfterDiscount"] is False  # our discount comes off after tax
    assert "GlobalTaxCalculation" not in body
    record = await ast.ledger.get("invoice", invoice_id)
    assert record is not None
    assert (record.tax, record.total) == (Decimal("14.48"), Decimal("225.45"))


async def test_the_tax_model_and_a_customers_tax_code_are_read_once(ast: InProcessQbo) -> None:
    customer_id = await push_customer(ast.ledger)
    await push_invoice(ast.ledger, customer_id, taxed_invoice())
    await write_invoice(ast.ledger, customer_id, taxed_invoice(), 2)
    assert (gets(ast, "/preferences"), gets(ast, "/companyinfo/")) == (1, 1)
    assert gets(ast, f"/customer/{customer_id}") == 1
    assert [b["TxnTaxDetail"] for b in sent(ast)] == [{"TxnTaxCodeRef": {"value": "2"}}] * 2


async def test_tax_qbo_computes_differently_is_what_the_record_holds_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = in_process_qbo(per_second=50, per_minute=2000, ast_rate=Decimal("0.05"))
    customer_id = await push_customer(env.ledger)
    with caplog.at_level(logging.WARNING, logger="syncledger.qbo"):
        invoice_id = await push_invoice(env.ledger, customer_id, taxed_invoice())
    record = await env.ledger.get("invoice", invoice_id)
    assert record is not None
    # 5 % of the 180.97 taxed: QBO's tax, not the 14.48 the source says
    assert (record.tax, record.total) == (Decimal("9.05"), Decimal("220.02"))
    assert "QuickBooks computed tax 9.05 and total 220.02" in caplog.text
    assert "the source says tax 14.48 and total 225.45" in caplog.text
    await env.ledger.aclose()
    env.sandbox.close()


async def test_without_automated_sales_tax_the_explicit_tax_detail_is_sent(
    manual: InProcessQbo,
) -> None:
    customer_id = await push_customer(manual.ledger)
    invoice_id = await push_invoice(manual.ledger, customer_id, taxed_invoice())
    [body] = sent(manual)
    detail = body["TxnTaxDetail"]
    assert detail["TotalTax"] == Decimal("14.48")
    assert [t["Amount"] for t in detail["TaxLine"]] == [Decimal("12.08"), Decimal("2.40")]
    assert [t["TaxLineDetail"]["NetAmountTaxable"] for t in detail["TaxLine"]] == [
        Decimal("151.00"),
        Decimal("29.97"),
    ]
    assert "TxnTaxCodeRef" not in detail  # the customer has no default tax code
    assert "GlobalTaxCalculation" not in body  # a non-US field
    record = await manual.ledger.get("invoice", invoice_id)
    assert record is not None and record.tax == Decimal("14.48")


async def test_a_transaction_tax_code_from_the_mapping_is_sent(tmp_path: Path) -> None:
    mapping = mapping_with(tmp_path, ('txn_tax_code_ref = ""', 'txn_tax_code_ref = "7"'))
    env = in_process_qbo(ledger_options={"mapping": mapping})
    customer_id = await push_customer(env.ledger)
    await push_invoice(env.ledger, customer_id, taxed_invoice())
    [body] = sent(env)
    assert body["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "7"}
    assert gets(env, f"/customer/{customer_id}") == 0  # no need to ask the customer
    await env.ledger.aclose()
    env.sandbox.close()


async def test_outside_the_us_pseudo_tax_codes_are_refused_before_sending() -> None:
    env = in_process_qbo(country="GB", home_currency="GBP")
    customer_id = await push_customer(env.ledger, currency="GBP")
    with pytest.raises(ConfigurationError, match="TaxCode ids"):
        await push_invoice(env.ledger, customer_id, invoice(currency="GBP"))
    assert sent(env) == []
    await env.ledger.aclose()
    env.sandbox.close()


async def test_outside_the_us_tax_codes_and_global_tax_calculation_are_sent(
    tmp_path: Path,
) -> None:
    mapping = mapping_with(
        tmp_path,
        ('taxable_code = "TAX"', 'taxable_code = "20"'),
        ('non_taxable_code = "NON"', 'non_taxable_code = "21"'),
    )
    env = in_process_qbo(country="GB", home_currency="GBP", ledger_options={"mapping": mapping})
    customer_id = await push_customer(env.ledger, currency="GBP")
    invoice_id = await push_invoice(env.ledger, customer_id, taxed_invoice(currency="GBP"))
    [body] = sent(env)
    codes = [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in body["Line"][:3]]
    assert codes == ["20", "20", "21"]
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert body["TxnTaxDetail"]["TotalTax"] == Decimal("14.48")
    assert "TxnTaxCodeRef" not in body["TxnTaxDetail"]  # a US-only field
    record = await env.ledger.get("invoice", invoice_id)
    assert record is not None and record.tax == Decimal("14.48")
    await env.ledger.aclose()
    env.sandbox.close()


def test_the_model_follows_country_and_partner_tax_enabled() -> None:
    assert company_tax("US", {"PartnerTaxEnabled": True}) == CompanyTax("automated")
    assert company_tax("US", {"PartnerTaxEnabled": False}) == CompanyTax("automated", False)
    assert company_tax("US", {"UsingSalesTax": True}) == CompanyTax("us_manual")
    assert company_tax("CA", {"PartnerTaxEnabled": True}) == CompanyTax("global")


def test_ast_without_sales_tax_set_up_refuses_a_taxed_document() -> None:
    plan = TaxPlan(CompanyTax("automated", set_up=False), load_mapping().tax)
    with pytest.raises(PermanentLedgerError) as refused:
        plan.header(taxed_invoice())
    assert refused.value.code == "syncledger.tax_not_set_up"
    assert plan.header(invoice()) == {}  # nothing to tax: nothing to refuse


async def test_an_update_with_automated_sales_tax_sends_no_zero_tax_override(
    ast: InProcessQbo,
) -> None:
    customer_id = await push_customer(ast.ledger)
    invoice_id = await push_invoice(ast.ledger, customer_id, taxed_invoice())
    await update_invoice(ast.ledger, customer_id, invoice_id, invoice(), None)
    update = sent(ast)[-1]
    assert "TxnTaxDetail" not in update  # a TotalTax 0 would override the engine
    record = await ast.ledger.get("invoice", invoice_id)
    assert record is not None and (record.tax, record.total) == (Decimal(0), Decimal("0.30"))


async def test_a_customer_note_past_1024_characters_is_refused_before_sending(
    manual: InProcessQbo,
) -> None:
    ledger_id = await push_customer(manual.ledger)
    stored = manual.sandbox.book.get("Customer", ledger_id)
    assert stored is not None
    manual.sandbox.book.put("Customer", stored | {"Notes": "n" * 1000 + "\n" + stored["Notes"]})
    posts_before = len(sent(manual, "customer"))
    with pytest.raises(PermanentLedgerError) as refused:
        await manual.ledger.update_customer(
            CustomerUpdate(
                customer(1, email="a@b.example"),
                ledger_id=ledger_id,
                version=None,
                external_ref="csv/customer/C-1",
                idempotency_key=key("cu"),
            )
        )
    assert refused.value.code == "syncledger.too_long"
    assert "1024" in str(refused.value)
    assert len(sent(manual, "customer")) == posts_before


async def test_a_name_qbo_refuses_for_its_characters_is_a_2040_refusal(
    manual: InProcessQbo,
) -> None:
    with pytest.raises(PermanentLedgerError) as refused:
        await manual.ledger.create_customer(
            CustomerWrite(
                customer(1, name="Rob:Barnett:Company"),
                external_ref="csv/customer/C-1",
                idempotency_key=key("c"),
            )
        )
    assert refused.value.code == "2040"
    assert manual.sandbox.count("customer") == 0


# ------------------------------------------------------ the sandbox company


@pytest.fixture
async def ast_company() -> AsyncIterator[Qbo]:
    from syncledger.adapters.qbo.sandbox.server import create_app

    client = Qbo(create_app(ast_rate=Decimal("0.08")))
    await client.login()
    yield client
    await client.http.aclose()
    client.sandbox.close()


@pytest.fixture
async def manual_company() -> AsyncIterator[Qbo]:
    from syncledger.adapters.qbo.sandbox.server import create_app

    client = Qbo(create_app())
    await client.login()
    yield client
    await client.http.aclose()
    client.sandbox.close()


def taxed(amount: str, code: str, qty: str = "1") -> dict[str, Any]:
    line = sales_line(amount, qty, str(Decimal(amount) / Decimal(qty)))
    line["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code}
    return line


OLD_BODY_TAX = {
    "TotalTax": Decimal("14.48"),
    "TaxLine": [{"Amount": Decimal("14.48"), "DetailType": "TaxLineDetail"}],
}


async def test_ast_ignores_the_explicit_tax_the_old_body_sent(ast_company: Qbo) -> None:
    """The adapter's old body: explicit TaxLines and no line tax codes. An AST company
    computes its own tax from the lines marked TAX, of which there are none."""
    customer = await ast_company.customer()
    old = await ast_company.invoice(
        customer["Id"], Line=[sales_line("151.00"), sales_line("29.97")], TxnTaxDetail=OLD_BODY_TAX
    )
    assert (old["TxnTaxDetail"]["TotalTax"], old["TotalAmt"]) == (Decimal(0), Decimal("180.97"))
    new = await ast_company.invoice(
        customer["Id"], Line=[taxed("151.00", "TAX"), taxed("29.97", "TAX"), taxed("40.00", "NON")]
    )
    detail = new["TxnTaxDetail"]
    assert (detail["TotalTax"], new["TotalAmt"]) == (Decimal("14.48"), Decimal("235.45"))
    assert detail["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == Decimal("180.97")


async def test_ast_takes_the_discount_off_the_taxable_amount_only_when_asked(
    ast_company: Qbo,
) -> None:
    customer = await ast_company.customer()
    discount = {
        "DetailType": "DiscountLineDetail",
        "Amount": Decimal("20.00"),
        "DiscountLineDetail": {"PercentBased": False},
    }
    lines = [taxed("100.00", "TAX"), taxed("100.00", "NON"), discount]
    after = await ast_company.invoice(customer["Id"], Line=lines, ApplyTaxAfterDiscount=False)
    before = await ast_company.invoice(customer["Id"], Line=lines, ApplyTaxAfterDiscount=True)
    assert after["TxnTaxDetail"]["TotalTax"] == Decimal("8.00")  # 8 % of 100
    assert before["TxnTaxDetail"]["TotalTax"] == Decimal("7.20")  # 8 % of 100 - 10
    memo = await ast_company.create(
        "CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [taxed("50.00", "TAX")]}
    )
    assert (memo["TxnTaxDetail"]["TotalTax"], memo["TotalAmt"]) == (
        Decimal("4.00"),
        Decimal("54.00"),
    )


async def test_a_us_line_tax_code_other_than_tax_or_non_is_6100(
    ast_company: Qbo, manual_company: Qbo
) -> None:
    for client in (ast_company, manual_company):
        customer = await client.customer()
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": [taxed("10.00", "5")]}
        status, answer = await client.call("POST", "/invoice", body)
        assert (status, code_of(answer)) == (400, "6100")
        assert client.sandbox.count("invoice") == 0


async def test_preferences_and_company_info_tell_the_tax_model(
    ast_company: Qbo, manual_company: Qbo
) -> None:
    status, prefs = await ast_company.call("GET", "/preferences")
    assert status == 200 and prefs["Preferences"]["TaxPrefs"]["PartnerTaxEnabled"] is True
    status, prefs = await manual_company.call("GET", "/preferences")
    assert status == 200 and "PartnerTaxEnabled" not in prefs["Preferences"]["TaxPrefs"]
    status, info = await ast_company.call("GET", f"/companyinfo/{ast_company.sandbox.realm_id}")
    assert status == 200 and info["CompanyInfo"]["Country"] == "US"
    status, answer = await ast_company.call("GET", "/companyinfo/other")
    assert (status, code_of(answer)) == (400, "610")
    created = await ast_company.customer()
    assert created["DefaultTaxCodeRef"]["value"] == "2"


async def test_customer_notes_are_at_most_1024_characters(manual_company: Qbo) -> None:
    """Intuit's XSD (IntuitNamesTypes.xsd, Customer.Notes): 1024; the sandbox had 2000."""
    await manual_company.customer("Fits", Notes="n" * 1024)
    status, answer = await manual_company.call(
        "POST", "/customer", {"DisplayName": "Long", "Notes": "n" * 1025}
    )
    assert (status, code_of(answer)) == (400, "2050")
    assert manual_company.sandbox.count("customer") == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"TxnTaxDetail": {"TotalTax": Decimal(0), "TaxAmount": Decimal(1)}}, "2010"),
        ({"GlobalTaxCalculation": "TaxIncluded"}, "2170"),  # the enum says TaxInclusive
    ],
)
async def test_tax_fields_outside_intuits_schema_are_refused(
    manual_company: Qbo, fields: dict[str, Any], code: str
) -> None:
    customer = await manual_company.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("1.00")], **fields}
    status, answer = await manual_company.call("POST", "/invoice", body)
    assert (status, code_of(answer)) == (400, code)
    assert manual_company.sandbox.count("invoice") == 0
