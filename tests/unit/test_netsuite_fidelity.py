"""Issue 10, NetSuite: each defect found by checking our request bodies against Oracle's
references, fixed in the adapter (what goes out on the wire) and fenced by the sandbox
(the old body meets what a SuiteTax account does with it). Sources: the docstrings of
adapters/netsuite/mapping.py and adapters/netsuite/sandbox/schema.py."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.netsuite.mapping import NetSuiteMapping, Tax, load_mapping
from syncledger.adapters.netsuite.sandbox.server import create_app
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import InvoiceLine, Payment
from syncledger.core.ports import CustomerWrite, ItemWrite
from tests.contracts.ledger_contract import key
from tests.support import documents
from tests.support.documents import (
    apply_payment,
    create_credit_note,
    create_refund,
    customer,
    invoice,
    push_customer,
    push_invoice,
)
from tests.support.netsuite import InProcessNetSuite, Sent, in_process_netsuite
from tests.unit.test_netsuite_sandbox import (
    API,
    Ns,
    code_of,
    error_of,
    line,
    refund,
    service_item,
    taxed,
)

TAXED_LINES = (
    InvoiceLine(description="Boiler", quantity="2", unit_price="75.50", tax_amount="12.08"),
    InvoiceLine(description="Call-out", quantity="1", unit_price="40.00"),
)


def netsuite(mapping: NetSuiteMapping | None = None) -> InProcessNetSuite:
    return in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, mapping=mapping)


@pytest.fixture
async def ns() -> AsyncIterator[InProcessNetSuite]:
    env = netsuite()
    yield env
    await env.aclose()


@pytest.fixture
async def http() -> AsyncIterator[Ns]:
    client = Ns(create_app(concurrency=50, per_minute=1000))
    yield client
    await client.aclose()
    client.sandbox.close()


def mapping(**changes: Any) -> NetSuiteMapping:
    return dataclasses.replace(load_mapping(), **changes)


def sent_to(wire_sent: list[Sent], method: str, part: str) -> list[Sent]:
    return [s for s in wire_sent if s.method == method and part in s.path]


def payment(amount: str) -> Payment:
    return documents.payment(amount, reference="CHK 1")


async def pay(env: InProcessNetSuite, customer_id: str, invoice_id: str, amount: str) -> str:
    pushed = await apply_payment(env.ledger, customer_id, invoice_id, payment(amount))
    return pushed.ledger_id


async def post(http: Ns, record: str, body: dict[str, Any]) -> tuple[int, str, str | None]:
    answer = await http.call("POST", f"{API}/{record}", body)
    if answer.status_code == 204:
        return 204, "", None
    return answer.status_code, code_of(answer), error_of(answer).get("o:errorPath")


# ------------------------------------------------ amounts are JSON numbers


async def test_amounts_go_out_as_exact_json_numbers(ns: InProcessNetSuite) -> None:
    customer_id = await push_customer(ns.ledger, currency="EUR")
    price = InvoiceLine(description="x", quantity="1", unit_price="144.22")
    rated = invoice("144.22", "EUR", lines=(price,), exchange_rate=Decimal("1.085000001"))
    invoice_id = await push_invoice(ns.ledger, customer_id, rated)
    await pay(ns, customer_id, invoice_id, "144.22")
    [document] = sent_to(ns.wire.sent, "PUT", "/invoice/eid:")
    assert b'"rate":144.22,"amount":144.22' in document.raw
    assert b'"exchangeRate":1.085000001' in document.raw  # exact: no float rounding
    [received] = sent_to(ns.wire.sent, "PUT", "/customerPayment/eid:")
    assert b'"payment":144.22' in received.raw and b'"144.22"' not in received.raw
    [stored] = ns.sandbox.records("payment")
    assert stored["payment"] == Decimal("144.22")


async def test_amounts_sent_as_json_strings_are_refused(http: Ns) -> None:
    customer_id = await http.customer()
    text_payment = {"customer": {"id": customer_id}, "payment": "144.22"}
    assert await post(http, "customerPayment", text_payment) == (
        400,
        "INVALID_CONTENT",
        "payment",
    )
    text_rate = {"entity": {"id": customer_id}, "item": {"items": [line("1") | {"rate": "1.00"}]}}
    assert await post(http, "invoice", text_rate) == (400, "INVALID_CONTENT", "item.items[0].rate")
    assert http.sandbox.count("payment") == http.sandbox.count("invoice") == 0


# ------------------------------------------------------------ SuiteTax


async def test_tax_goes_out_as_suitetax_tax_lines_with_the_mapping_s_codes(
    ns: InProcessNetSuite,
) -> None:
    invoice_id = await push_invoice(
        ns.ledger, await push_customer(ns.ledger), invoice("203.08", lines=TAXED_LINES)
    )
    [sent] = ns.wire.bodies("PUT", "/invoice/eid:")
    assert [sorted(ln) for ln in sent["item"]["items"]] == [
        ["amount", "description", "item", "quantity", "rate", "taxDetailsReference"]
    ] * 2  # no tax1Amt, no line taxCode
    assert sent["taxDetailsOverride"] is True
    assert sent["taxDetails"]["items"] == [
        {
            "taxDetailsReference": "line1",
            "taxType": {"id": "1"},  # [tax] type
            "taxCode": {"id": "10"},  # [tax] taxable_code
            "taxBasis": Decimal("151.00"),
            "taxRate": Decimal("8.0000"),
            "taxAmount": Decimal("12.08"),
        }
    ]
    record = await ns.ledger.get("invoice", invoice_id)
    assert record is not None and (record.total, record.tax) == (
        Decimal("203.08"),
        Decimal("12.08"),
    )
    assert ns.sandbox.ignored == []


async def test_lines_without_tax_get_the_non_taxable_code_when_one_is_set() -> None:
    env = netsuite(mapping(tax=Tax(type="1", taxable_code="10", non_taxable_code="11")))
    await push_invoice(
        env.ledger, await push_customer(env.ledger), invoice("203.08", lines=TAXED_LINES)
    )
    [sent] = env.wire.bodies("PUT", "/invoice/eid:")
    codes = [
        (d["taxDetailsReference"], d["taxCode"], d["taxAmount"])
        for d in sent["taxDetails"]["items"]
    ]
    assert codes == [("line1", {"id": "10"}, Decimal("12.08")), ("line2", {"id": "11"}, Decimal(0))]
    [stored] = env.sandbox.records("invoice")
    assert (stored["taxTotal"], stored["total"]) == (Decimal("12.08"), Decimal("203.08"))
    await env.aclose()


async def test_a_taxed_line_without_a_tax_code_configured_is_refused_before_sending() -> None:
    env = netsuite(mapping(tax=Tax()))
    customer_id = await push_customer(env.ledger)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(env.ledger, customer_id, invoice("203.08", lines=TAXED_LINES))
    assert refused.value.code == "syncledger.tax_code_missing"
    assert "[tax] type and taxable_code" in str(refused.value)
    assert sent_to(env.wire.sent, "PUT", "/invoice/") == []
    await env.aclose()


def as_legacy_tax(sent: Sent) -> Any:
    """The invoice as the adapter used to send it: tax as ``tax1Amt`` on its lines, no
    SuiteTax tax lines (what the account receives; the ledger sent SuiteTax)."""
    if sent.method != "PUT" or "/invoice/" not in sent.path:
        return sent.body
    body = dict(sent.body)
    taxes = {d["taxDetailsReference"]: d["taxAmount"] for d in body.pop("taxDetails")["items"]}
    body.pop("taxDetailsOverride")
    lines = body["item"]["items"]
    body["item"] = {
        "items": [ln | {"tax1Amt": taxes.get(ln["taxDetailsReference"], 0)} for ln in lines]
    }
    return body


async def test_a_tax_the_account_does_not_take_is_a_mismatch_not_a_quiet_total(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    ns.wire.rewrite = as_legacy_tax
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(ns.ledger, customer_id, invoice("203.08", lines=TAXED_LINES))
    assert refused.value.code == "syncledger.ledger_total_differs"
    assert "holds total 191.00, tax 0" in str(refused.value)
    assert "sent total 203.08, tax 12.08" in str(refused.value)
    [held] = ns.sandbox.records("invoice")  # booked without its tax: not reported done
    assert (held["total"], held["taxTotal"]) == (Decimal("191.00"), Decimal(0))


async def test_legacy_tax_fields_are_not_taken_by_a_suitetax_account(http: Ns) -> None:
    customer_id = await http.customer(vatRegNumber="DE136695976")
    legacy = line("100.00") | {"tax1Amt": Decimal("8.00"), "taxCode": {"id": "10"}}
    invoice_id = await http.invoice(customer_id, legacy)
    stored = await http.get("invoice", invoice_id)
    assert (stored["total"], stored["taxTotal"]) == (Decimal("100.00"), Decimal(0))
    assert "tax1Amt" not in stored["item"]["items"][0]
    assert "vatRegNumber" not in await http.get("customer", customer_id)
    assert http.sandbox.ignored == [
        "customer:vatRegNumber",
        "invoice:item.items[0].tax1Amt",
        "invoice:item.items[0].taxCode",
    ]


async def test_tax_lines_under_the_override_are_booked_and_checked(http: Ns) -> None:
    customer_id = await http.customer()
    body = {
        "entity": {"id": customer_id},
        "item": {"items": [line("100", taxDetailsReference="a")]},
    }
    booked = await http.create("invoice", body | taxed(("a", "100", "8.00")))
    assert (await http.get("invoice", booked))["total"] == Decimal("108.00")
    engine = await http.create(
        "invoice", body | {"taxDetails": taxed(("a", "100", "8"))["taxDetails"]}
    )
    assert (await http.get("invoice", engine))["taxTotal"] == 0  # no override: no engine tax
    at = "taxDetails.items[0]"
    wrong = {
        "an unknown code": ({"taxCode": {"id": "99"}}, "INVALID_CONTENT", f"{at}.taxCode"),
        "no amount": ({"taxAmount": None}, "USER_ERROR", f"{at}.taxAmount"),
        "an amount as text": ({"taxAmount": "8.00"}, "INVALID_CONTENT", f"{at}.taxAmount"),
        "no such line": (
            {"taxDetailsReference": "z"},
            "INVALID_CONTENT",
            f"{at}.taxDetailsReference",
        ),
    }
    for change, code, path in wrong.values():
        tax = taxed(("a", "100", "8.00"))
        tax["taxDetails"]["items"][0] |= change
        assert await post(http, "invoice", body | tax) == (400, code, path)
    assert http.sandbox.count("invoice") == 2


# ------------------------------------------------------- Check #


async def test_the_payment_reference_goes_to_check_num(ns: InProcessNetSuite) -> None:
    customer_id = await push_customer(ns.ledger)
    paid = await pay(ns, customer_id, await push_invoice(ns.ledger, customer_id), "0.10")
    [sent] = ns.wire.bodies("PUT", "/customerPayment/eid:")
    assert (sent["checkNum"], "checkNumber" in sent) == ("CHK 1", False)
    record = await ns.ledger.get("payment", paid)
    assert record is not None and record.name == "CHK 1"


async def test_check_number_is_not_where_the_account_keeps_the_check_number(http: Ns) -> None:
    customer_id = await http.customer()
    body = {"customer": {"id": customer_id}, "payment": Decimal("5.00")}
    wrong = await http.get(
        "customerPayment", await http.create("customerPayment", body | {"checkNumber": "CHK 1"})
    )
    assert "checkNumber" not in wrong and "checkNum" not in wrong
    assert http.sandbox.ignored == ["customerPayment:checkNumber"]
    right = await http.get(
        "customerPayment", await http.create("customerPayment", body | {"checkNum": "CHK 2"})
    )
    assert right["checkNum"] == "CHK 2"


# ------------------------------------------------------------ refunds


async def push_refund(env: InProcessNetSuite) -> str:
    customer_id = await push_customer(env.ledger)
    credit = await create_credit_note(
        env.ledger, customer_id, documents.credit_note("0.40", description="goodwill")
    )
    pushed = await create_refund(
        env.ledger, customer_id, credit.ledger_id, documents.refund("0.15", credit_note_id="CN-1")
    )
    return pushed.ledger_id


async def test_a_refund_names_its_bank_account_and_payment_method(ns: InProcessNetSuite) -> None:
    await push_refund(ns)
    [sent] = ns.wire.bodies("PUT", "/customerRefund/eid:")
    assert (sent["account"], sent["paymentMethod"]) == ({"id": "1"}, {"id": "1"})
    [stored] = ns.sandbox.records("refund")
    assert (stored["account"], stored["paymentMethod"], stored["total"]) == (
        {"id": "1"},
        {"id": "1"},
        Decimal("0.15"),
    )


@pytest.mark.parametrize("unset", ["refund_account", "refund_payment_method"])
async def test_a_refund_is_refused_before_sending_while_its_setup_is_missing(unset: str) -> None:
    env = netsuite(mapping(**{unset: ""}))
    with pytest.raises(PermanentLedgerError) as refused:
        await push_refund(env)
    assert refused.value.code == "syncledger.refund_setup_missing"
    assert sent_to(env.wire.sent, "PUT", "/customerRefund/") == []
    await env.aclose()


async def test_a_refund_without_account_or_payment_method_is_refused(http: Ns) -> None:
    customer_id = await http.customer()
    memo = {"entity": {"id": customer_id}, "item": {"items": [line("40.00")]}}
    credit_id = await http.create("creditMemo", memo)
    whole = refund(customer_id, (credit_id, "10.00"))
    cases = [
        ({k: v for k, v in whole.items() if k != "account"}, "USER_ERROR", "account"),
        ({k: v for k, v in whole.items() if k != "paymentMethod"}, "USER_ERROR", "paymentMethod"),
        (whole | {"account": {"id": "99"}}, "INVALID_CONTENT", "account"),
        (whole | {"paymentMethod": {"id": "99"}}, "INVALID_CONTENT", "paymentMethod"),
    ]
    for body, code, path in cases:
        assert await post(http, "customerRefund", body) == (400, code, path)
    assert http.sandbox.count("refund") == 0
    assert await post(http, "customerRefund", whole) == (204, "", None)


# --------------------------------------------------------- tax schedules


async def test_a_new_item_is_refused_before_sending_without_a_tax_schedule() -> None:
    env = netsuite(mapping(new_item_tax_schedule=""))
    with pytest.raises(PermanentLedgerError) as refused:
        await env.ledger.create_item(ItemWrite("SVC-1", idempotency_key=key("item")))
    assert refused.value.code == "syncledger.no_tax_schedule"
    assert sent_to(env.wire.sent, "PUT", "/serviceSaleItem/") == []
    await env.aclose()


async def test_a_service_item_needs_a_known_tax_schedule(http: Ns) -> None:
    bare = {k: v for k, v in service_item("SVC-1").items() if k != "taxSchedule"}
    assert await post(http, "serviceSaleItem", bare) == (400, "USER_ERROR", "taxSchedule")
    unknown = service_item("SVC-1", taxSchedule={"id": "99"})
    assert await post(http, "serviceSaleItem", unknown) == (400, "INVALID_CONTENT", "taxSchedule")
    assert http.sandbox.count("item") == 2  # the seeded ones only


# ------------------------------------------------------------ tax ids


async def test_a_tax_id_goes_to_the_suitetax_registrations_of_the_configured_country() -> None:
    registering = mapping(tax=dataclasses.replace(load_mapping().tax, registration_country="DE"))
    env = netsuite(registering)
    await env.ledger.create_customer(
        CustomerWrite(customer(tax_id="DE136695976"), external_ref="r/c/1", idempotency_key="k")
    )
    [sent] = env.wire.bodies("PUT", "/customer/eid:")
    assert "vatRegNumber" not in sent
    assert sent["taxRegistration"] == {
        "items": [{"nexusCountry": {"id": "DE"}, "taxRegistrationNumber": "DE136695976"}]
    }
    [stored] = env.sandbox.records("customer")
    assert stored["taxRegistration"] == sent["taxRegistration"]
    assert env.ledger.capabilities.matches_tax_id is False  # no documented search
    await env.aclose()


async def test_without_a_registration_country_no_tax_id_is_sent(ns: InProcessNetSuite) -> None:
    await ns.ledger.create_customer(
        CustomerWrite(customer(tax_id="DE136695976"), external_ref="r/c/1", idempotency_key="k")
    )
    [sent] = ns.wire.bodies("PUT", "/customer/eid:")
    assert not {"vatRegNumber", "taxRegistration"} & set(sent)
    assert ns.sandbox.ignored == []


def test_a_mapping_naming_a_legacy_tax_field_is_refused_at_load(tmp_path: Path) -> None:
    default = resources.files("syncledger.adapters.netsuite").joinpath("mapping.toml").read_text()
    legacy = tmp_path / "netsuite.toml"
    legacy.write_text(
        default.replace('email = "email"', 'email = "email"\ntax_id = "vatRegNumber"')
    )
    with pytest.raises(ConfigurationError) as refused:
        load_mapping(legacy)
    assert "vatRegNumber" in str(refused.value) and "[customer.fields]" in str(refused.value)


async def test_tax_registrations_need_a_country_and_a_number(http: Ns) -> None:
    def registered(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "companyName": "Acme",
            "subsidiary": {"id": "1"},
            "taxRegistration": {"items": [entry]},
        }

    at = "taxRegistration.items[0]"
    cases = [
        ({"taxRegistrationNumber": "X1"}, "USER_ERROR", f"{at}.nexusCountry"),
        (
            {"nexusCountry": {"id": "Germany"}, "taxRegistrationNumber": "X1"},
            "INVALID_CONTENT",
            f"{at}.nexusCountry",
        ),
        ({"nexusCountry": {"id": "DE"}}, "USER_ERROR", f"{at}.taxRegistrationNumber"),
    ]
    for entry, code, path in cases:
        assert await post(http, "customer", registered(entry)) == (400, code, path)
    assert http.sandbox.count("customer") == 0
