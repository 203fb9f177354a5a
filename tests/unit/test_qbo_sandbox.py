"""The QBO sandbox speaks QBO v3: raw HTTP against the app in-process."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.qbo.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from tests.contracts.raw_sections import RequestWindowSection, Window, signed_in

REALM = "sandbox-realm"
API = f"/v3/company/{REALM}"
BASIC = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()


class Qbo:
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.sandbox = sandbox_of(app)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s")
        self.access = ""

    async def token(self, refresh: str) -> httpx.Response:
        return await self.http.post(
            "/oauth2/v1/tokens/bearer",
            content=f"grant_type=refresh_token&refresh_token={refresh}",
            headers={
                "Authorization": f"Basic {BASIC}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )

    async def login(self) -> None:
        self.access = decode_json((await self.token(DEFAULT_REFRESH_TOKEN)).content)["access_token"]

    async def call(
        self, method: str, path: str, body: Any = None, **params: str
    ) -> tuple[int, Any]:
        response = await self.http.request(
            method,
            API + path,
            params=params,
            content=None if body is None else encode_json(body),
            headers={"Authorization": f"Bearer {self.access}"},
        )
        return response.status_code, decode_json(response.content)

    async def create(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        status, answer = await self.call("POST", f"/{entity.lower()}", body, **params)
        assert status == 200, answer
        created: dict[str, Any] = answer[entity]
        return created

    async def customer(self, name: str = "Acme", **fields: Any) -> dict[str, Any]:
        return await self.create("Customer", {"DisplayName": name, **fields})

    async def invoice(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        body = {"CustomerRef": {"value": customer_id}, "Line": [sales_line("100.00")], **fields}
        return await self.create("Invoice", body)

    async def credit_memo(self, customer_id: str, total: str = "40.00") -> dict[str, Any]:
        body = {"CustomerRef": {"value": customer_id}, "Line": [sales_line(total)]}
        return await self.create("CreditMemo", body)

    async def read(self, entity: str, ident: str) -> dict[str, Any]:
        status, answer = await self.call("GET", f"/{entity.lower()}/{ident}")
        assert status == 200, answer
        found: dict[str, Any] = answer[entity]
        return found


def sales_line(amount: str, qty: str = "1", unit_price: str | None = None) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal(amount),
        "SalesItemLineDetail": {
            "ItemRef": {"value": "1"},
            "Qty": Decimal(qty),
            "UnitPrice": Decimal(unit_price or amount),
        },
    }


def code_of(answer: Any) -> str:
    return str(answer["Fault"]["Error"][0]["code"])


def linked(amount: str, txn_id: str, txn_type: str) -> dict[str, Any]:
    return {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


def credit_application(
    customer_id: str, invoice_id: str, memo_id: str, amount: str, total: str = "0"
) -> dict[str, Any]:
    """A payment applying ``amount`` of a credit memo to an invoice, as Intuit's sample."""
    return {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": Decimal(total),
        "Line": [linked(amount, invoice_id, "Invoice"), linked(amount, memo_id, "CreditMemo")],
    }


@pytest.fixture
async def qbo() -> AsyncIterator[Qbo]:
    async with signed_in(Qbo(create_app(per_second=100, per_minute=1000))) as client:
        yield client


# -------------------------------------------------------------------- OAuth


async def test_api_calls_need_a_valid_access_token(qbo: Qbo) -> None:
    qbo.sandbox.oauth.expire_access_tokens()
    status, answer = await qbo.call("GET", "/customer/1")
    assert status == 401
    assert answer["Fault"]["type"] == "AuthenticationFault"
    assert code_of(answer) == "3200"


# ---------------------------------------------------------------- customers


async def test_display_names_are_unique_ignoring_case(qbo: Qbo) -> None:
    await qbo.customer("Acme Ltd")
    status, answer = await qbo.call("POST", "/customer", {"DisplayName": "ACME LTD"})
    assert (status, code_of(answer)) == (400, "6240")
    assert qbo.sandbox.count("customer") == 1


@pytest.mark.parametrize("name", ["Acme: Ltd", "Acme\tLtd", "Acme\nLtd"])
async def test_names_with_colon_tab_or_newline_are_refused(qbo: Qbo, name: str) -> None:
    """QBO answers 2040 "Invalid String" for a ':' in a name (stackoverflow.com/q/24529982),
    not the generic 6000 the sandbox used to."""
    status, answer = await qbo.call("POST", "/customer", {"DisplayName": name})
    assert (status, code_of(answer)) == (400, "2040")
    assert answer["Fault"]["Error"][0]["Message"].startswith("Invalid String")
    assert qbo.sandbox.count("customer") == 0


async def test_a_customer_needs_a_name_and_gets_the_home_currency(qbo: Qbo) -> None:
    status, answer = await qbo.call("POST", "/customer", {"Notes": "x"})
    assert (status, code_of(answer)) == (400, "2020")
    created = await qbo.customer("Given", GivenName="Ann")
    assert created["CurrencyRef"] == {"value": "USD"}
    assert created["SyncToken"] == "0"


async def test_the_tax_id_is_masked_on_read(qbo: Qbo) -> None:
    created = await qbo.customer("Taxed", PrimaryTaxIdentifier="GB123456789")
    assert created["PrimaryTaxIdentifier"] == "XXXXXXX6789"


# ----------------------------------------------------------------- invoices


async def test_invoice_totals_are_derived_from_lines_discount_and_tax(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(
        customer["Id"],
        Line=[
            sales_line("30.00", qty="3", unit_price="10.00"),
            sales_line("0.10"),
            {
                "DetailType": "DiscountLineDetail",
                "Amount": Decimal("5.00"),
                "DiscountLineDetail": {"PercentBased": False},
            },
        ],
        TxnTaxDetail={
            "TotalTax": Decimal("2.41"),
            "TaxLine": [{"Amount": Decimal("2.41"), "DetailType": "TaxLineDetail"}],
        },
    )
    assert invoice["TotalAmt"] == Decimal("27.51")
    assert invoice["Balance"] == Decimal("27.51")
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["Line"][-1]["Amount"] == Decimal("30.10")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Line": [sales_line("1.00")]}, "2020"),  # no CustomerRef
        ({"CustomerRef": {"value": "999"}, "Line": [sales_line("1.00")]}, "2500"),
        ({"CustomerRef": {"value": "1"}, "Line": []}, "2020"),
        ({"CustomerRef": {"value": "1"}, "Line": [{"Amount": Decimal(1)}]}, "2020"),
        # Amount ≠ Qty × UnitPrice: 6070 "Amount calculation incorrect" (was 6000)
        ({"CustomerRef": {"value": "1"}, "Line": [sales_line("10.00", "3", "3.00")]}, "6070"),
        (
            {
                "CustomerRef": {"value": "1"},
                "Line": [sales_line("1.00")],
                "TotalAmt": Decimal("2.00"),
            },
            "6000",
        ),
        (
            {"CustomerRef": {"value": "1"}, "Line": [sales_line("1.00")], "DocNumber": "X" * 22},
            "2050",
        ),
    ],
)
async def test_invoices_breaking_the_contract_are_refused(
    qbo: Qbo, body: dict[str, Any], code: str
) -> None:
    await qbo.customer()
    status, answer = await qbo.call("POST", "/invoice", body)
    assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("invoice") == 0


async def test_a_foreign_currency_invoice_needs_an_exchange_rate(qbo: Qbo) -> None:
    customer = await qbo.customer("Euro GmbH", CurrencyRef={"value": "EUR"})
    status, answer = await qbo.call(
        "POST", "/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("10")]}
    )
    assert (status, code_of(answer)) == (400, "2020")
    invoice = await qbo.invoice(customer["Id"], ExchangeRate=Decimal("1.0850"))
    assert invoice["CurrencyRef"] == {"value": "EUR"}
    assert invoice["HomeTotalAmt"] == Decimal("108.50")
    status, answer = await qbo.call(
        "POST",
        "/invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [sales_line("10")],
            "CurrencyRef": {"value": "USD"},
        },
    )
    assert (status, code_of(answer)) == (400, "6000")


async def test_void_zeroes_the_invoice_and_needs_the_current_sync_token(qbo: Qbo) -> None:
    invoice = await qbo.invoice((await qbo.customer())["Id"], PrivateNote="syncledger-ref: a/b/c")
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    voided = await qbo.create("Invoice", body, operation="void")
    assert (voided["Balance"], voided["TotalAmt"]) == (0, 0)
    assert voided["PrivateNote"].startswith("Voided")
    assert "syncledger-ref: a/b/c" in voided["PrivateNote"]
    assert voided["SyncToken"] == "1"
    status, answer = await qbo.call("POST", "/invoice", body, operation="void")
    assert (status, code_of(answer)) == (400, "5010")


async def test_an_update_with_an_old_sync_token_is_a_stale_object(qbo: Qbo) -> None:
    customer = await qbo.customer()
    body = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "one"}
    updated = await qbo.create("Customer", body)
    assert (updated["SyncToken"], updated["Notes"]) == ("1", "one")
    status, answer = await qbo.call("POST", "/customer", body | {"Notes": "two"})
    assert (status, code_of(answer)) == (400, "5010")


# ----------------------------------------------------------------- payments


async def test_payments_reduce_the_invoice_balance_and_keep_the_rest_unapplied(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    payment = await qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": Decimal("70.00"),
            "Line": [
                {
                    "Amount": Decimal("60.00"),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    assert payment["UnappliedAmt"] == Decimal("10.00")
    _, answer = await qbo.call("GET", f"/invoice/{invoice['Id']}")
    assert answer["Invoice"]["Balance"] == Decimal("40.00")
    assert answer["Invoice"]["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    _, answer = await qbo.call("GET", f"/customer/{customer['Id']}")
    assert answer["Customer"]["Balance"] == Decimal("40.00")


@pytest.mark.parametrize(
    ("total", "applied", "invoice_id", "code"),
    [
        ("200.00", "150.00", None, "6000"),  # more than the open balance
        ("10.00", "20.00", None, "6000"),  # lines beyond TotalAmt
        ("10.00", "10.00", "999", "2500"),  # no such invoice
    ],
)
async def test_payments_breaking_the_contract_are_refused(
    qbo: Qbo, total: str, applied: str, invoice_id: str | None, code: str
) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    link = {"TxnId": invoice_id or invoice["Id"], "TxnType": "Invoice"}
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": Decimal(total),
        "Line": [{"Amount": Decimal(applied), "LinkedTxn": [link]}],
    }
    status, answer = await qbo.call("POST", "/payment", body)
    assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("payment") == 0


# ------------------------------------------------------------- credit memos


async def test_a_credit_memo_is_priced_like_an_invoice_with_all_its_credit_left(qbo: Qbo) -> None:
    customer = await qbo.customer()
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    assert (memo["TotalAmt"], memo["Balance"], memo["RemainingCredit"]) == (
        Decimal("40.00"),
        Decimal("40.00"),
        Decimal("40.00"),
    )
    assert memo["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert qbo.sandbox.count("credit_note") == qbo.sandbox.count("CreditMemo") == 1
    for body, code in [
        ({"Line": [sales_line("1.00")]}, "2020"),
        ({"CustomerRef": {"value": "999"}, "Line": [sales_line("1.00")]}, "2500"),
        ({"CustomerRef": {"value": customer["Id"]}, "Line": []}, "2020"),
        (
            {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("9.00", "3", "2")]},
            "6070",
        ),
    ]:
        status, answer = await qbo.call("POST", "/creditmemo", body)
        assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("credit_note") == 1


async def test_a_zero_payment_applies_a_credit_memo_to_an_invoice(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    payment = await qbo.create(
        "Payment", credit_application(customer["Id"], invoice["Id"], memo["Id"], "40.00")
    )
    assert (payment["TotalAmt"], payment["UnappliedAmt"]) == (0, 0)
    paid = await qbo.read("Invoice", invoice["Id"])
    assert paid["Balance"] == Decimal("60.00")
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    spent = await qbo.read("CreditMemo", memo["Id"])
    assert (spent["Balance"], spent["RemainingCredit"], spent["TotalAmt"]) == (0, 0, 40)
    assert spent["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert spent["SyncToken"] == "1"


async def test_money_and_credit_can_pay_one_invoice_together(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    body = credit_application(customer["Id"], invoice["Id"], memo["Id"], "30.00", total="75.00")
    body["Line"][0]["Amount"] = Decimal("100.00")  # 70 of money + 30 of credit
    payment = await qbo.create("Payment", body)
    assert payment["UnappliedAmt"] == Decimal("5.00")
    assert (await qbo.read("Invoice", invoice["Id"]))["Balance"] == 0
    assert (await qbo.read("CreditMemo", memo["Id"]))["RemainingCredit"] == Decimal("10.00")


@pytest.mark.parametrize(
    ("invoice_amount", "credit_amount", "memo", "code"),
    [
        ("50.00", "50.00", None, "6000"),  # more credit than the memo has left
        ("20.00", "30.00", None, "6000"),  # more credit spent than the invoice lines take
        ("30.00", "30.00", "999", "2500"),  # no such credit memo
        ("30.00", "30.00", "other", "6000"),  # another customer's credit memo
    ],
)
async def test_credit_applications_beyond_what_there_is_are_refused(
    qbo: Qbo, invoice_amount: str, credit_amount: str, memo: str | None, code: str
) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    own = await qbo.credit_memo(customer["Id"], "40.00")
    other = await qbo.credit_memo((await qbo.customer("Other"))["Id"], "40.00")
    memo_id = {None: own["Id"], "other": other["Id"]}.get(memo, memo)
    body = credit_application(customer["Id"], invoice["Id"], str(memo_id), credit_amount)
    body["Line"][0]["Amount"] = Decimal(invoice_amount)
    status, answer = await qbo.call("POST", "/payment", body)
    assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("payment") == 0
    assert (await qbo.read("Invoice", invoice["Id"]))["Balance"] == Decimal("100.00")
    assert (await qbo.read("CreditMemo", own["Id"]))["RemainingCredit"] == Decimal("40.00")


# -------------------------------------------------------------------- items


def item(name: str, **fields: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}, **fields}


def item_line(item_id: str, amount: str = "10.00") -> dict[str, Any]:
    line = sales_line(amount)
    line["SalesItemLineDetail"]["ItemRef"] = {"value": item_id}
    return line


async def test_a_company_starts_with_services_and_item_names_are_unique_ignoring_case(
    qbo: Qbo,
) -> None:
    services = await qbo.read("Item", "1")
    assert (services["Name"], services["Type"]) == ("Services", "Service")
    assert services["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    audit = await qbo.create("Item", item("Audit"))
    assert audit["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert (audit["Active"], audit["FullyQualifiedName"]) == (True, "Audit")
    customer = await qbo.customer()  # items count apart: the first customer is still 1
    assert customer["Id"] == "1"
    status, answer = await qbo.call("POST", "/item", item("AUDIT"))
    assert (status, code_of(answer)) == (400, "6240")
    error = answer["Fault"]["Error"][0]
    assert error["Message"] == "Duplicate Name Exists Error"
    assert "Another product or service is already using this name" in error["Detail"]
    assert qbo.sandbox.count("item") == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Type": "Service", "IncomeAccountRef": {"value": "1"}}, "2020"),  # no Name
        (item("X" * 101), "2050"),
        ({"Name": "No type", "IncomeAccountRef": {"value": "1"}}, "2020"),
        (item("Stock", Type="Inventory"), "6000"),  # not modelled
        ({"Name": "No account", "Type": "Service"}, "2020"),
        (item("Lost", IncomeAccountRef={"value": "999"}), "2500"),
    ],
)
async def test_items_breaking_the_contract_are_refused(
    qbo: Qbo, body: dict[str, Any], code: str
) -> None:
    status, answer = await qbo.call("POST", "/item", body)
    assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("item") == 1


async def test_a_line_is_booked_to_the_item_it_names_and_answered_with_its_name(
    qbo: Qbo,
) -> None:
    customer = await qbo.customer()
    audit = await qbo.create("Item", item("Audit"))
    invoice = await qbo.invoice(customer["Id"], Line=[item_line(audit["Id"]), sales_line("5")])
    refs = [ln["SalesItemLineDetail"]["ItemRef"] for ln in invoice["Line"][:2]]
    assert refs == [{"value": audit["Id"], "name": "Audit"}, {"value": "1", "name": "Services"}]
    memo = await qbo.create(
        "CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [item_line(audit["Id"])]}
    )
    assert memo["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Audit"


async def test_a_line_naming_no_item_is_an_invalid_reference_as_in_qbo(qbo: Qbo) -> None:
    customer = await qbo.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("5"), item_line("999")]}
    for resource in ("/invoice", "/creditmemo"):
        status, answer = await qbo.call("POST", resource, body)
        assert status == 400
        assert answer["Fault"]["type"] == "ValidationFault"
        assert answer["Fault"]["Error"][0] == {
            "Message": "Invalid Reference Id",
            "Detail": "Invalid Reference Id : Line.SalesItemLineDetail.ItemRef",
            "code": "2500",
            "element": "Line.SalesItemLineDetail.ItemRef",
        }
    assert (qbo.sandbox.count("invoice"), qbo.sandbox.count("credit_note")) == (0, 0)
    invoice = await qbo.invoice(customer["Id"])
    update = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True}
    status, answer = await qbo.call("POST", "/invoice", update | {"Line": [item_line("999")]})
    assert (status, code_of(answer)) == (400, "2500")
    assert (await qbo.read("Invoice", invoice["Id"]))["SyncToken"] == invoice["SyncToken"]


async def test_an_inactive_item_is_left_out_of_queries_and_refused_on_a_line(qbo: Qbo) -> None:
    customer = await qbo.customer()
    old = await qbo.create("Item", item("Old"))
    qbo.sandbox.book.put("Item", old | {"Active": False})  # made inactive in QBO's UI
    status, answer = await qbo.call("GET", "/query", query="SELECT * FROM Item WHERE Name = 'Old'")
    assert (status, answer["QueryResponse"]) == (200, {})
    status, answer = await qbo.call(
        "POST",
        "/invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [item_line(old["Id"])]},
    )
    assert (status, code_of(answer)) == (400, "2500")
    assert "made inactive" in answer["Fault"]["Error"][0]["Detail"]


async def test_items_are_queried_by_name_ignoring_case_with_quotes_escaped(qbo: Qbo) -> None:
    made = await qbo.create("Item", item("O'Brien \\ Sons"))
    statement = "SELECT * FROM Item WHERE Name = 'o\\'brien \\\\ sons'"
    status, answer = await qbo.call("GET", "/query", query=statement)
    assert status == 200
    assert [row["Id"] for row in answer["QueryResponse"]["Item"]] == [made["Id"]]
    status, answer = await qbo.call(
        "GET", "/query", query=f"SELECT * FROM Item WHERE Id = '{made['Id']}'"
    )
    assert answer["QueryResponse"]["Item"][0]["Name"] == "O'Brien \\ Sons"


async def test_item_writes_take_injected_faults_and_replay_their_requestid(qbo: Qbo) -> None:
    qbo.sandbox.fail_next_writes(1, status=503)
    status, _ = await qbo.call("POST", "/item", item("Flaky"))
    assert status == 503
    assert qbo.sandbox.count("item") == 1
    first = await qbo.create("Item", item("Once"), requestid="i-1")
    again = await qbo.create("Item", item("Once"), requestid="i-1")
    assert again == first
    assert qbo.sandbox.count("item") == 2


# ------------------------------------------------------- refund cheques


def refund_cheque(customer_id: str | None, amount: str, account: str = "84") -> dict[str, Any]:
    """A cheque from Checking (35) against Accounts Receivable (84): a refund."""
    body: dict[str, Any] = {
        "PaymentType": "Check",
        "AccountRef": {"value": "35"},
        "Line": [
            {
                "Amount": Decimal(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
            }
        ],
    }
    if customer_id is not None:
        body["EntityRef"] = {"value": customer_id, "type": "Customer"}
    return body


async def test_a_payment_without_lines_is_all_unapplied(qbo: Qbo) -> None:
    customer = await qbo.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal("60.00")}
    payment = await qbo.create("Payment", body)
    assert (payment["TotalAmt"], payment["UnappliedAmt"]) == (Decimal("60.00"),) * 2


async def test_a_cheque_to_a_customer_against_receivables_is_a_purchase(qbo: Qbo) -> None:
    customer = await qbo.customer()
    cheque = await qbo.create("Purchase", refund_cheque(customer["Id"], "15.00"))
    assert (cheque["TotalAmt"], cheque["CurrencyRef"]) == (Decimal("15.00"), {"value": "USD"})
    assert qbo.sandbox.count("refund") == qbo.sandbox.count("Purchase") == 1
    assert (await qbo.read("Purchase", cheque["Id"]))["EntityRef"]["type"] == "Customer"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"EntityRef": None}, "6000"),  # A/R needs a customer as the payee
        ({"AccountRef": {"value": "84"}}, "6000"),  # a cheque is paid from a bank account
        ({"AccountRef": {"value": "999"}}, "2500"),  # no such account
        ({"PaymentType": None}, "2020"),
        ({"EntityRef": {"value": "999", "type": "Customer"}}, "2500"),
        ({"TotalAmt": Decimal("14.00")}, "6000"),  # not the sum of the lines
    ],
)
async def test_cheques_breaking_the_contract_are_refused(
    qbo: Qbo, change: dict[str, Any], code: str
) -> None:
    customer = await qbo.customer()
    body = refund_cheque(customer["Id"], "15.00") | change
    status, answer = await qbo.call("POST", "/purchase", {k: v for k, v in body.items() if v})
    assert (status, code_of(answer)) == (400, code)
    assert qbo.sandbox.count("refund") == 0


async def test_a_zero_payment_spends_a_credit_memo_on_a_refund_cheque(qbo: Qbo) -> None:
    customer = await qbo.customer()
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    cheque = await qbo.create("Purchase", refund_cheque(customer["Id"], "15.00"))
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": Decimal(0),
        "Line": [linked("15.00", cheque["Id"], "Check"), linked("15.00", memo["Id"], "CreditMemo")],
    }
    await qbo.create("Payment", body)
    spent = await qbo.read("CreditMemo", memo["Id"])
    assert (spent["Balance"], spent["RemainingCredit"]) == (Decimal("25.00"), Decimal("25.00"))
    # the cheque is paid: linking it again is more than its open amount
    body["Line"] = [linked("1.00", cheque["Id"], "Check"), linked("1.00", memo["Id"], "CreditMemo")]
    status, answer = await qbo.call("POST", "/payment", body)
    assert (status, code_of(answer)) == (400, "6000")
    assert "open balance is 0" in answer["Fault"]["Error"][0]["Detail"]
    assert (await qbo.read("CreditMemo", memo["Id"]))["RemainingCredit"] == Decimal("25.00")


@pytest.mark.parametrize(
    ("cheque_for", "account", "txn_type", "code"),
    [
        ("self", "7", "Check", "6000"),  # a cheque on an expense account is no A/R charge
        ("other", "84", "Check", "6000"),  # another customer's cheque
        ("self", "84", "Expense", "2500"),  # a cheque is linked as a Check
    ],
)
async def test_only_a_customers_own_refund_cheque_can_be_paid_by_their_credit(
    qbo: Qbo, cheque_for: str, account: str, txn_type: str, code: str
) -> None:
    customer = await qbo.customer()
    payee = customer if cheque_for == "self" else await qbo.customer("Other")
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    cheque = await qbo.create("Purchase", refund_cheque(payee["Id"], "15.00", account))
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": Decimal(0),
        "Line": [
            linked("15.00", cheque["Id"], txn_type),
            linked("15.00", memo["Id"], "CreditMemo"),
        ],
    }
    status, answer = await qbo.call("POST", "/payment", body)
    assert (status, code_of(answer)) == (400, code)
    assert (await qbo.read("CreditMemo", memo["Id"]))["RemainingCredit"] == Decimal("40.00")


async def test_a_line_added_to_an_overpayment_spends_its_unapplied_amount(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    payment = await qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": Decimal("130.00"),
            "Line": [linked("100.00", invoice["Id"], "Invoice")],
        },
    )
    assert payment["UnappliedAmt"] == Decimal("30.00")
    cheque = await qbo.create("Purchase", refund_cheque(customer["Id"], "40.00"))
    update = {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True}
    # within the cheque's 40.00, beyond the payment's 30.00 unapplied
    too_much = update | {"Line": [*payment["Line"], linked("30.01", cheque["Id"], "Check")]}
    gone = update | {"Line": [linked("30.00", cheque["Id"], "Check")]}  # drops the invoice line
    for body in (too_much, gone):
        status, answer = await qbo.call("POST", "/payment", body)
        assert (status, code_of(answer)) == (400, "6000")
    updated = await qbo.create(
        "Payment", update | {"Line": [*payment["Line"], linked("30.00", cheque["Id"], "Check")]}
    )
    assert (updated["TotalAmt"], updated["UnappliedAmt"], updated["SyncToken"]) == (
        Decimal("130.00"),
        0,
        "1",
    )
    assert qbo.sandbox.count("payment") == 1
    status, answer = await qbo.call("POST", "/payment", update | {"Line": updated["Line"]})
    assert (status, code_of(answer)) == (400, "5010")  # the old SyncToken


async def test_credit_memos_are_queried_and_reported_by_cdc(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    spent = await qbo.credit_memo(customer["Id"], "40.00")
    left = await qbo.credit_memo(customer["Id"], "15.00")
    await qbo.create(
        "Payment", credit_application(customer["Id"], invoice["Id"], spent["Id"], "40.00")
    )
    _, answer = await qbo.call(
        "GET", "/query", query="select * from CreditMemo where Balance > '0'"
    )
    assert [m["Id"] for m in answer["QueryResponse"]["CreditMemo"]] == [left["Id"]]
    since = left["MetaData"]["LastUpdatedTime"]
    _, answer = await qbo.call("GET", "/cdc", entities="CreditMemo", changedSince=since)
    changed = answer["CDCResponse"][0]["QueryResponse"][0]["CreditMemo"]
    assert {m["Id"] for m in changed} == {spent["Id"], left["Id"]}


# ----------------------------------------------------------- sparse updates


async def test_a_sparse_customer_update_changes_only_what_it_sends(qbo: Qbo) -> None:
    customer = await qbo.customer(
        "Acme", PrimaryEmailAddr={"Address": "a@acme.example"}, Notes="keep me"
    )
    body = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Acme Ltd"}
    updated = await qbo.create("Customer", body)
    assert (updated["DisplayName"], updated["SyncToken"]) == ("Acme Ltd", "1")
    assert updated["PrimaryEmailAddr"] == {"Address": "a@acme.example"}
    assert updated["Notes"] == "keep me"
    status, answer = await qbo.call("POST", "/customer", body | {"DisplayName": "Lost"})
    assert (status, code_of(answer)) == (400, "5010")
    euro = body | {"SyncToken": "1", "CurrencyRef": {"value": "EUR"}}
    status, answer = await qbo.call("POST", "/customer", euro)
    assert (status, code_of(answer)) == (400, "6000")
    assert (await qbo.read("Customer", customer["Id"]))["DisplayName"] == "Acme Ltd"


async def test_a_sparse_invoice_update_replaces_lines_and_keeps_payments_applied(
    qbo: Qbo,
) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"], DocNumber="INV-1", PrivateNote="ours")
    memo = await qbo.credit_memo(customer["Id"], "40.00")
    await qbo.create(
        "Payment", credit_application(customer["Id"], invoice["Id"], memo["Id"], "40.00")
    )
    current = await qbo.read("Invoice", invoice["Id"])
    body = {
        "Id": invoice["Id"],
        "SyncToken": current["SyncToken"],
        "sparse": True,
        "Line": [sales_line("30.00", "3", "10.00"), sales_line("20.00")],
    }
    updated = await qbo.create("Invoice", body)
    assert (updated["TotalAmt"], updated["Balance"]) == (Decimal("50.00"), Decimal("10.00"))
    assert [ln["Amount"] for ln in updated["Line"]] == [30, 20, 50]  # and the subtotal
    assert (updated["DocNumber"], updated["PrivateNote"]) == ("INV-1", "ours")
    assert updated["LinkedTxn"] == current["LinkedTxn"]
    status, answer = await qbo.call("POST", "/invoice", body)  # the token moved on
    assert (status, code_of(answer)) == (400, "5010")
    below = body | {"SyncToken": updated["SyncToken"], "Line": [sales_line("39.99")]}
    status, answer = await qbo.call("POST", "/invoice", below)  # less than the 40 applied
    assert (status, code_of(answer)) == (400, "6000")
    assert (await qbo.read("Invoice", invoice["Id"]))["TotalAmt"] == Decimal("50.00")


# -------------------------------------------------------------- idempotency


async def test_a_replayed_requestid_answers_the_first_reply(qbo: Qbo) -> None:
    first = await qbo.create("Customer", {"DisplayName": "Once"}, requestid="r-1")
    again = await qbo.create("Customer", {"DisplayName": "Once"}, requestid="r-1")
    assert again == first
    assert qbo.sandbox.count("customer") == 1
    status, answer = await qbo.call(
        "POST", "/customer", {"DisplayName": "Long"}, requestid="x" * 51
    )
    assert (status, code_of(answer)) == (400, "6000")


# --------------------------------------------------------------- throttling


class TestQboRequestWindow(RequestWindowSection):
    """A burst beyond the per-second limit: 3001 ThrottleExceeded, no Retry-After."""

    window_code = "3001"
    window_words = "ThrottleExceeded"

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        async with signed_in(Qbo(create_app(per_second=limit, per_minute=100))) as qbo:
            query = {"query": "select * from Customer"}
            auth = {"Authorization": f"Bearer {qbo.access}"}
            yield Window(
                lambda: qbo.http.get(f"{API}/query", params=query, headers=auth), qbo.sandbox
            )

    def error_code(self, answer: httpx.Response) -> str:
        return code_of(decode_json(answer.content))


async def test_commit_then_timeout_commits_before_stalling(qbo: Qbo) -> None:
    qbo.sandbox.commit_then_timeout_next(1, stall_seconds=30)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await qbo.call("POST", "/customer", {"DisplayName": "Stalled"}, requestid="r-9")
    assert qbo.sandbox.count("customer") == 1
    replay = await qbo.create("Customer", {"DisplayName": "Stalled"}, requestid="r-9")
    assert replay["DisplayName"] == "Stalled"
    assert qbo.sandbox.count("customer") == 1


# ------------------------------------------------------------------- queries


async def test_query_pages_with_startposition_and_maxresults(qbo: Qbo) -> None:
    for n in range(5):
        await qbo.customer(f"Customer {n}")
    pages = []
    for start in (1, 3, 5):
        _, answer = await qbo.call(
            "GET",
            "/query",
            query=f"select * from Customer orderby Id startposition {start} maxresults 2",
        )
        pages.append([c["DisplayName"] for c in answer["QueryResponse"]["Customer"]])
    assert pages == [["Customer 0", "Customer 1"], ["Customer 2", "Customer 3"], ["Customer 4"]]
    _, answer = await qbo.call("GET", "/query", query="SELECT COUNT(*) FROM Customer")
    assert answer["QueryResponse"] == {"totalCount": 5}
    _, answer = await qbo.call(
        "GET", "/query", query="select * from Customer startposition 6 maxresults 2"
    )
    assert answer["QueryResponse"] == {}


async def test_query_filters_like_qbo(qbo: Qbo) -> None:
    await qbo.customer("O'Brien & Sons", PrimaryEmailAddr={"Address": "Ob@Example.com"})
    inactive = await qbo.customer("Gone")
    await qbo.create(
        "Customer", {"Id": inactive["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )

    async def names(statement: str) -> list[str]:
        _, answer = await qbo.call("GET", "/query", query=statement)
        return [c["DisplayName"] for c in answer["QueryResponse"].get("Customer", [])]

    assert await names(r"select * from Customer where DisplayName = 'o\'brien & sons'") == [
        "O'Brien & Sons"
    ]
    assert await names("select * from Customer where PrimaryEmailAddr = 'ob@example.com'") == [
        "O'Brien & Sons"
    ]
    assert await names("select * from Customer where DisplayName like '%brien%'") == [
        "O'Brien & Sons"
    ]
    assert await names("select * from Customer") == ["O'Brien & Sons"]
    assert await names("select * from Customer where Active in (true, false) orderby Id desc") == [
        "Gone",
        "O'Brien & Sons",
    ]


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("select * from Invoice where PrivateNote = 'x'", "4001"),
        ("select * from Customer where Notes = 'x'", "4001"),
        ("select * form Customer", "4000"),
        ("select * from Customer where DisplayName", "4000"),
        ("select * from Widget", "4000"),
    ],
)
async def test_bad_queries_are_refused(qbo: Qbo, statement: str, code: str) -> None:
    status, answer = await qbo.call("GET", "/query", query=statement)
    assert (status, code_of(answer)) == (400, code)


async def test_not_equal_is_refused_as_an_unparsable_query(qbo: Qbo) -> None:
    """Intuit's operators are IN, =, <, >, <=, >= and LIKE ("Query operations and
    syntax"): ``!=`` is refused as a query QBO cannot parse, before anything is read."""
    await qbo.customer("Kept")
    status, answer = await qbo.call(
        "GET", "/query", query="select * from Customer where DisplayName != 'Other'"
    )
    assert (status, code_of(answer)) == (400, "4000")
    assert "QueryParserError" in answer["Fault"]["Error"][0]["Detail"]
    status, answer = await qbo.call(
        "GET", "/query", query="select * from Customer where DisplayName = 'Kept'"
    )
    assert status == 200 and len(answer["QueryResponse"]["Customer"]) == 1


async def test_cdc_returns_entities_changed_since(qbo: Qbo) -> None:
    old = await qbo.customer("Old")
    _, answer = await qbo.call("GET", "/query", query="select * from Customer")
    since = answer["QueryResponse"]["Customer"][0]["MetaData"]["LastUpdatedTime"]
    await asyncio.sleep(0.001)
    new = await qbo.customer("New")
    invoice = await qbo.invoice(old["Id"])
    _, answer = await qbo.call(
        "GET", "/cdc", entities="Customer,Invoice", changedSince=new["MetaData"]["CreateTime"]
    )
    blocks = answer["CDCResponse"][0]["QueryResponse"]
    assert [c["Id"] for c in blocks[0]["Customer"]] == [new["Id"]]
    assert [i["Id"] for i in blocks[1]["Invoice"]] == [invoice["Id"]]
    _, answer = await qbo.call("GET", "/cdc", entities="Customer", changedSince=since)
    assert len(answer["CDCResponse"][0]["QueryResponse"][0]["Customer"]) == 2


# -------------------------------------------------------------------- batch


async def test_batch_answers_each_item_and_refuses_more_than_thirty(qbo: Qbo) -> None:
    items = [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "One"}},
        {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "one"}},
        {"bId": "b3", "Query": "select count(*) from Customer"},
    ]
    status, answer = await qbo.call("POST", "/batch", {"BatchItemRequest": items})
    assert status == 200
    one, duplicate, count = answer["BatchItemResponse"]
    assert one["Customer"]["DisplayName"] == "One"
    assert code_of(duplicate) == "6240"
    assert count["QueryResponse"] == {"totalCount": 1}
    too_many = [{"bId": f"b{n}", "Query": "select * from Customer"} for n in range(31)]
    status, answer = await qbo.call("POST", "/batch", {"BatchItemRequest": too_many})
    assert (status, code_of(answer)) == (400, "1040")
