"""The Sage sandbox speaks Sage Accounting v3.1: raw HTTP against the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.sage.sandbox.book import SageBook
from syncledger.adapters.sage.sandbox.refusals import EXAMPLES
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
from syncledger.adapters.sage.sandbox.service import SageSandbox
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from tests.contracts.bare_client import BareClient
from tests.contracts.raw_sections import RequestWindowSection, Wait, Window, signed_in
from tests.contracts.refusal_examples_section import RefusalExamplesSection

GUID = "0123456789abcdef0123456789abcdef"


class Clock:
    """A settable clock for the book (Sage's times are whole seconds)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Sage(BareClient[SageSandbox]):
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, sandbox_of(app))

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
        return await self.send_json(method, "/v3.1" + path, body, params, headers)

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


async def test_x_business_selects_the_business(sage: Sage) -> None:
    ours = {"X-Business": DEFAULT_BUSINESS_ID}
    assert (await sage.call("GET", "/contacts", headers=ours))[0] == 200


# ----------------------------------------------------------------- contacts


async def test_a_contact_is_shown_with_its_reference_and_keeps_it(sage: Sage) -> None:
    first = await sage.contact("Acme", reference="ACME01")
    assert first["displayed_as"] == "Acme (ACME01)"
    renamed = await sage.call("PUT", f"/contacts/{first['id']}", {"contact": {"name": "Acme Ltd"}})
    assert renamed[0] == 200 and renamed[1]["reference"] == "ACME01"


async def test_values_at_sages_lengths_are_taken(sage: Sage) -> None:
    contact = await sage.contact(
        "N" * 100,
        reference="R" * 10,
        main_address={"address_line_1": "A" * 50, "postal_code": "P" * 10},
        main_contact_person={"name": "M" * 50},
    )
    assert (contact["reference"], contact["main_address"]["postal_code"]) == ("R" * 10, "P" * 10)
    invoice = await sage.invoice(contact["id"], reference="x" * 25)  # SalesInvoice maxLength
    assert invoice["reference"] == "x" * 25


# --------------------------------------------------------------- invoices


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


async def test_a_foreign_invoice_keeps_its_rate_in_both_directions(sage: Sage) -> None:
    contact = await sage.contact(currency_id="EUR")
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


async def test_void_keeps_its_reason(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    path = f"/sales_invoices/{invoice['id']}"
    status, voided = await sage.call("DELETE", path, void_reason="duplicate")
    assert status == 200
    assert (voided["status"]["id"], voided["outstanding_amount"], voided["void_reason"]) == (
        "VOID",
        0,
        "duplicate",
    )


# --------------------------------------------------- products and services


async def service(sage: Sage, code: str, **fields: Any) -> dict[str, Any]:
    body = {"item_code": code, "description": f"{code} work"}
    return await sage.create(
        "services", "service", body | {"sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID} | fields
    )


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


async def test_a_product_books_to_its_purchase_ledger(sage: Sage) -> None:
    await service(sage, "SVC-1")
    product = {
        "item_code": "W-1",
        "description": "Widget",
        "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
        "purchase_ledger_account_id": PURCHASE_LEDGER_ACCOUNT_ID,
    }
    made = await sage.create("products", "product", product)
    assert made["purchase_ledger_account"]["id"] == PURCHASE_LEDGER_ACCOUNT_ID
    assert sage.sandbox.count("item") == 2


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
    payment = await sage.create(
        "contact_payments", "contact_payment", receipt(contact["id"], "70", (invoice["id"], "60"))
    )
    on_account = payment["payment_on_account"]
    assert (on_account["total_amount"], on_account["outstanding_amount"]) == (Decimal("10"),) * 2
    assert on_account["id"] != payment["id"] and on_account["status"]["id"] == "UNPAID"
    _, after = await sage.call("GET", f"/sales_invoices/{invoice['id']}")
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


async def test_a_refund_pays_out_of_a_payment_on_account(sage: Sage) -> None:
    contact = await sage.contact()
    invoice = await sage.invoice(contact["id"])
    payment = await sage.create(
        "contact_payments", "contact_payment", receipt(contact["id"], "130", (invoice["id"], "100"))
    )
    on_account = payment["payment_on_account"]["id"]
    paid_out = await sage.create(
        "contact_payments", "contact_payment", refund(contact["id"], "30", (on_account, "30"))
    )
    assert paid_out["transaction_type"]["id"] == "CUSTOMER_REFUND"
    assert [a["artefact"]["id"] for a in paid_out["allocated_artefacts"]] == [on_account]
    after = (await sage.call("GET", f"/contact_payments/{payment['id']}"))[1]
    assert after["payment_on_account"]["outstanding_amount"] == 0
    assert after["payment_on_account"]["status"]["id"] == "PAID"
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
    assert sage.sandbox.count("refund") == 1
    balance = (await sage.call("GET", f"/contacts/{contact['id']}"))[1]["balance"]
    assert balance == Decimal("-20.00")


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


# ---------------------------------------------------------------- refusals


class TestSageRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/sage/sandbox/refusals.py refused as its example shows, naming
    the ``$source`` the example gives."""

    examples = EXAMPLES

    def client(self) -> AbstractAsyncContextManager[Sage]:
        return signed_in(Sage(create_app(limit=1000, window=60.0)))

    def url(self, path: str) -> str:
        return "/v3.1" + path

    def error_code(self, answer: httpx.Response) -> str:
        body = decode_json(answer.content)
        return str(body[0]["$dataCode"]) if isinstance(body, list) else ""

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        """A diagnosis is an error naming the example's ``$source``."""
        body, expected = decode_json(answer.content), dict(example.expect)
        if isinstance(body, list):
            assert body[0]["$severity"] == "error"
        if "source" in expected:
            assert body[0]["$source"] == expected["source"]

    async def given_contact(self, sage: Sage) -> dict[str, str]:
        """Acme (reference ACME01) and a vendor."""
        contact = await sage.contact("Acme", reference="ACME01")
        vendor = await sage.contact("Supplier", contact_type_ids=["VENDOR"])
        return {"contact": contact["id"], "vendor": vendor["id"]}

    async def given_euro(self, sage: Sage) -> dict[str, str]:
        return {"contact": (await sage.contact("Euro GmbH", currency_id="EUR"))["id"]}

    async def given_invoice(self, sage: Sage) -> dict[str, str]:
        """An invoice of two lines (10.00, 20.00); ``line``: the second's id."""
        contact = await sage.contact()
        invoice = await sage.invoice(contact["id"], line("10.00"), line("20.00"))
        second = invoice["invoice_lines"][1]["id"]
        return {"contact": contact["id"], "invoice": invoice["id"], "line": second}

    async def given_voided(self, sage: Sage) -> dict[str, str]:
        given = await self.given_invoice(sage)
        path = f"/sales_invoices/{given['invoice']}"
        assert (await sage.call("DELETE", path, void_reason="duplicate"))[0] == 200
        return given

    async def given_paid(self, sage: Sage) -> dict[str, str]:
        """An invoice of 100.00 with 60.00 paid."""
        contact = await sage.contact()
        invoice = await sage.invoice(contact["id"])
        paid = receipt(contact["id"], "60", (invoice["id"], "60"))
        await sage.create("contact_payments", "contact_payment", paid)
        return {"contact": contact["id"], "invoice": invoice["id"]}

    async def given_item(self, sage: Sage) -> dict[str, str]:
        contact = await sage.contact()
        return {"contact": contact["id"], "service": (await service(sage, "SVC-1"))["id"]}

    async def given_credits(self, sage: Sage) -> dict[str, str]:
        """An invoice of 100.00, a credit note of 30.00, a payment of 130.00 with 100.00 on
        another invoice (30.00 on account); another contact's credit note."""
        contact = await sage.contact()
        other = await sage.contact("Other")
        paid = await sage.invoice(contact["id"])
        body = receipt(contact["id"], "130", (paid["id"], "100"))
        payment = await sage.create("contact_payments", "contact_payment", body)
        return {
            "contact": contact["id"],
            "invoice": (await sage.invoice(contact["id"]))["id"],
            "note": (await credit_note(sage, contact["id"]))["id"],
            "other_note": (await credit_note(sage, other["id"]))["id"],
            "on_account": payment["payment_on_account"]["id"],
        }

    async def given_refunded(self, sage: Sage) -> dict[str, str]:
        """As ``credits``, the 30.00 on account refunded."""
        given = await self.given_credits(sage)
        body = refund(given["contact"], "30", (given["on_account"], "30"))
        await sage.create("contact_payments", "contact_payment", body)
        return given
