"""The Sage sandbox speaks Sage Accounting v3.1: raw HTTP against the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.sage.sandbox.book import SageBook
from syncledger.adapters.sage.sandbox.seed import (
    BANK_ACCOUNT_ID,
    PURCHASE_LEDGER_ACCOUNT_ID,
    SALES_LEDGER_ACCOUNT_ID,
)
from syncledger.adapters.sage.sandbox.server import (
    DEFAULT_BUSINESS_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from tests.contracts.raw_sections import RequestWindowSection, Wait, Window, signed_in

GUID = "0123456789abcdef0123456789abcdef"


class Clock:
    """A settable clock for the book (Sage's times are whole seconds)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Sage:
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.sandbox = sandbox_of(app)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s")
        self.access = ""

    async def token(self, refresh: str, secret: str = DEFAULT_CLIENT_SECRET) -> httpx.Response:
        form = (
            f"grant_type=refresh_token&refresh_token={refresh}"
            f"&client_id={DEFAULT_CLIENT_ID}&client_secret={secret}"
        )
        return await self.http.post(
            "/token",
            content=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def login(self, refresh: str = DEFAULT_REFRESH_TOKEN) -> None:
        self.access = decode_json((await self.token(refresh)).content)["access_token"]

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> tuple[int, Any]:
        response = await self.raw(method, path, body, headers, **params)
        return response.status_code, decode_json(response.content)

    async def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {self.access}"} | (headers or {})
        return await self.http.request(
            method,
            "/v3.1" + path,
            params=params,
            content=None if body is None else encode_json(body),
            headers=sent,
        )

    async def create(self, resource: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self.call("POST", f"/{resource}", {key: fields})
        assert status == 201, answer
        created: dict[str, Any] = answer
        return created

    async def contact(self, name: str = "Acme", **fields: Any) -> dict[str, Any]:
        return await self.create(
            "contacts", "contact", {"name": name, "contact_type_ids": ["CUSTOMER"], **fields}
        )

    async def invoice(
        self, contact_id: str, *lines: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {
            "contact_id": contact_id,
            "date": "2026-03-01",
            "invoice_lines": list(lines or [line("100.00")]),
        }
        return await self.create("sales_invoices", "sales_invoice", body | fields)


def line(
    unit_price: str, quantity: str = "1", tax: str | None = None, **extra: Any
) -> dict[str, Any]:
    taxed = tax is not None
    return {
        "description": "Service",
        "ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
        "quantity": Decimal(quantity),
        "unit_price": Decimal(unit_price),
        "tax_rate_id": "GB_STANDARD" if taxed else "GB_NO_TAX",
        **({"tax_amount": Decimal(tax)} if taxed else {}),
        **extra,
    }


def receipt(contact_id: str, total: str, *allocations: tuple[str, str]) -> dict[str, Any]:
    return {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": contact_id,
        "bank_account_id": BANK_ACCOUNT_ID,
        "date": "2026-03-02",
        "total_amount": Decimal(total),
        "allocated_artefacts": [{"artefact_id": a, "amount": Decimal(v)} for a, v in allocations],
    }


def diagnosis(answer: Any) -> tuple[str, str]:
    return str(answer[0]["$dataCode"]), str(answer[0]["$source"])


@pytest.fixture
async def sage() -> AsyncIterator[Sage]:
    async with signed_in(Sage(create_app(limit=1000, window=60.0))) as client:
        yield client


# -------------------------------------------------------------------- OAuth


async def test_no_token_and_a_bad_token_are_refused_in_sages_two_shapes(sage: Sage) -> None:
    bare = await sage.http.get("/v3.1/contacts")
    assert bare.status_code == 401
    assert "Authorization missing" in decode_json(bare.content)["error"]
    sage.access = "not-a-token"
    status, answer = await sage.call("GET", "/contacts")
    assert status == 401
    assert diagnosis(answer) == ("AccessTokenVerificationError", "Authorization")


async def test_x_business_selects_the_business(sage: Sage) -> None:
    ours = {"X-Business": DEFAULT_BUSINESS_ID}
    assert (await sage.call("GET", "/contacts", headers=ours))[0] == 200
    status, answer = await sage.call("GET", "/contacts", headers={"X-Business": "f" * 32})
    assert (status, diagnosis(answer)[1]) == (403, "X-Business")


# ----------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"contact_type_ids": ["CUSTOMER"]}, "name"),
        ({"name": "Acme"}, "contact_type_ids"),
        ({"name": "Acme", "contact_type_ids": ["PARTNER"]}, "contact_type_ids"),
        (
            {
                "name": "Acme",
                "contact_type_ids": ["CUSTOMER"],
                "main_contact_person": {"email": "x"},
            },
            "main_contact_person.email",
        ),
    ],
)
async def test_contact_fields_are_checked(sage: Sage, fields: dict[str, Any], source: str) -> None:
    status, answer = await sage.call("POST", "/contacts", {"contact": fields})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", source))
    assert sage.sandbox.count("customer") == 0


async def test_contact_references_are_unique_ignoring_case(sage: Sage) -> None:
    first = await sage.contact("Acme", reference="ACME01")
    assert first["displayed_as"] == "Acme (ACME01)"
    status, answer = await sage.call(
        "POST",
        "/contacts",
        {"contact": {"name": "Other", "contact_type_ids": ["CUSTOMER"], "reference": "acme01"}},
    )
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "reference"))
    renamed = await sage.call("PUT", f"/contacts/{first['id']}", {"contact": {"name": "Acme Ltd"}})
    assert renamed[0] == 200 and renamed[1]["reference"] == "ACME01"


@pytest.mark.parametrize(
    ("fields", "source", "limit"),
    [
        # what the adapter used to send: a 15-character token, the whole address in line 1
        ({"reference": "SL-67B3B5095F8C"}, "reference", 10),  # Contact.reference
        ({"main_address": {"address_line_1": "1 Long Street, Building 4, Suite 200, "
                                              "Springfield, IL 62704"}},
         "main_address.address_line_1", 50),  # Address.address_line_1
        ({"main_address": {"city": "C" * 51}}, "main_address.city", 50),  # Address.city
        ({"main_address": {"postal_code": "12345-67890"}}, "main_address.postal_code", 10),
        ({"main_contact_person": {"name": "N" * 51}}, "main_contact_person.name", 50),
        ({"main_contact_person": {"telephone": "1" * 51}}, "main_contact_person.telephone", 50),
        ({"name": "N" * 101}, "name", 100),  # Contact.name
        ({"notes": "n" * 4001}, "notes", 4000),  # Contact.notes
    ],
)  # fmt: skip
async def test_sages_published_lengths_are_enforced(
    sage: Sage, fields: dict[str, Any], source: str, limit: int
) -> None:
    """swagger.full.json ``maxLength`` (definitions Contact, Address, ContactPerson)."""
    body = {"name": "Acme", "contact_type_ids": ["CUSTOMER"]} | fields
    status, answer = await sage.call("POST", "/contacts", {"contact": body})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", source))
    assert answer[0]["$message"] == f"is too long (maximum is {limit} characters)"
    assert sage.sandbox.count("customer") == 0


async def test_values_at_sages_lengths_are_taken(sage: Sage) -> None:
    contact = await sage.contact(
        "N" * 100,
        reference="R" * 10,
        main_address={"address_line_1": "A" * 50, "postal_code": "P" * 10},
        main_contact_person={"name": "M" * 50},
    )
    assert (contact["reference"], contact["main_address"]["postal_code"]) == ("R" * 10, "P" * 10)


async def test_document_and_payment_lengths_are_enforced(sage: Sage) -> None:
    contact = await sage.contact()
    body = {"contact_id": contact["id"], "date": "2026-03-01", "invoice_lines": [line("1")]}
    for field, limit in (("reference", 25), ("notes", 2000)):  # SalesInvoice maxLength
        wrong = body | {field: "x" * (limit + 1)}
        status, answer = await sage.call("POST", "/sales_invoices", {"sales_invoice": wrong})
        assert (status, diagnosis(answer)) == (422, ("RecordInvalid", field))
    invoice = await sage.invoice(contact["id"], reference="x" * 25)
    paid = receipt(contact["id"], "10.00", (invoice["id"], "10.00")) | {"reference": "r" * 26}
    status, answer = await sage.call("POST", "/contact_payments", {"contact_payment": paid})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "reference"))  # 25


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"nickname": "Ace"}, "nickname"),
        ({"main_address": {"line1": "1 Main St"}}, "main_address.line1"),
        ({"credit_limit": "100.00"}, "credit_limit"),  # a number, not a string
        ({"contact_type_ids": "CUSTOMER"}, "contact_type_ids"),
    ],
)
async def test_what_the_schema_does_not_list_or_type_so_is_refused(
    sage: Sage, fields: dict[str, Any], source: str
) -> None:
    body = {"name": "Acme", "contact_type_ids": ["CUSTOMER"]} | fields
    status, answer = await sage.call("POST", "/contacts", {"contact": body})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", source))
    assert sage.sandbox.count("customer") == 0


# --------------------------------------------------------------- invoices


async def test_an_invoice_for_an_unknown_contact_is_record_not_found(sage: Sage) -> None:
    status, answer = await sage.call(
        "POST",
        "/sales_invoices",
        {
            "sales_invoice": {
                "contact_id": "nope",
                "date": "2026-03-01",
                "invoice_lines": [line("1")],
            }
        },
    )
    assert (status, answer[0]["$dataCode"], answer[0]["$message"]) == (
        404,
        "RecordNotFound",
        "Couldn't find record.",
    )
    assert sage.sandbox.count("invoice") == 0


async def test_invoice_lines_price_discount_and_tax_exactly(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(
        contact["id"],
        line("75.50", "2", tax="12.08", discount_amount=Decimal("6.83")),
        line("9.99", "3", tax="2.40", discount_percentage=Decimal("10")),
        line("40.00"),
    )
    nets = [ln["net_amount"] for ln in invoice["invoice_lines"]]
    assert nets == [Decimal("144.17"), Decimal("26.97"), Decimal("40.00")]
    assert invoice["invoice_lines"][2]["tax_amount"] == 0  # a no_tax rate infers 0
    assert (invoice["total_amount"], invoice["outstanding_amount"]) == (Decimal("225.62"),) * 2
    assert invoice["status"]["id"] == "UNPAID" and invoice["invoice_number"] == "SI-1"


@pytest.mark.parametrize(
    ("bad", "source"),
    [
        ({"tax_rate_id": "GB_STANDARD"}, "invoice_lines.tax_amount"),
        ({"tax_rate_id": None}, "invoice_lines.tax_rate_id"),
        ({"ledger_account_id": "f" * 32}, "invoice_lines.ledger_account_id"),
        ({"net_amount": Decimal("99.00")}, "invoice_lines.net_amount"),
        ({"unit_price": "ten"}, "invoice_lines.unit_price"),
    ],
)
async def test_invoice_lines_are_checked(sage: Sage, bad: dict[str, Any], source: str) -> None:
    contact = await sage.contact()
    body = {"contact_id": contact["id"], "date": "2026-03-01", "invoice_lines": [line("10") | bad]}
    status, answer = await sage.call("POST", "/sales_invoices", {"sales_invoice": body})
    assert status in (404, 422)
    assert diagnosis(answer)[1] == source


async def test_a_foreign_invoice_needs_its_rate_and_keeps_both_directions(sage: Sage) -> None:
    contact = await sage.contact(currency_id="EUR")
    body = {"contact_id": contact["id"], "date": "2026-03-01", "invoice_lines": [line("100.00")]}
    status, answer = await sage.call("POST", "/sales_invoices", {"sales_invoice": body})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "exchange_rate"))
    invoice = await sage.invoice(contact["id"], inverse_exchange_rate=Decimal("1.25"))
    assert (invoice["exchange_rate"], invoice["base_currency_total_amount"]) == (
        Decimal("0.8"),
        Decimal("125.00"),
    )


async def test_put_lines_as_the_swagger_documents_them_replace_the_lines(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"], line("10.00"), line("20.00"))
    path = f"/sales_invoices/{invoice['id']}"
    lines = [line("15.00"), line("1.00")]
    status, updated = await sage.call("PUT", path, {"sales_invoice": {"invoice_lines": lines}})
    assert status == 200
    assert [ln["net_amount"] for ln in updated["invoice_lines"]] == [
        Decimal("15.00"),
        Decimal("1.00"),
    ]
    assert updated["total_amount"] == Decimal("16.00") and sage.sandbox.count("invoice") == 1
    status, kept = await sage.call("PUT", path, {"sales_invoice": {"notes": "no lines sent"}})
    assert status == 200 and kept["total_amount"] == Decimal("16.00")


@pytest.mark.parametrize("extra", [{"_destroy": True}, {"unit_price": Decimal("15.00")}])
async def test_a_put_naming_an_old_line_is_refused_as_no_field_of_sages_schema(
    sage: Sage, extra: dict[str, Any]
) -> None:
    """``putSalesInvoices`` lines carry neither ``id`` nor ``_destroy`` (swagger.full.json):
    the old nested-attributes body is refused, and nothing changes."""
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"], line("10.00"), line("20.00"))
    first, second = (ln["id"] for ln in invoice["invoice_lines"])
    lines = [{"id": second} | extra, line("1.00")]
    path = f"/sales_invoices/{invoice['id']}"
    status, answer = await sage.call("PUT", path, {"sales_invoice": {"invoice_lines": lines}})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "invoice_lines.id"))
    destroy_only = [{"_destroy": True}]
    status, answer = await sage.call(
        "PUT", path, {"sales_invoice": {"invoice_lines": destroy_only}}
    )
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "invoice_lines._destroy"))
    [stored] = sage.sandbox.records("invoice")
    assert [ln["id"] for ln in stored["invoice_lines"]] == [first, second]
    assert stored["total_amount"] == Decimal("30.00")


async def test_void_needs_a_reason_and_happens_once(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    path = f"/sales_invoices/{invoice['id']}"
    status, answer = await sage.call("DELETE", path)
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "void_reason"))
    status, voided = await sage.call("DELETE", path, void_reason="duplicate")
    assert status == 200
    assert (voided["status"]["id"], voided["outstanding_amount"], voided["void_reason"]) == (
        "VOID",
        0,
        "duplicate",
    )
    assert (await sage.call("DELETE", path, void_reason="again"))[0] == 422
    edit = await sage.call("PUT", path, {"sales_invoice": {"notes": "late"}})
    assert edit[0] == 422


# --------------------------------------------------- products and services


async def service(sage: Sage, code: str, **fields: Any) -> dict[str, Any]:
    body = {"item_code": code, "description": f"{code} work"}
    return await sage.create(
        "services", "service", body | {"sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID} | fields
    )


async def test_a_line_naming_an_unknown_item_is_record_not_found_as_sage_answers(
    sage: Sage,
) -> None:
    contact = await sage.contact()
    known = await service(sage, "SVC-1")
    for bad in ({"service_id": "f" * 32}, {"product_id": known["id"]}):  # a service is no product
        body = {"contact_id": contact["id"], "date": "2026-03-01", "invoice_lines": [line("1")]}
        body["invoice_lines"][0] |= bad
        status, answer = await sage.call("POST", "/sales_invoices", {"sales_invoice": body})
        assert (status, answer) == (
            404,
            [
                {
                    "$severity": "error",
                    "$dataCode": "RecordNotFound",
                    "$message": "Couldn't find record.",
                    "$source": "",
                }
            ],
        )
    assert sage.sandbox.count("invoice") == 0


async def test_a_line_booked_to_an_item_links_it_and_keeps_it_on_put(sage: Sage) -> None:
    contact = await sage.contact()
    first, second = await service(sage, "SVC-1"), await service(sage, "SVC-2")
    invoice = await sage.invoice(contact["id"], line("10.00", service_id=first["id"]), line("5"))
    booked, free = invoice["invoice_lines"]
    assert booked["service"] == {
        "id": first["id"],
        "displayed_as": "SVC-1 work",
        "$path": f"/services/{first['id']}",
    }
    assert (booked["product"], free["service"], free["product"]) == (None, None, None)
    path = f"/sales_invoices/{invoice['id']}"
    _, kept = await sage.call("PUT", path, {"sales_invoice": {"notes": "lines not sent"}})
    assert kept["invoice_lines"][0]["service"]["id"] == first["id"]
    moved = [line("12.00", service_id=second["id"])]
    _, updated = await sage.call("PUT", path, {"sales_invoice": {"invoice_lines": moved}})
    assert updated["invoice_lines"][0]["service"]["id"] == second["id"]
    both = [line("1", service_id=first["id"], product_id=first["id"])]
    body = {"contact_id": contact["id"], "date": "2026-03-01", "invoice_lines": both}
    status, answer = await sage.call("POST", "/sales_invoices", {"sales_invoice": body})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "invoice_lines.service_id"))


async def test_item_codes_are_unique_across_products_and_services_ignoring_case(
    sage: Sage,
) -> None:
    await service(sage, "SVC-1")
    product = {
        "item_code": "svc-1",
        "description": "Widget",
        "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
        "purchase_ledger_account_id": PURCHASE_LEDGER_ACCOUNT_ID,
    }
    for resource, key in (("services", "service"), ("products", "product")):
        status, answer = await sage.call("POST", f"/{resource}", {key: product})
        assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "item_code"))
        assert answer[0]["$message"] == "has already been taken"
    made = await sage.create("products", "product", product | {"item_code": "W-1"})
    assert made["purchase_ledger_account"]["id"] == PURCHASE_LEDGER_ACCOUNT_ID
    assert sage.sandbox.count("item") == 2


@pytest.mark.parametrize(
    ("resource", "missing", "source"),
    [
        ("services", "description", "description"),
        ("services", "sales_ledger_account_id", "sales_ledger_account_id"),
        ("products", "purchase_ledger_account_id", "purchase_ledger_account_id"),
    ],
)
async def test_item_fields_are_checked(
    sage: Sage, resource: str, missing: str, source: str
) -> None:
    fields = {
        "item_code": "X",
        "description": "X",
        "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
        "purchase_ledger_account_id": PURCHASE_LEDGER_ACCOUNT_ID,
    }
    del fields[missing]
    status, answer = await sage.call("POST", f"/{resource}", {resource[:-1]: fields})
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", source))
    assert sage.sandbox.count("item") == 0


async def test_items_are_searched_by_code_or_description_and_counted(sage: Sage) -> None:
    await service(sage, "SVC-1")
    await service(sage, "AUDIT-2")
    _, found = await sage.call("GET", "/services", search="svc", attributes="item_code")
    assert [i["item_code"] for i in found["$items"]] == ["SVC-1"]
    _, found = await sage.call("GET", "/services", search="audit-2 WORK")
    assert [i["displayed_as"] for i in found["$items"]] == ["AUDIT-2 work"]
    counts = decode_json((await sage.http.get("/_sandbox/counts")).content)
    assert counts["item"] == 2


async def test_item_writes_go_through_the_fault_hooks(sage: Sage) -> None:
    sage.sandbox.fail_next_writes(1, status=503)
    fields = {"description": "X", "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID}
    status, _ = await sage.call("POST", "/services", {"service": fields})
    assert status == 503 and sage.sandbox.count("item") == 0
    replayed = fields | {"idempotency_id": GUID}
    first = await sage.call("POST", "/services", {"service": replayed})
    assert first == await sage.call("POST", "/services", {"service": replayed})
    assert sage.sandbox.count("item") == 1


# ------------------------------------------------------ payments, allocations


async def test_receipts_settle_invoices_and_keep_the_rest_on_account(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    status, answer = await sage.call(
        "POST",
        "/contact_payments",
        {"contact_payment": receipt(contact["id"], "500", (invoice["id"], "150"))},
    )
    assert (status, diagnosis(answer)[1]) == (422, "allocated_artefacts.amount")
    payment = await sage.create(
        "contact_payments", "contact_payment", receipt(contact["id"], "70", (invoice["id"], "60"))
    )
    on_account = payment["payment_on_account"]
    assert (on_account["total_amount"], on_account["outstanding_amount"]) == (Decimal("10"),) * 2
    assert on_account["id"] != payment["id"] and on_account["status"]["id"] == "UNPAID"
    status, after = await sage.call("GET", f"/sales_invoices/{invoice['id']}")
    assert (after["outstanding_amount"], after["status"]["id"]) == (Decimal("40.00"), "PART_PAID")
    await sage.create(
        "contact_payments", "contact_payment", receipt(contact["id"], "40", (invoice["id"], "40"))
    )
    paid = (await sage.call("GET", f"/sales_invoices/{invoice['id']}"))[1]
    assert (paid["outstanding_amount"], paid["status"]["id"]) == (0, "PAID")
    balance = (await sage.call("GET", f"/contacts/{contact['id']}"))[1]["balance"]
    assert balance == Decimal("-10")  # the payment on account is credit the customer holds


def refund(contact_id: str, total: str, *allocations: tuple[str, str]) -> dict[str, Any]:
    return receipt(contact_id, total, *allocations) | {"transaction_type_id": "CUSTOMER_REFUND"}


async def credit_note(sage: Sage, contact_id: str, price: str = "30.00") -> dict[str, Any]:
    return await sage.create(
        "sales_credit_notes",
        "sales_credit_note",
        {"contact_id": contact_id, "date": "2026-03-02", "credit_note_lines": [line(price)]},
    )


async def test_a_receipt_allocated_to_nothing_is_all_on_account(sage: Sage) -> None:
    contact = await sage.contact()
    payment = await sage.create("contact_payments", "contact_payment", receipt(contact["id"], "25"))
    assert payment["allocated_artefacts"] == []
    assert payment["payment_on_account"]["outstanding_amount"] == Decimal("25")
    euro = await sage.contact("Euro GmbH", currency_id="EUR")
    status, answer = await sage.call(
        "POST", "/contact_payments", {"contact_payment": receipt(euro["id"], "25")}
    )
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "exchange_rate"))


async def test_a_refund_pays_out_of_a_payment_on_account(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    payment = await sage.create(
        "contact_payments", "contact_payment", receipt(contact["id"], "130", (invoice["id"], "100"))
    )
    on_account = payment["payment_on_account"]["id"]
    status, answer = await sage.call(
        "POST",
        "/contact_payments",
        {"contact_payment": refund(contact["id"], "40", (on_account, "40"))},
    )
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "allocated_artefacts.amount"))
    paid_out = await sage.create(
        "contact_payments", "contact_payment", refund(contact["id"], "30", (on_account, "30"))
    )
    assert paid_out["transaction_type"]["id"] == "CUSTOMER_REFUND"
    assert [a["artefact"]["id"] for a in paid_out["allocated_artefacts"]] == [on_account]
    after = (await sage.call("GET", f"/contact_payments/{payment['id']}"))[1]
    assert after["payment_on_account"]["outstanding_amount"] == 0
    assert after["payment_on_account"]["status"]["id"] == "PAID"
    status, answer = await sage.call(
        "POST",
        "/contact_payments",
        {"contact_payment": refund(contact["id"], "1", (on_account, "1"))},
    )
    assert (status, answer[0]["$message"], answer[0]["$source"]) == (
        422,
        "You can only pay unpaid or part-paid invoices.",
        "base",
    )
    assert (sage.sandbox.count("payment"), sage.sandbox.count("refund")) == (1, 1)
    listed = await sage.call("GET", "/contact_payments", transaction_type_id="CUSTOMER_REFUND")
    assert [item["id"] for item in listed[1]["$items"]] == [paid_out["id"]]


async def test_a_refund_pays_out_of_a_credit_note_within_what_is_left(sage: Sage) -> None:
    contact = await sage.contact()
    note = await credit_note(sage, contact["id"])
    await sage.create(
        "contact_payments", "contact_payment", refund(contact["id"], "10", (note["id"], "10"))
    )
    after = (await sage.call("GET", f"/sales_credit_notes/{note['id']}"))[1]
    assert (after["outstanding_amount"], after["status"]["id"]) == (Decimal("20.00"), "PART_PAID")
    status, answer = await sage.call(
        "POST",
        "/contact_payments",
        {"contact_payment": refund(contact["id"], "25", (note["id"], "25"))},
    )
    assert (status, diagnosis(answer)) == (422, ("RecordInvalid", "allocated_artefacts.amount"))
    assert sage.sandbox.count("refund") == 1
    balance = (await sage.call("GET", f"/contacts/{contact['id']}"))[1]["balance"]
    assert balance == Decimal("-20.00")


@pytest.mark.parametrize(
    ("case", "source"),
    [
        ("invoice", "allocated_artefacts.artefact_id"),
        ("unknown", "allocated_artefacts.artefact_id"),
        ("other contact", "allocated_artefacts.artefact_id"),
        ("unallocated", "total_amount"),
    ],
)
async def test_a_refund_needs_a_credit_of_its_customer(sage: Sage, case: str, source: str) -> None:
    contact = await sage.contact()
    other = await sage.contact("Other")
    invoice = await sage.invoice(contact["id"])
    note = await credit_note(sage, contact["id"])
    theirs = await credit_note(sage, other["id"])
    artefact = {
        "invoice": (invoice["id"], "5"),
        "unknown": ("f" * 32, "5"),
        "other contact": (theirs["id"], "5"),
        "unallocated": (note["id"], "4"),
    }[case]
    status, answer = await sage.call(
        "POST", "/contact_payments", {"contact_payment": refund(contact["id"], "5", artefact)}
    )
    assert status in (404, 422) and diagnosis(answer)[1] == source
    assert sage.sandbox.count("refund") == 0
    assert (await sage.call("GET", f"/sales_credit_notes/{note['id']}"))[1][
        "outstanding_amount"
    ] == Decimal("30.00")


async def test_allocations_net_to_zero_and_apply_a_credit_note(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    note = await sage.create(
        "sales_credit_notes",
        "sales_credit_note",
        {"contact_id": contact["id"], "date": "2026-03-02", "credit_note_lines": [line("30.00")]},
    )
    assert note["credit_note_number"] == "SCN-1"

    def allocation(invoice_amount: str, note_amount: str) -> dict[str, Any]:
        artefacts = [
            {"artefact_id": invoice["id"], "amount": Decimal(invoice_amount)},
            {"artefact_id": note["id"], "amount": Decimal(note_amount)},
        ]
        fields = {"transaction_type_id": "CUSTOMER_ALLOCATION", "contact_id": contact["id"]}
        return {"contact_allocation": fields | {"allocated_artefacts": artefacts}}

    status, answer = await sage.call("POST", "/contact_allocations", allocation("30", "-20"))
    assert (status, diagnosis(answer)[1]) == (422, "allocated_artefacts")
    assert (await sage.call("POST", "/contact_allocations", allocation("30", "-30")))[0] == 201
    assert (await sage.call("GET", f"/sales_invoices/{invoice['id']}"))[1][
        "outstanding_amount"
    ] == Decimal("70.00")
    assert (await sage.call("GET", f"/sales_credit_notes/{note['id']}"))[1]["status"][
        "id"
    ] == "PAID"


# ------------------------------------------------------------ idempotency


async def test_an_idempotency_id_replays_the_first_answer_for_seven_days() -> None:
    clock = Clock()
    sage = Sage(create_app(book=SageBook(None, clock=clock)))
    await sage.login()
    fields = {"name": "Acme", "contact_type_ids": ["CUSTOMER"], "idempotency_id": GUID}
    first = await sage.call("POST", "/contacts", {"contact": fields})
    again = await sage.call("POST", "/contacts", {"contact": fields | {"name": "Changed"}})
    assert first == again and first[0] == 201
    assert sage.sandbox.count("customer") == 1
    clock.advance(days=7, seconds=1)
    later = await sage.call("POST", "/contacts", {"contact": fields})
    assert later[0] == 201 and later[1]["id"] != first[1]["id"]
    status, answer = await sage.call(
        "POST", "/contacts", {"contact": fields | {"idempotency_id": "not-a-guid"}}
    )
    assert (status, diagnosis(answer)[1]) == (422, "idempotency_id")
    await sage.http.aclose()


async def test_a_refused_create_is_not_remembered(sage: Sage) -> None:
    fields = {"contact_type_ids": ["CUSTOMER"], "idempotency_id": GUID}
    assert (await sage.call("POST", "/contacts", {"contact": fields}))[0] == 422
    assert (await sage.call("POST", "/contacts", {"contact": fields | {"name": "Acme"}}))[0] == 201


# ------------------------------------------------------------ paging, delta


async def test_lists_page_with_next_links_and_base_attributes(sage: Sage) -> None:
    for n in range(5):
        await sage.contact(f"Customer {n}")
    status, page = await sage.call("GET", "/contacts", items_per_page="2")
    assert status == 200
    assert (page["$total"], page["$page"], page["$itemsPerPage"], page["$back"]) == (5, 1, 2, None)
    assert set(page["$items"][0]) == {"id", "displayed_as", "$path"}
    names: list[str] = []
    link: str | None = "/contacts?items_per_page=2&attributes=all"
    while link:
        answer = decode_json(
            (
                await sage.http.get(
                    "/v3.1" + link, headers={"Authorization": f"Bearer {sage.access}"}
                )
            ).content
        )
        names += [item["name"] for item in answer["$items"]]
        link = answer["$next"]
    assert names == [f"Customer {n}" for n in range(5)]
    capped = (await sage.call("GET", "/contacts", items_per_page="5000"))[1]
    assert capped["$itemsPerPage"] == 200


async def test_updated_or_created_since_is_inclusive_at_whole_seconds() -> None:
    clock = Clock()
    sage = Sage(create_app(book=SageBook(None, clock=clock)))
    await sage.login()
    old = await sage.contact("Old")
    clock.advance(seconds=1.4)
    new = await sage.contact("New")
    since = new["updated_at"]
    assert since == "2026-03-01T09:00:01Z"
    found = (
        await sage.call(
            "GET", "/contacts", updated_or_created_since="2026-03-01T09:00:01.900+00:00"
        )
    )[1]
    assert [item["id"] for item in found["$items"]] == [new["id"]]
    clock.advance(seconds=5)
    await sage.call("PUT", f"/contacts/{old['id']}", {"contact": {"notes": "edited"}})
    found = (await sage.call("GET", "/contacts", updated_or_created_since="2026-03-01T09:00:06Z"))[
        1
    ]
    assert [item["id"] for item in found["$items"]] == [old["id"]]
    await sage.http.aclose()


async def test_documents_sort_newest_first_and_search_by_reference(sage: Sage) -> None:
    contact = await sage.contact()
    for n in range(3):
        await sage.invoice(contact["id"], reference=f"INV-{n}")
    newest = (
        await sage.call("GET", "/sales_invoices", sort="created_at:desc", attributes="reference")
    )[1]
    assert [i["reference"] for i in newest["$items"]] == ["INV-2", "INV-1", "INV-0"]
    found = (await sage.call("GET", "/sales_invoices", search="inv-1", attributes="all"))[1]
    assert [i["reference"] for i in found["$items"]] == ["INV-1"]
    assert (await sage.call("GET", "/sales_invoices", sort="amount"))[0] == 422


# ------------------------------------------------------------------ limits


class TestSageRequestWindow(RequestWindowSection):
    """The request window: TooManyRequests, a Retry-After within the window."""

    window_code = "TooManyRequests"
    retry_after = Wait(1, 60)

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        async with signed_in(Sage(create_app(limit=limit, window=60.0))) as sage:
            yield Window(lambda: sage.raw("GET", "/contacts"), sage.sandbox)

    def error_code(self, answer: httpx.Response) -> str:
        return diagnosis(decode_json(answer.content))[0]


async def test_the_hourly_volume_limit_answers_429() -> None:
    sage = Sage(create_app(megabytes_per_hour=0.0005))  # about 500 bytes
    await sage.login()
    await sage.contact("A", notes="A" * 600)
    refused = await sage.raw("GET", "/contacts")
    assert refused.status_code == 429 and "megabytes" in refused.text
    await sage.http.aclose()


# ------------------------------------------------------------ admin, books (the shared
# routes and persistence: tests/contracts/sandbox_sections.py)


async def test_an_injected_503_answers_sages_unexpected_error(sage: Sage) -> None:
    await sage.http.post("/_sandbox/faults", json={"fail_writes": 1, "fail_status": 503})
    status, answer = await sage.call(
        "POST", "/contacts", {"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"]}}
    )
    assert (status, diagnosis(answer)[0]) == (503, "UnexpectedError")
    assert sage.sandbox.count("customer") == 0


async def test_idempotency_ids_and_the_seed_survive_a_restart(tmp_path: Path) -> None:
    book = tmp_path / "sage.sqlite3"
    first = Sage(create_app(book))
    await first.login()
    await first.contact("Kept", idempotency_id=GUID)
    first.sandbox.close()
    second = Sage(create_app(book))
    await second.login(second.sandbox.oauth.grant())  # the first grant was spent above
    assert second.sandbox.count("customer") == 1
    replay = await second.call(
        "POST",
        "/contacts",
        {"contact": {"name": "Kept", "contact_type_ids": ["CUSTOMER"], "idempotency_id": GUID}},
    )
    assert replay[0] == 201 and second.sandbox.count("customer") == 1
    assert len((await second.call("GET", "/tax_rates"))[1]["$items"]) == 5  # seeded once
    await first.http.aclose()
    await second.http.aclose()
    second.sandbox.close()
