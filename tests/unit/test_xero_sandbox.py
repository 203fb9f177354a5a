"""The Xero sandbox speaks the Xero Accounting API: raw HTTP against the app in-process."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from syncledger.adapters.xero.sandbox.errors import XeroFault
from syncledger.adapters.xero.sandbox.limits import XeroLimits
from syncledger.adapters.xero.sandbox.refusals import EXAMPLES
from syncledger.adapters.xero.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    create_app,
    sandbox_of,
)
from syncledger.adapters.xero.sandbox.service import XeroSandbox
from tests.contracts.bare_client import BareClient
from tests.contracts.raw_sections import RequestWindowSection, Wait, Window, signed_in
from tests.contracts.refusal_examples_section import RefusalExamplesSection

API = "/api.xro/2.0"
BASIC = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
OTHER_GUID = "0d9b1f4e-2c3a-4b5d-8e6f-7a8b9c0d1e2f"


class Answer:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.text = response.text
        self.body: Any = decode_json(response.content) if _is_json(response) else None

    def first(self, collection: str) -> dict[str, Any]:
        assert self.status == 200, self.body or self.text
        row: dict[str, Any] = self.body[collection][0]
        return row

    def messages(self) -> list[str]:
        elements = self.body.get("Elements") or self.body.get("Contacts") or []
        return [e["Message"] for el in elements for e in el.get("ValidationErrors", [])]


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


class Xero(BareClient[XeroSandbox]):
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, sandbox_of(app))

    async def token(self, refresh: str, basic: str = BASIC) -> httpx.Response:
        return await self.http.post(
            "/connect/token",
            content=f"grant_type=refresh_token&refresh_token={refresh}",
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )

    async def login(self) -> None:
        """Exchange a fresh grant (as a consent flow would give) for an access token."""
        answer = await self.token(self.sandbox.oauth.grant())
        self.access = decode_json(answer.content)["access_token"]

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> Answer:
        tenant = {"Xero-Tenant-Id": DEFAULT_TENANT_ID}
        response = await self.send_json(method, API + path, body, params, tenant | (headers or {}))
        return Answer(response)

    async def contact(self, name: str = "Acme", **fields: Any) -> dict[str, Any]:
        answer = await self.call("PUT", "/Contacts", {"Contacts": [{"Name": name, **fields}]})
        return answer.first("Contacts")

    async def invoice(self, contact_id: str, *lines: dict[str, Any], **fields: Any) -> Answer:
        element = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "Date": "2026-03-01",
            "Status": "AUTHORISED",
            "LineItems": list(lines) or [line("100.00")],
            **fields,
        }
        return await self.call("PUT", "/Invoices", {"Invoices": [element]}, summarizeErrors="true")

    async def pay(self, invoice_id: str, amount: str, **fields: Any) -> Answer:
        element = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2026-03-15",
            "Amount": Decimal(amount),
            **fields,
        }
        return await self.call("PUT", "/Payments", {"Payments": [element]}, summarizeErrors="true")


def line(unit: str, qty: str = "1", tax: str = "0", **fields: Any) -> dict[str, Any]:
    return {
        "Description": "Service",
        "Quantity": Decimal(qty),
        "UnitAmount": Decimal(unit),
        "TaxAmount": Decimal(tax),
        "AccountCode": "200",
        "TaxType": "OUTPUT" if Decimal(tax) else "NONE",
        **fields,
    }


@pytest.fixture
async def xero() -> AsyncIterator[Xero]:
    async with signed_in(Xero(create_app(per_minute=1000, minute_window=60.0))) as client:
        yield client


# -------------------------------------------------------------- OAuth, auth


async def test_connections_name_the_tenant(xero: Xero) -> None:
    connections = await xero.http.get(
        "/connections", headers={"Authorization": f"Bearer {xero.access}"}
    )
    assert [c["tenantId"] for c in connections.json()] == [DEFAULT_TENANT_ID]


# ------------------------------------------------------------------ limits


async def test_every_answer_carries_the_remaining_limits(xero: Xero) -> None:
    answer = await xero.call("GET", "/Organisation")
    assert answer.first("Organisations")["BaseCurrency"] == "USD"
    assert answer.headers["X-MinLimit-Remaining"] == "999"
    assert answer.headers["X-DayLimit-Remaining"] == "4999"
    assert answer.headers["X-AppMinLimit-Remaining"] == "9999"


class TestXeroRequestWindow(RequestWindowSection):
    """The minute limit: a problem object naming the limit, and a Retry-After."""

    window_code = "Too Many Requests"
    window_headers = (("X-Rate-Limit-Problem", "minute"),)
    retry_after = Wait(1, 60)
    per: ClassVar[str] = "per_minute"

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        async with signed_in(Xero(create_app(**{self.per: limit}))) as xero:
            sent = {"Authorization": f"Bearer {xero.access}", "Xero-Tenant-Id": DEFAULT_TENANT_ID}
            yield Window(lambda: xero.http.get(f"{API}/Contacts", headers=sent), xero.sandbox)

    def error_code(self, answer: httpx.Response) -> str:
        return str(decode_json(answer.content)["Title"])


class TestXeroDayWindow(TestXeroRequestWindow):
    """The day limit answers as the minute limit, naming the day."""

    window_headers = (("X-Rate-Limit-Problem", "day"),)
    retry_after = Wait(1, 86400)
    per = "per_day"


def test_the_concurrent_limit_counts_calls_in_flight_and_gives_no_retry_after() -> None:
    now = [0.0]
    limits = XeroLimits(
        per_minute=Rate(60, 60.0),
        per_day=Rate(5000, 86400.0),
        app_per_minute=Rate(10_000, 60.0),
        concurrent=5,
        clock=lambda: now[0],
    )
    for _ in range(5):
        limits.admit("t")
    with pytest.raises(XeroFault) as refused:
        limits.admit("t")
    assert refused.value.headers == {"X-Rate-Limit-Problem": "concurrent"}
    limits.release("t")
    limits.admit("t")
    assert limits.headers("t")["X-MinLimit-Remaining"] == "54"


# ------------------------------------------------------- bodies and the spec


async def test_summarize_errors_false_saves_the_good_elements_and_marks_the_bad(
    xero: Xero,
) -> None:
    body = {"Contacts": [{"Name": "Good"}, {"Name": ""}, {"Name": "Bad", "EmailAddress": "x"}]}
    mixed = await xero.call("PUT", "/Contacts", body)
    assert mixed.status == 200
    marks = [c["StatusAttributeString"] for c in mixed.body["Contacts"]]
    assert marks == ["OK", "ERROR", "ERROR"]
    assert mixed.messages() == ["Contact Name cannot be empty.", "Email address must be valid."]
    assert xero.sandbox.count("customer") == 1
    summarized = await xero.call("PUT", "/Contacts", body, summarizeErrors="true")
    assert summarized.status == 400
    assert "already assigned to another contact" in summarized.messages()[0]
    assert xero.sandbox.count("customer") == 1


async def test_an_archived_contacts_name_is_free(xero: Xero) -> None:
    acme = await xero.contact("Acme", ContactNumber="CUST-1")
    archive = {"Contacts": [{"ContactStatus": "ARCHIVED"}]}
    await xero.call("POST", f"/Contacts/{acme['ContactID']}", archive)
    assert (await xero.contact("Acme"))["ContactID"] != acme["ContactID"]
    by_number = await xero.call("GET", "/Contacts/CUST-1")
    assert by_number.first("Contacts")["ContactStatus"] == "ARCHIVED"


# ------------------------------------------------------------- idempotency


async def test_an_idempotency_key_replays_the_first_answer(xero: Xero) -> None:
    contact = await xero.contact()
    key = {"Idempotency-Key": "invoice-1"}
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}}]}
    body["Invoices"][0] |= {"Status": "AUTHORISED", "LineItems": [line("10.00")]}
    first = await xero.call("PUT", "/Invoices", body, headers=key)
    again = await xero.call("PUT", "/Invoices", body, headers=key)
    assert again.body == first.body
    assert xero.sandbox.count("invoice") == 1


async def test_an_internal_error_is_cached_under_its_key_and_a_503_is_not(xero: Xero) -> None:
    body = {"Contacts": [{"Name": "Acme"}]}
    xero.sandbox.fail_next_writes(1, status=500)
    failed = await xero.call("PUT", "/Contacts", body, headers={"Idempotency-Key": "a"})
    assert (failed.status, failed.body["Type"]) == (500, "UnknownErrorException")
    replayed = await xero.call("PUT", "/Contacts", body, headers={"Idempotency-Key": "a"})
    assert replayed.status == 500
    assert xero.sandbox.count("customer") == 0
    xero.sandbox.fail_next_writes(1, status=503)
    assert (
        await xero.call("PUT", "/Contacts", body, headers={"Idempotency-Key": "b"})
    ).status == 503
    assert (
        await xero.call("PUT", "/Contacts", body, headers={"Idempotency-Key": "b"})
    ).status == 200
    assert xero.sandbox.count("customer") == 1


async def test_a_key_is_forgotten_when_its_lifetime_ends() -> None:
    xero = Xero(create_app(idempotency_ttl=0.0))
    await xero.login()
    contact = await xero.contact()
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}}]}
    body["Invoices"][0] |= {"LineItems": [line("10.00")], "InvoiceNumber": "INV-9"}
    await xero.call("PUT", "/Invoices", body, headers={"Idempotency-Key": "k"})
    again = await xero.call("PUT", "/Invoices", body, headers={"Idempotency-Key": "k"})
    assert again.body["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Invoice # must be unique."}
    ]
    assert xero.sandbox.count("invoice") == 1
    await xero.http.aclose()


# ---------------------------------------------------------------- invoices


async def test_invoices_are_priced_as_xero_prices_them(xero: Xero) -> None:
    contact = await xero.contact()
    answer = await xero.invoice(
        contact["ContactID"],
        line("75.50", qty="2", tax="12.08", DiscountAmount=Decimal("10.00")),
        line("9.99", qty="3", tax="2.40"),
        line("1.2345"),
    )
    invoice = answer.first("Invoices")
    assert invoice["SubTotal"] == Decimal("172.20")  # 141.00 + 29.97 + 1.23
    assert (invoice["TotalTax"], invoice["Total"]) == (Decimal("14.48"), Decimal("186.68"))
    assert (invoice["AmountDue"], invoice["TotalDiscount"]) == (Decimal("186.68"), Decimal("10.00"))
    assert invoice["InvoiceNumber"] == "INV-0001"
    assert invoice["UpdatedDateUTC"].startswith("/Date(")
    four = await xero.invoice(contact["ContactID"], line("1.2345"), InvoiceNumber="X")
    assert four.first("Invoices")["Total"] == Decimal("1.23")
    precise = {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}}]}
    precise["Invoices"][0] |= {"LineItems": [line("1.2345", qty="10")], "InvoiceNumber": "Y"}
    kept = await xero.call("PUT", "/Invoices", precise, unitdp="4")
    assert kept.first("Invoices")["Total"] == Decimal("12.35")
    shown = await xero.call("GET", f"/Invoices/{kept.first('Invoices')['InvoiceID']}")
    assert shown.first("Invoices")["LineItems"][0]["UnitAmount"] == Decimal("1.23")


async def test_a_foreign_currency_invoice_keeps_its_rate(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    await xero.invoice(contact_id, InvoiceNumber="INV-7")
    euro = await xero.invoice(contact_id, CurrencyCode="EUR", CurrencyRate=Decimal("1.0850"))
    assert euro.first("Invoices")["CurrencyRate"] == Decimal("1.0850")
    assert xero.sandbox.count("invoice") == 2


# ------------------------------------------------------------------- items


async def put_item(xero: Xero, code: str, **fields: Any) -> Answer:
    body = {"Items": [{"Code": code, **fields}]}
    return await xero.call("PUT", "/Items", body, summarizeErrors="true")


def sales(account: str = "200", tax_type: str = "OUTPUT", price: str = "90.00") -> dict[str, Any]:
    return {"UnitPrice": Decimal(price), "AccountCode": account, "TaxType": tax_type}


async def test_items_are_read_by_id_or_code(xero: Xero) -> None:
    made = (await put_item(xero, "SVC-1", Name="Audit", SalesDetails=sales())).first("Items")
    flags = (made["IsSold"], made["IsPurchased"], made["IsTrackedAsInventory"])
    assert flags == (True, True, False)
    by_id = await xero.call("GET", f"/Items/{made['ItemID']}")
    by_code = await xero.call("GET", "/Items/SVC-1")
    assert by_id.first("Items") == by_code.first("Items")
    where = await xero.call("GET", "/Items", where='Code=="svc-1"')
    assert [i["ItemID"] for i in where.body["Items"]] == [made["ItemID"]]
    # POST is update-or-create: the item with the Code is updated
    renamed = await xero.call("POST", "/Items", {"Items": [{"Code": "SVC-1", "Name": "Audit+"}]})
    assert (renamed.first("Items")["ItemID"], renamed.first("Items")["Name"]) == (
        made["ItemID"],
        "Audit+",
    )
    assert xero.sandbox.count("item") == 1


async def test_a_line_naming_no_item_is_refused_as_xero_refuses_it(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    refused = await xero.invoice(
        contact_id, line("10.00", ItemCode="NOPE"), line("5.00"), line("5.00", ItemCode="GONE")
    )
    assert refused.status == 400
    assert (refused.body["ErrorNumber"], refused.body["Type"], refused.body["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert refused.messages() == ["Item code 'NOPE' is not valid", "Item code 'GONE' is not valid"]
    element = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}}
    element |= {"Status": "AUTHORISED", "LineItems": [line("5.00", ItemCode="NOPE")]}
    credit = await xero.call(
        "PUT", "/CreditNotes", {"CreditNotes": [element]}, summarizeErrors="true"
    )
    assert (credit.status, credit.messages()) == (400, ["Item code 'NOPE' is not valid"])
    # without summarizeErrors: a 200 whose element is marked ERROR, nothing saved
    marked = await xero.call("PUT", "/CreditNotes", {"CreditNotes": [element]})
    assert marked.body["CreditNotes"][0]["StatusAttributeString"] == "ERROR"
    assert xero.sandbox.count("invoice") == xero.sandbox.count("credit_note") == 0


async def test_a_line_naming_an_item_takes_what_it_leaves_out_from_the_item(xero: Xero) -> None:
    details = {"Name": "Audit", "Description": "Annual audit", "SalesDetails": sales("260", "NONE")}
    item = (await put_item(xero, "SVC-1", **details)).first("Items")
    contact_id = (await xero.contact())["ContactID"]
    answer = await xero.invoice(
        contact_id,
        {"ItemCode": "svc-1", "Quantity": Decimal("2")},
        line("10.00", ItemCode="SVC-1"),
    )
    first, second = answer.first("Invoices")["LineItems"]
    taken = (first["Description"], first["UnitAmount"], first["AccountCode"], first["TaxType"])
    assert taken == ("Annual audit", Decimal("90.00"), "260", "NONE")
    assert first["LineAmount"] == Decimal("180.00")
    assert first["ItemCode"] == "SVC-1"  # as the item spells it
    assert first["Item"] == {"ItemID": item["ItemID"], "Name": "Audit", "Code": "SVC-1"}
    sent = (second["Description"], second["UnitAmount"], second["AccountCode"])
    assert sent == ("Service", Decimal("10.00"), "200")  # what the line sends wins


async def test_item_writes_take_faults_and_idempotency_keys_like_other_writes(xero: Xero) -> None:
    body = {"Items": [{"Code": "SVC-1"}]}
    xero.sandbox.fail_next_writes(1, status=500)
    failed = await xero.call("PUT", "/Items", body, headers={"Idempotency-Key": "a"})
    assert (failed.status, xero.sandbox.count("item")) == (500, 0)
    first = await xero.call("PUT", "/Items", body, headers={"Idempotency-Key": "b"})
    again = await xero.call("PUT", "/Items", body, headers={"Idempotency-Key": "b"})
    assert again.body == first.body
    xero.sandbox.throttle_next(1)
    throttled = await xero.call("PUT", "/Items", {"Items": [{"Code": "SVC-2"}]})
    assert throttled.status == 429
    assert xero.sandbox.count("item") == 1


async def test_void_zeroes_the_amount_due(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    clean = (await xero.invoice(contact_id, InvoiceNumber="B")).first("Invoices")
    void = {"Invoices": [{"Status": "VOIDED"}]}
    voided = (await xero.call("POST", f"/Invoices/{clean['InvoiceID']}", void)).first("Invoices")
    assert (voided["Status"], voided["AmountDue"]) == ("VOIDED", Decimal("0.00"))
    assert voided["UpdatedDateUTC"] != clean["UpdatedDateUTC"]


# ---------------------------------------------------- payments, credit notes


async def test_payments_reduce_the_amount_due_and_deleted_ones_give_it_back(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    invoice = (await xero.invoice(contact_id)).first("Invoices")
    part = (await xero.pay(invoice["InvoiceID"], "40.00")).first("Payments")
    await xero.pay(invoice["InvoiceID"], "60.00")
    paid = (await xero.call("GET", f"/Invoices/{invoice['InvoiceID']}")).first("Invoices")
    assert (paid["Status"], paid["AmountDue"], paid["AmountPaid"]) == ("PAID", 0, 100)
    deleted = await xero.call(
        "POST", f"/Payments/{part['PaymentID']}", {"Payments": [{"Status": "DELETED"}]}
    )
    assert deleted.first("Payments")["Status"] == "DELETED"
    owed = (await xero.call("GET", f"/Invoices/{invoice['InvoiceID']}")).first("Invoices")
    assert (owed["Status"], owed["AmountDue"]) == ("AUTHORISED", Decimal("40.00"))
    listed = await xero.call("GET", "/Payments")
    assert len(listed.body["Payments"]) == 1
    delta = await xero.call("GET", "/Payments", headers={"If-Modified-Since": "2000-01-01"})
    assert sorted(p["Status"] for p in delta.body["Payments"]) == ["AUTHORISED", "DELETED"]


async def test_a_credit_note_allocated_to_an_invoice(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    invoice = (await xero.invoice(contact_id)).first("Invoices")
    note = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED"}
    note["LineItems"] = [line("30.00")]
    created = await xero.call("PUT", "/CreditNotes", {"CreditNotes": [note]})
    credit = created.first("CreditNotes")
    assert (credit["RemainingCredit"], credit["CreditNoteNumber"]) == (30, "CN-0001")
    path = f"/CreditNotes/{credit['CreditNoteID']}/Allocations"
    allocation = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Date": "2026-03-10"}
    done = await xero.call("PUT", path, {"Allocations": [allocation | {"Amount": 30}]})
    assert done.first("Allocations")["Amount"] == 30
    after = (await xero.call("GET", f"/Invoices/{invoice['InvoiceID']}")).first("Invoices")
    assert (after["AmountDue"], after["AmountCredited"]) == (Decimal("70.00"), 30)
    used = (await xero.call("GET", f"/CreditNotes/{credit['CreditNoteID']}")).first("CreditNotes")
    assert (used["Status"], used["RemainingCredit"]) == ("PAID", 0)


# ---------------------------------------------------- overpayments, refunds


def overpayment(contact_id: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "RECEIVE-OVERPAYMENT",
        "Contact": {"ContactID": contact_id},
        "BankAccount": {"Code": "090"},
        "Date": "2026-03-15",
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Paid twice", "LineAmount": Decimal(amount)}],
        "Reference": "CHK 9",
        **fields,
    }


async def receive(xero: Xero, contact_id: str, amount: str, **fields: Any) -> Answer:
    element = overpayment(contact_id, amount, **fields)
    return await xero.call(
        "PUT", "/BankTransactions", {"BankTransactions": [element]}, summarizeErrors="true"
    )


async def refund(xero: Xero, credit: dict[str, str], amount: str) -> Answer:
    element = credit | {"Account": {"Code": "090"}, "Date": "2026-03-20", "Amount": Decimal(amount)}
    return await xero.call("PUT", "/Payments", {"Payments": [element]}, summarizeErrors="true")


async def test_an_overpayment_is_a_receive_overpayment_bank_transaction(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    received = (await receive(xero, contact_id, "24.55")).first("BankTransactions")
    ident = received["OverpaymentID"]
    assert received["BankTransactionID"] == ident
    kept = (await xero.call("GET", f"/Overpayments/{ident}")).first("Overpayments")
    assert (kept["Type"], kept["Total"], kept["RemainingCredit"], kept["Status"]) == (
        "RECEIVE-OVERPAYMENT",
        Decimal("24.55"),
        Decimal("24.55"),
        "AUTHORISED",
    )
    assert kept["Reference"] == "CHK 9"
    by_reference = await xero.call("GET", "/Overpayments", where='Reference.Contains("chk 9")')
    assert [o["OverpaymentID"] for o in by_reference.body["Overpayments"]] == [ident]
    assert xero.sandbox.count("overpayment") == 1
    assert xero.sandbox.count("payment") == 1  # money received: the overpayment


async def test_an_overpayment_is_allocated_and_refunded_within_its_remaining_credit(
    xero: Xero,
) -> None:
    contact_id = (await xero.contact())["ContactID"]
    invoice = (await xero.invoice(contact_id)).first("Invoices")
    ident = (await receive(xero, contact_id, "150.00")).first("BankTransactions")["OverpaymentID"]
    path = f"/Overpayments/{ident}/Allocations"
    allocation = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Date": "2026-03-15"}
    done = await xero.call("PUT", path, {"Allocations": [allocation | {"Amount": 100}]})
    assert done.first("Allocations")["Amount"] == 100
    paid = (await xero.call("GET", f"/Invoices/{invoice['InvoiceID']}")).first("Invoices")
    assert (paid["Status"], paid["AmountDue"], paid["AmountCredited"]) == ("PAID", 0, 100)
    assert [o["OverpaymentID"] for o in paid["Overpayments"]] == [ident]
    made = (await refund(xero, {"Overpayment": {"OverpaymentID": ident}}, "50.00")).first(
        "Payments"
    )
    assert made["PaymentType"] == "AROVERPAYMENTPAYMENT"
    assert made["Overpayment"]["OverpaymentID"] == ident and "Invoice" not in made
    read = (await xero.call("GET", f"/Payments/{made['PaymentID']}")).first("Payments")
    assert read["Invoice"]["InvoiceID"] == ident and "Overpayment" not in read
    used = (await xero.call("GET", f"/Overpayments/{ident}")).first("Overpayments")
    assert (used["Status"], used["RemainingCredit"]) == ("PAID", 0)
    assert (xero.sandbox.count("payment"), xero.sandbox.count("refund")) == (1, 1)


async def test_a_credit_note_refund_and_its_deletion(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    note = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED"}
    note["LineItems"] = [line("40.00")]
    credit = (await xero.call("PUT", "/CreditNotes", {"CreditNotes": [note]})).first("CreditNotes")
    target = {"CreditNote": {"CreditNoteID": credit["CreditNoteID"]}}
    made = (await refund(xero, target, "15.00")).first("Payments")
    assert (made["PaymentType"], made["CreditNote"]["CreditNoteNumber"]) == (
        "ARCREDITPAYMENT",
        "CN-0001",
    )
    path = f"/CreditNotes/{credit['CreditNoteID']}"
    assert (await xero.call("GET", path)).first("CreditNotes")["RemainingCredit"] == 25
    await xero.call("POST", f"/Payments/{made['PaymentID']}", {"Payments": [{"Status": "DELETED"}]})
    back = (await xero.call("GET", path)).first("CreditNotes")
    assert (back["RemainingCredit"], back["Payments"]) == (40, [])
    refunds = await xero.call("GET", "/Payments", where='PaymentType=="ARCREDITPAYMENT"')
    assert refunds.body["Payments"] == []  # a deleted payment only shows in a delta


async def test_a_foreign_currency_payment_or_refund_keeps_its_rate(xero: Xero) -> None:
    """Without a rate Xero would book it at its XE.com day rate (``Payment.CurrencyRate``:
    "Only used for non base currency invoices and credit notes"); the sandbox refuses it
    (the refusal examples' payment.rate_missing), so a payment at a rate nobody chose
    cannot pass unnoticed."""
    contact_id = (await xero.contact())["ContactID"]
    euro = {"CurrencyCode": "EUR", "CurrencyRate": Decimal("1.0850")}
    invoice = (await xero.invoice(contact_id, **euro)).first("Invoices")
    paid = await xero.pay(invoice["InvoiceID"], "40.00", CurrencyRate=Decimal("1.0900"))
    assert paid.first("Payments")["CurrencyRate"] == Decimal("1.0900")
    note = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED"}
    note |= euro | {"LineItems": [line("40.00")]}
    credit = (await xero.call("PUT", "/CreditNotes", {"CreditNotes": [note]})).first("CreditNotes")
    target = {"CreditNote": {"CreditNoteID": credit["CreditNoteID"]}}
    made = await refund(xero, target | {"CurrencyRate": Decimal("1.0850")}, "5.00")
    assert made.first("Payments")["CurrencyRate"] == Decimal("1.0850")
    home = (await xero.invoice(contact_id, InvoiceNumber="H-1")).first("Invoices")
    in_usd = (await xero.pay(home["InvoiceID"], "10.00")).first("Payments")
    assert in_usd["CurrencyRate"] == 1  # the organisation's own currency needs none


# ---------------------------------------------------- reads, paging, delta


async def test_pages_hold_page_size_records_and_say_how_many_pages(xero: Xero) -> None:
    ids = [(await xero.contact(f"C{n}"))["ContactID"] for n in range(5)]
    pages = [await xero.call("GET", "/Contacts", page=str(p), pageSize="2") for p in (1, 2, 3)]
    assert [[c["ContactID"] for c in p.body["Contacts"]] for p in pages] == [
        ids[:2],
        ids[2:4],
        ids[4:],
    ]
    assert pages[0].body["pagination"] == {
        "page": 1,
        "pageSize": 2,
        "pageCount": 3,
        "itemCount": 5,
    }
    assert len((await xero.call("GET", "/Contacts")).body["Contacts"]) == 5


async def test_only_paged_invoice_lists_carry_line_items(xero: Xero) -> None:
    contact_id = (await xero.contact())["ContactID"]
    await xero.invoice(contact_id)
    assert "LineItems" not in (await xero.call("GET", "/Invoices")).body["Invoices"][0]
    assert (await xero.call("GET", "/Invoices", page="1")).body["Invoices"][0]["LineItems"]


async def test_if_modified_since_returns_what_changed_at_or_after(xero: Xero) -> None:
    old = await xero.contact("Old")
    await asyncio.sleep(0.005)
    new = await xero.contact("New")
    stamp = new["UpdatedDateUTC"][6:19]
    from datetime import UTC, datetime

    since = datetime.fromtimestamp(int(stamp) / 1000, UTC).isoformat(timespec="milliseconds")
    changed = await xero.call("GET", "/Contacts", headers={"If-Modified-Since": since})
    assert [c["Name"] for c in changed.body["Contacts"]] == ["New"]
    http_date = await xero.call(
        "GET", "/Contacts", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}
    )
    assert {c["ContactID"] for c in http_date.body["Contacts"]} == {
        old["ContactID"],
        new["ContactID"],
    }


async def test_where_and_order(xero: Xero) -> None:
    await xero.contact("Alpha", EmailAddress="a@x.io")
    await xero.contact("Beta", EmailAddress="b@x.io")
    hit = await xero.call("GET", "/Contacts", where='EmailAddress=="B@X.IO" OR Name=="nobody"')
    assert [c["Name"] for c in hit.body["Contacts"]] == ["Beta"]
    ordered = await xero.call("GET", "/Contacts", order="Name DESC")
    assert [c["Name"] for c in ordered.body["Contacts"]] == ["Beta", "Alpha"]


async def test_updates_stamp_a_new_updated_date(xero: Xero) -> None:
    contact = await xero.contact()
    stamps = [contact["UpdatedDateUTC"]]
    for n in range(3):
        body = {"Contacts": [{"Name": f"Acme {n}"}]}
        stamps.append(
            (await xero.call("POST", f"/Contacts/{contact['ContactID']}", body)).first("Contacts")[
                "UpdatedDateUTC"
            ]
        )
    assert len(set(stamps)) == 4


# ------------------------------------------------------------ admin (the routes themselves:
# tests/contracts/sandbox_sections.py)


async def test_a_new_contact_shows_nothing_outstanding(xero: Xero) -> None:
    await xero.contact()
    records = decode_json((await xero.http.get("/_sandbox/records/customer")).content)
    assert records[0]["Balances"]["AccountsReceivable"]["Outstanding"] == 0


# ---------------------------------------------------------------- refusals


class TestXeroRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/xero/sandbox/refusals.py refused as its example shows."""

    examples = EXAMPLES
    kinds = ("customer", "invoice", "payment", "credit_note", "refund", "item", "overpayment")

    def client(self) -> AbstractAsyncContextManager[Xero]:
        return signed_in(Xero(create_app(per_minute=1000, minute_window=60.0)))

    def url(self, path: str) -> str:
        return API + path

    def signed(self, client: Xero) -> dict[str, str]:
        return {"Authorization": f"Bearer {client.access}", "Xero-Tenant-Id": DEFAULT_TENANT_ID}

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        """An error's ErrorNumber is its Type's; a ValidationException says so."""
        body = Answer(answer).body
        numbers = {"ValidationException": 10, "PostDataInvalidException": 14}
        if body and body.get("Type") in (*numbers, "QueryParseException"):
            assert body["ErrorNumber"] == numbers.get(body["Type"], 16)
        if body and body.get("Type") == "ValidationException":
            assert body["Message"] == "A validation exception occurred"

    async def given_expired(self, xero: Xero) -> dict[str, str]:
        xero.sandbox.oauth.expire_access_tokens()
        return {}

    def error_code(self, answer: httpx.Response) -> str:
        """A 429's X-Rate-Limit-Problem, an error's Type, a problem object's Detail."""
        if answer.status_code == 429:
            return answer.headers.get("X-Rate-Limit-Problem", "")
        body = Answer(answer).body
        if body is None:
            return ""
        return str(body["Type"] if body.get("Type") else body["Detail"])

    async def given_book(self, xero: Xero) -> dict[str, str]:
        """Acme (CUST-1, no e-mail) with an invoice INV-7 of 100.00, a draft, a paid one
        (a payment and a deleted one), a voided one, one in EUR, a credit note of 30.00
        and a draft one, an overpayment of 150.00; Other with an invoice; Gone, archived;
        the item SVC-1; a contact written under the Idempotency-Key ``key``."""
        acme = (await xero.contact("Acme", ContactNumber="CUST-1"))["ContactID"]

        async def invoice(contact: str = acme, **fields: Any) -> str:
            return str((await xero.invoice(contact, **fields)).first("Invoices")["InvoiceID"])

        async def note(status: str, **fields: Any) -> str:
            element = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": acme}}
            element |= {"Status": status, "LineItems": [line("30.00")], **fields}
            made = await xero.call("PUT", "/CreditNotes", {"CreditNotes": [element]})
            return str(made.first("CreditNotes")["CreditNoteID"])

        async def payment(invoice_id: str) -> str:
            return str((await xero.pay(invoice_id, "1.00")).first("Payments")["PaymentID"])

        paid, voided = await invoice(InvoiceNumber="P-1"), await invoice(InvoiceNumber="V-1")
        await xero.call("POST", f"/Invoices/{voided}", {"Invoices": [{"Status": "VOIDED"}]})
        deleted = await payment(paid)
        await xero.call("POST", f"/Payments/{deleted}", {"Payments": [{"Status": "DELETED"}]})
        gone = (await xero.contact("Gone"))["ContactID"]
        archive = {"Contacts": [{"ContactStatus": "ARCHIVED"}]}
        await xero.call("POST", f"/Contacts/{gone}", archive)
        await put_item(xero, "SVC-1")
        keyed = {"Contacts": [{"Name": "Keyed"}]}
        await xero.call("PUT", "/Contacts", keyed, headers={"Idempotency-Key": "k-1"})
        received = (await receive(xero, acme, "150.00")).first("BankTransactions")
        euro = {"CurrencyCode": "EUR", "CurrencyRate": Decimal("1.0850")}
        return {
            "contact": acme,
            "invoice": await invoice(InvoiceNumber="INV-7"),
            "draft": await invoice(Status="DRAFT", InvoiceNumber="D-1"),
            "paid": paid,
            "payment": await payment(paid),
            "deleted": deleted,
            "voided": voided,
            "euro": await invoice(InvoiceNumber="E-1", **euro),
            "note": await note("AUTHORISED"),
            "draft_note": await note("DRAFT"),
            "euro_note": await note("AUTHORISED", **euro),
            "overpayment": received["OverpaymentID"],
            "others": await invoice((await xero.contact("Other"))["ContactID"]),
            "archived": gone,
            "key": "k-1",
        }
