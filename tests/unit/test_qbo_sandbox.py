"""The QBO sandbox speaks QBO v3: raw HTTP against the app in-process."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.qbo.sandbox.refusals import ELEMENTS, EXAMPLES, FAULT_TYPES, MESSAGES
from syncledger.adapters.qbo.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.qbo.sandbox.service import QboSandbox
from syncledger.adapters.qbo.sandbox.tax import CompanyTax
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from tests.contracts.bare_client import BareClient
from tests.contracts.raw_sections import RequestWindowSection, Window, signed_in
from tests.contracts.refusal_examples_section import RefusalExamplesSection

REALM = "sandbox-realm"
API = f"/v3/company/{REALM}"
BASIC = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()


class Qbo(BareClient[QboSandbox]):
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, sandbox_of(app))

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
        response = await self.send_json(method, API + path, body, params)
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

    async def pay(self, customer_id: str, total: str, *lines: dict[str, Any]) -> dict[str, Any]:
        """A payment of ``total`` by the customer, applied as ``lines`` say."""
        body = {"CustomerRef": {"value": customer_id}, "TotalAmt": Decimal(total)}
        return await self.create("Payment", body | {"Line": list(lines)})

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


# ---------------------------------------------------------------- customers


async def test_a_customer_gets_the_home_currency(qbo: Qbo) -> None:
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


async def test_a_foreign_currency_invoice_is_booked_at_its_exchange_rate(qbo: Qbo) -> None:
    customer = await qbo.customer("Euro GmbH", CurrencyRef={"value": "EUR"})
    invoice = await qbo.invoice(customer["Id"], ExchangeRate=Decimal("1.0850"))
    assert invoice["CurrencyRef"] == {"value": "EUR"}
    assert invoice["HomeTotalAmt"] == Decimal("108.50")


async def test_void_zeroes_the_invoice(qbo: Qbo) -> None:
    invoice = await qbo.invoice((await qbo.customer())["Id"], PrivateNote="syncledger-ref: a/b/c")
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    voided = await qbo.create("Invoice", body, operation="void")
    assert (voided["Balance"], voided["TotalAmt"]) == (0, 0)
    assert voided["PrivateNote"].startswith("Voided")
    assert "syncledger-ref: a/b/c" in voided["PrivateNote"]
    assert voided["SyncToken"] == "1"


async def test_an_update_moves_the_sync_token_on(qbo: Qbo) -> None:
    customer = await qbo.customer()
    body = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "one"}
    updated = await qbo.create("Customer", body)
    assert (updated["SyncToken"], updated["Notes"]) == ("1", "one")


# ----------------------------------------------------------------- payments


async def test_payments_reduce_the_invoice_balance_and_keep_the_rest_unapplied(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    payment = await qbo.pay(customer["Id"], "70.00", linked("60.00", invoice["Id"], "Invoice"))
    assert payment["UnappliedAmt"] == Decimal("10.00")
    _, answer = await qbo.call("GET", f"/invoice/{invoice['Id']}")
    assert answer["Invoice"]["Balance"] == Decimal("40.00")
    assert answer["Invoice"]["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    _, answer = await qbo.call("GET", f"/customer/{customer['Id']}")
    assert answer["Customer"]["Balance"] == Decimal("40.00")


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


# -------------------------------------------------------------------- items


def item(name: str, **fields: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}, **fields}


def item_line(item_id: str, amount: str = "10.00") -> dict[str, Any]:
    line = sales_line(amount)
    line["SalesItemLineDetail"]["ItemRef"] = {"value": item_id}
    return line


async def test_a_company_starts_with_services(qbo: Qbo) -> None:
    services = await qbo.read("Item", "1")
    assert (services["Name"], services["Type"]) == ("Services", "Service")
    assert services["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    audit = await qbo.create("Item", item("Audit"))
    assert audit["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert (audit["Active"], audit["FullyQualifiedName"]) == (True, "Audit")
    customer = await qbo.customer()  # items count apart: the first customer is still 1
    assert customer["Id"] == "1"


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


async def test_an_inactive_item_is_left_out_of_queries(qbo: Qbo) -> None:
    old = await qbo.create("Item", item("Old"))
    qbo.sandbox.book.put("Item", old | {"Active": False})  # made inactive in QBO's UI
    status, answer = await qbo.call("GET", "/query", query="SELECT * FROM Item WHERE Name = 'Old'")
    assert (status, answer["QueryResponse"]) == (200, {})


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


async def test_a_line_added_to_an_overpayment_spends_its_unapplied_amount(qbo: Qbo) -> None:
    customer = await qbo.customer()
    invoice = await qbo.invoice(customer["Id"])
    payment = await qbo.pay(customer["Id"], "130.00", linked("100.00", invoice["Id"], "Invoice"))
    assert payment["UnappliedAmt"] == Decimal("30.00")
    cheque = await qbo.create("Purchase", refund_cheque(customer["Id"], "40.00"))
    update = {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True}
    updated = await qbo.create(
        "Payment", update | {"Line": [*payment["Line"], linked("30.00", cheque["Id"], "Check")]}
    )
    assert (updated["TotalAmt"], updated["UnappliedAmt"], updated["SyncToken"]) == (
        Decimal("130.00"),
        0,
        "1",
    )
    assert qbo.sandbox.count("payment") == 1


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


# -------------------------------------------------------------- idempotency


async def test_a_replayed_requestid_answers_the_first_reply(qbo: Qbo) -> None:
    first = await qbo.create("Customer", {"DisplayName": "Once"}, requestid="r-1")
    again = await qbo.create("Customer", {"DisplayName": "Once"}, requestid="r-1")
    assert again == first
    assert qbo.sandbox.count("customer") == 1


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


async def test_batch_answers_each_item(qbo: Qbo) -> None:
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


# ---------------------------------------------------------------- refusals


class TestQboRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/qbo/sandbox/refusals.py refused as its example shows."""

    examples = EXAMPLES

    def client(self) -> AbstractAsyncContextManager[Qbo]:
        return signed_in(Qbo(create_app(per_second=100, per_minute=1000)))

    def url(self, path: str) -> str:
        return path if path.startswith("/v3/") else API + path

    def error_code(self, answer: httpx.Response) -> str:
        return code_of(decode_json(answer.content))

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        """The fault's type, the error's Message and element are the row's code's."""
        fault = decode_json(answer.content)["Fault"]
        error = fault["Error"][0]
        assert fault["type"] == FAULT_TYPES.get(row.code, "ValidationFault")
        assert error["Message"] == MESSAGES[row.code]
        assert error.get("element", "") == ELEMENTS.get(row.rule, "")

    async def given_expired(self, qbo: Qbo) -> dict[str, str]:
        qbo.sandbox.oauth.expire_access_tokens()
        return {}

    async def given_customer(self, qbo: Qbo) -> dict[str, str]:
        return {"customer": (await qbo.customer("Acme"))["Id"], "sync": "0"}

    async def given_ast_customer(self, qbo: Qbo) -> dict[str, str]:
        """A customer of a US company on automated sales tax at 8%."""
        qbo.sandbox.company_tax = CompanyTax(ast_rate=Decimal("0.08"))
        return await self.given_customer(qbo)

    async def given_euro_customer(self, qbo: Qbo) -> dict[str, str]:
        return {"customer": (await qbo.customer("Euro GmbH", CurrencyRef={"value": "EUR"}))["Id"]}

    async def given_invoice(self, qbo: Qbo) -> dict[str, str]:
        invoice = await qbo.invoice((await qbo.customer())["Id"])
        return {"invoice": invoice["Id"], "sync": invoice["SyncToken"]}

    async def given_voided(self, qbo: Qbo) -> dict[str, str]:
        invoice = await qbo.invoice((await qbo.customer())["Id"])
        body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
        voided = await qbo.create("Invoice", body, operation="void")
        return {"invoice": voided["Id"], "sync": voided["SyncToken"]}

    async def given_credit_applied(self, qbo: Qbo) -> dict[str, str]:
        """An invoice of 100.00 with 40.00 of a credit memo applied."""
        customer = await qbo.customer()
        invoice = await qbo.invoice(customer["Id"])
        memo = await qbo.credit_memo(customer["Id"], "40.00")
        application = credit_application(customer["Id"], invoice["Id"], memo["Id"], "40.00")
        await qbo.create("Payment", application)
        current = await qbo.read("Invoice", invoice["Id"])
        return {"invoice": invoice["Id"], "sync": current["SyncToken"]}

    async def given_inactive_item(self, qbo: Qbo) -> dict[str, str]:
        customer = await qbo.customer()
        old = await qbo.create("Item", item("Old"))
        qbo.sandbox.book.put("Item", old | {"Active": False})  # made inactive in QBO's UI
        return {"customer": customer["Id"], "item": old["Id"]}

    async def given_credit(self, qbo: Qbo) -> dict[str, str]:
        """A customer's invoice of 100.00, credit memo of 40.00 and refund cheques (15.00
        on A/R, 15.00 on an expense account); another customer's memo and cheque."""
        customer, other = (await qbo.customer())["Id"], (await qbo.customer("Other"))["Id"]

        async def cheque(payee: str, account: str) -> str:
            made = await qbo.create("Purchase", refund_cheque(payee, "15.00", account))
            return str(made["Id"])

        return {
            "customer": customer,
            "invoice": (await qbo.invoice(customer))["Id"],
            "memo": (await qbo.credit_memo(customer, "40.00"))["Id"],
            "other_memo": (await qbo.credit_memo(other, "40.00"))["Id"],
            "cheque": await cheque(customer, "84"),
            "expense_cheque": await cheque(customer, "7"),
            "other_cheque": await cheque(other, "84"),
        }

    async def given_overpayment(self, qbo: Qbo) -> dict[str, str]:
        """A payment of 130.00 with 100.00 applied to an invoice; a refund cheque of 40.00."""
        customer = await qbo.customer()
        invoice = await qbo.invoice(customer["Id"])
        payment = await qbo.pay(
            customer["Id"], "130.00", linked("100.00", invoice["Id"], "Invoice")
        )
        cheque = await qbo.create("Purchase", refund_cheque(customer["Id"], "40.00"))
        other = await qbo.customer("Other")
        return {
            "payment": payment["Id"],
            "sync": payment["SyncToken"],
            "invoice": invoice["Id"],
            "cheque": cheque["Id"],
            "other": other["Id"],
        }
