"""The Zoho Books sandbox speaks Zoho Books v3: raw HTTP against the app in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.zoho.sandbox.refusals import EXAMPLES
from syncledger.adapters.zoho.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION_ID,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.zoho.sandbox.service import ZohoSandbox
from tests.contracts.bare_client import BareClient
from tests.contracts.raw_sections import RequestWindowSection, Window, signed_in
from tests.contracts.refusal_examples_section import RefusalExamplesSection, Request

ORG = DEFAULT_ORGANIZATION_ID
API = "/books/v3"


class Zoho(BareClient[ZohoSandbox]):
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, sandbox_of(app))
        self._item: str | None = None

    def item(self) -> str:
        """An item invoice lines are booked to (seeded on first use)."""
        if self._item is None:
            self._item = self.sandbox.seed_item("Service")
        return self._item

    def line(self, rate: str, quantity: str = "1", **fields: Any) -> dict[str, Any]:
        """An invoice line: Zoho's invoice schema requires its ``item_id``."""
        return {"item_id": self.item()} | line(rate, quantity, **fields)

    async def token(self, refresh: str = DEFAULT_REFRESH_TOKEN, **form: str) -> dict[str, Any]:
        fields = {
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        }
        response = await self.http.post("/oauth/v2/token", data=fields | form)
        assert response.status_code == 200  # Zoho Accounts answers refusals with 200 too
        answer: dict[str, Any] = decode_json(response.content)
        return answer

    async def login(self) -> None:
        self.access = (await self.token())["access_token"]

    async def raw(
        self, method: str, path: str, body: Any = None, *, auth: str | None = None, **params: str
    ) -> httpx.Response:
        query = {"organization_id": ORG} | params
        return await self.http.request(
            method,
            API + path,
            params={k: v for k, v in query.items() if v != ""},
            content=None if body is None else encode_json(body),
            headers={"Authorization": auth or f"Zoho-oauthtoken {self.access}"},
        )

    async def call(
        self, method: str, path: str, body: Any = None, **params: str
    ) -> tuple[int, Any]:
        response = await self.raw(method, path, body, **params)
        return response.status_code, decode_json(response.content)

    async def ok(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        status, answer = await self.call(method, path, body, **params)
        assert status in (200, 201), answer
        assert answer["code"] == 0
        result: dict[str, Any] = answer
        return result

    async def contact(self, name: str = "Acme", **fields: Any) -> dict[str, Any]:
        answer = await self.ok("POST", "/contacts", {"contact_name": name, **fields})
        contact: dict[str, Any] = answer["contact"]
        return contact

    async def tax_id(self, percentage: str = "8") -> str:
        taxes = (await self.ok("GET", "/settings/taxes"))["taxes"]
        return str(next(t["tax_id"] for t in taxes if t["tax_percentage"] == Decimal(percentage)))

    async def currency_id(self, code: str) -> str:
        currencies = (await self.ok("GET", "/settings/currencies"))["currencies"]
        return str(next(c["currency_id"] for c in currencies if c["currency_code"] == code))

    async def invoice(
        self, customer_id: str, *, sent: bool = True, **fields: Any
    ) -> dict[str, Any]:
        body = {"customer_id": customer_id, "line_items": [self.line("100.00")], **fields}
        invoice: dict[str, Any] = (await self.ok("POST", "/invoices", body))["invoice"]
        if sent:
            await self.ok("POST", f"/invoices/{invoice['invoice_id']}/status/sent")
        return await self.read("invoices", str(invoice["invoice_id"]))

    async def pay(
        self, customer_id: str, invoice_id: str, amount: str, **fields: Any
    ) -> tuple[int, Any]:
        body = {
            "customer_id": customer_id,
            "payment_mode": "cash",
            "amount": Decimal(amount),
            "date": "2026-03-15",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": Decimal(amount)}],
            **fields,
        }
        return await self.call("POST", "/customerpayments", body)

    async def read(self, resource: str, ident: str) -> dict[str, Any]:
        answer = await self.ok("GET", f"/{resource}/{ident}")
        key = {"contacts": "contact", "invoices": "invoice", "customerpayments": "payment"}
        found: dict[str, Any] = answer[key.get(resource, "creditnote")]
        return found


def line(rate: str, quantity: str = "1", **fields: Any) -> dict[str, Any]:
    return {"name": "Service", "rate": Decimal(rate), "quantity": Decimal(quantity), **fields}


async def started(app: Starlette) -> Zoho:
    zoho = Zoho(app)
    await zoho.login()
    return zoho


@pytest.fixture
async def zoho() -> AsyncIterator[Zoho]:
    async with signed_in(Zoho(create_app(per_minute=1000, window_seconds=60.0))) as env:
        yield env


# ------------------------------------------------------------ auth and scope


async def test_refresh_tokens_do_not_rotate_and_refusals_come_with_http_200(zoho: Zoho) -> None:
    first, second = await zoho.token(), await zoho.token()
    assert first["access_token"] != second["access_token"]
    assert "refresh_token" not in first
    assert first["token_type"] == "Bearer" and first["expires_in"] == 3600
    assert await zoho.token("1000.unknown") == {"error": "invalid_code"}
    assert await zoho.token(client_secret="wrong") == {"error": "invalid_client"}


# ------------------------------------------------------------------ contacts


async def test_a_contact_is_renamed(zoho: Zoho) -> None:
    other = await zoho.contact("Bolt")
    renamed = await zoho.ok("PUT", f"/contacts/{other['contact_id']}", {"contact_name": "Bolt Ltd"})
    assert renamed["contact"]["contact_name"] == "Bolt Ltd"


async def test_contacts_are_found_by_person_email_and_by_notes(zoho: Zoho) -> None:
    person = {"first_name": "Ann", "email": "ann@acme.example"}
    acme = await zoho.contact("Acme", contact_persons=[person], notes="ref key-123")
    await zoho.contact("Bolt")
    by_email = (await zoho.ok("GET", "/contacts", email="ANN@acme.example"))["contacts"]
    by_notes = (await zoho.ok("GET", "/contacts", search_text="key-123"))["contacts"]
    assert [c["contact_id"] for c in by_email] == [acme["contact_id"]]
    assert [c["contact_id"] for c in by_notes] == [acme["contact_id"]]
    assert "notes" not in by_notes[0] and "contact_persons" not in by_notes[0]  # list rows


# -------------------------------------------------------------------- items


async def test_an_item_is_active_and_books_to_sales(zoho: Zoho) -> None:
    item = (await zoho.ok("POST", "/items", {"name": "Consulting", "rate": Decimal("90")}))["item"]
    assert (item["status"], item["account_name"]) == ("active", "Sales")


async def test_items_are_found_by_exact_name_and_read_by_id(zoho: Zoho) -> None:
    made = [
        (await zoho.ok("POST", "/items", {"name": n, "rate": 1}))["item"]["item_id"]
        for n in ("Audit", "Audit extra", "Tax advice")
    ]
    found = await zoho.ok("GET", "/items", name="audit", filter_by="Status.All")
    assert [i["item_id"] for i in found["items"]] == [made[0]]
    contains = await zoho.ok("GET", "/items", name_contains="audit")
    assert [i["name"] for i in contains["items"]] == ["Audit", "Audit extra"]
    assert (await zoho.ok("GET", f"/items/{made[2]}"))["item"]["name"] == "Tax advice"


async def test_a_line_naming_an_item_takes_what_it_leaves_out_from_the_item(zoho: Zoho) -> None:
    customer = await zoho.contact()
    item_id = zoho.sandbox.seed_item("Hosting", rate=Decimal("12.50"))
    lines = [{"item_id": item_id, "quantity": Decimal("2")}, zoho.line("1.00")]
    invoice = await zoho.invoice(customer["contact_id"], line_items=lines)
    booked = [(ln.get("item_id"), ln["name"]) for ln in invoice["line_items"]]
    assert booked == [(item_id, "Hosting"), (zoho.item(), "Service")]
    assert invoice["total"] == Decimal("26.00")


# ------------------------------------------------------------------ invoices


async def test_zoho_computes_tax_from_tax_ids_and_takes_the_discount_after_tax(zoho: Zoho) -> None:
    customer = await zoho.contact()
    tax = await zoho.tax_id("8")
    lines = [
        zoho.line("75.50", "2", tax_id=tax),
        zoho.line("9.99", "3", tax_id=tax),
        zoho.line("40.00"),
    ]
    invoice = await zoho.invoice(customer["contact_id"], line_items=lines, discount="10.00")
    assert invoice["sub_total"] == Decimal("220.97")
    assert invoice["tax_total"] == Decimal("14.48")  # 12.08 + 2.40, rounded per line
    assert invoice["total"] == invoice["balance"] == Decimal("225.45")


async def test_a_discount_before_tax_is_taxed_on_the_discounted_amounts(zoho: Zoho) -> None:
    customer = await zoho.contact()
    tax = await zoho.tax_id("20")
    lines = [zoho.line("100.00", tax_id=tax)]
    invoice = await zoho.invoice(
        customer["contact_id"], line_items=lines, discount="10%", is_discount_before_tax=True
    )
    assert invoice["discount_amount"] == Decimal("10.00")
    assert invoice["tax_total"] == Decimal("18.00")
    assert invoice["total"] == Decimal("108.00")


async def test_invoice_numbers_are_generated_unless_told_otherwise(zoho: Zoho) -> None:
    customer = await zoho.contact()
    body = {"customer_id": customer["contact_id"], "line_items": [zoho.line("10.00")]}
    generated = (await zoho.ok("POST", "/invoices", body))["invoice"]
    assert generated["invoice_number"] == "INV-000001"
    own = await zoho.ok(
        "POST", "/invoices", body | {"invoice_number": "A-1"}, ignore_auto_number_generation="true"
    )
    assert own["invoice"]["invoice_number"] == "A-1"


async def test_invoices_start_as_drafts_that_take_payment_once_sent(zoho: Zoho) -> None:
    customer = await zoho.contact()
    draft = await zoho.invoice(customer["contact_id"], sent=False)
    assert draft["status"] == "draft"
    await zoho.ok("POST", f"/invoices/{draft['invoice_id']}/status/sent")
    assert (await zoho.pay(customer["contact_id"], draft["invoice_id"], "10.00"))[0] == 201


async def test_a_foreign_currency_document_keeps_its_rate(zoho: Zoho) -> None:
    euro = await zoho.currency_id("EUR")
    customer = await zoho.contact("Euro GmbH", currency_id=euro)
    body = {"customer_id": customer["contact_id"], "line_items": [zoho.line("10.00")]}
    invoice = (await zoho.ok("POST", "/invoices", body | {"exchange_rate": Decimal("1.0825")}))[
        "invoice"
    ]
    assert (invoice["currency_code"], invoice["exchange_rate"]) == ("EUR", Decimal("1.0825"))


# ------------------------------------------------------- payments and credits


async def test_payments_reduce_balances_within_them(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    status, answer = await zoho.pay(customer["contact_id"], invoice["invoice_id"], "40.00")
    assert status == 201 and answer["payment"]["unused_amount"] == 0
    after = await zoho.read("invoices", invoice["invoice_id"])
    assert (after["balance"], after["status"]) == (Decimal("60.00"), "partially_paid")
    contact = await zoho.read("contacts", customer["contact_id"])
    assert contact["outstanding_receivable_amount"] == Decimal("60.00")


async def test_voiding_unassociates_payments_into_customer_credits(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    _, paid = await zoho.pay(customer["contact_id"], invoice["invoice_id"], "30.00")
    await zoho.ok("POST", f"/invoices/{invoice['invoice_id']}/status/void")
    voided = await zoho.read("invoices", invoice["invoice_id"])
    assert (voided["status"], voided["balance"]) == ("void", 0)
    payment = await zoho.read("customerpayments", paid["payment"]["payment_id"])
    assert (payment["unused_amount"], payment["invoices"]) == (Decimal("30.00"), [])
    contact = await zoho.read("contacts", customer["contact_id"])
    assert contact["unused_credits_receivable_amount"] == Decimal("30.00")


async def test_credit_notes_apply_to_invoices_and_close_when_used_up(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    body = {
        "customer_id": customer["contact_id"],
        "date": "2026-03-10",
        "line_items": [line("40.00")],
    }
    note = (await zoho.ok("POST", "/creditnotes", body))["creditnote"]
    assert (note["creditnote_number"], note["status"]) == ("CN-00001", "open")
    path = f"/creditnotes/{note['creditnote_id']}/invoices"
    apply = {"invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("40")}]}
    assert (await zoho.ok("POST", path, apply))["apply_to_invoices"]["invoices"][0][
        "amount_applied"
    ] == 40
    credited = (await zoho.ok("GET", path))["invoices_credited"]
    assert [(c["invoice_id"], c["credited_amount"]) for c in credited] == [
        (invoice["invoice_id"], Decimal("40"))
    ]
    assert (await zoho.read("creditnotes", note["creditnote_id"]))["status"] == "closed"
    assert (await zoho.read("invoices", invoice["invoice_id"]))["balance"] == Decimal("60.00")


async def test_what_a_payment_does_not_apply_stays_its_unused_amount(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    applied = [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("100.00")}]
    _, over = await zoho.pay(customer["contact_id"], "", "130.00", invoices=applied)
    assert over["payment"]["unused_amount"] == Decimal("30.00")
    _, advance = await zoho.pay(customer["contact_id"], "", "20.00", invoices=[])
    assert (advance["payment"]["invoices"], advance["payment"]["unused_amount"]) == (
        [],
        Decimal("20.00"),
    )
    assert (await zoho.read("invoices", invoice["invoice_id"]))["status"] == "paid"
    contact = await zoho.read("contacts", customer["contact_id"])
    assert contact["unused_credits_receivable_amount"] == Decimal("50.00")


async def primary_account(zoho: Zoho) -> str:
    accounts = (await zoho.ok("GET", "/bankaccounts"))["bankaccounts"]
    return str(next(a["account_id"] for a in accounts if a["is_primary_account"]))


def refund_body(amount: str, account: str, **fields: Any) -> dict[str, Any]:
    body = {"date": "2026-03-20", "amount": Decimal(amount), "from_account_id": account}
    return body | {"refund_mode": "cash", "reference_number": "RF-1"} | fields


async def test_an_excess_payment_is_refunded_out_of_its_unused_amount(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    applied = [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("100.00")}]
    _, paid = await zoho.pay(customer["contact_id"], "", "130.00", invoices=applied)
    path = f"/customerpayments/{paid['payment']['payment_id']}/refunds"
    account = await primary_account(zoho)
    created = (await zoho.ok("POST", path, refund_body("30.00", account)))["payment_refund"]
    assert (created["amount_fcy"], created["reference_number"]) == (Decimal("30.00"), "RF-1")
    payment = await zoho.read("customerpayments", paid["payment"]["payment_id"])
    assert payment["unused_amount"] == 0
    listed = (await zoho.ok("GET", path))["payment_refunds"]
    assert [r["payment_refund_id"] for r in listed] == [created["payment_refund_id"]]
    one = await zoho.ok("GET", f"{path}/{created['payment_refund_id']}")
    assert one["payment_refund"]["payment_id"] == paid["payment"]["payment_id"]
    assert zoho.sandbox.count("refund") == 1


async def test_a_credit_note_refund_draws_on_its_balance_and_closes_it(zoho: Zoho) -> None:
    customer = await zoho.contact()
    body = {
        "customer_id": customer["contact_id"],
        "date": "2026-03-10",
        "line_items": [line("40.00")],
    }
    note = (await zoho.ok("POST", "/creditnotes", body))["creditnote"]
    path = f"/creditnotes/{note['creditnote_id']}/refunds"
    account = await primary_account(zoho)
    first = await zoho.ok("POST", path, refund_body("15.00", account))
    after = await zoho.read("creditnotes", note["creditnote_id"])
    assert (after["balance"], after["status"]) == (Decimal("25.00"), "open")
    await zoho.ok("POST", path, refund_body("25.00", account, reference_number="RF-2"))
    closed = await zoho.read("creditnotes", note["creditnote_id"])
    assert (closed["balance"], closed["status"]) == (0, "closed")
    everyone = await zoho.ok("GET", "/creditnotes/refunds", customer_id=customer["contact_id"])
    refs = sorted(r["reference_number"] for r in everyone["creditnote_refunds"])
    assert refs == ["RF-1", "RF-2"]
    assert "customer_id" not in everyone["creditnote_refunds"][0]  # Zoho's rows name it only
    stranger = await zoho.ok("GET", "/creditnotes/refunds", customer_id="460000000000404")
    assert stranger["creditnote_refunds"] == []
    wrong_parent = f"/customerpayments/{note['creditnote_id']}/refunds"
    refund_id = first["creditnote_refund"]["creditnote_refund_id"]
    assert (await zoho.call("GET", f"{wrong_parent}/{refund_id}"))[0] == 404


async def test_a_paid_invoice_updated_keeps_what_was_paid(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    await zoho.pay(customer["contact_id"], invoice["invoice_id"], "50.00")
    updated = await zoho.ok(
        "PUT", f"/invoices/{invoice['invoice_id']}", {"line_items": [zoho.line("80.00")]}
    )
    assert (updated["invoice"]["balance"], updated["invoice"]["status"]) == (
        Decimal("30.00"),
        "partially_paid",
    )


# ------------------------------------------- Zoho's published request schemas


async def test_an_invoice_takes_the_discount_fields_a_credit_note_is_refused(
    zoho: Zoho,
) -> None:
    """credit-notes.yml has no document discount: a body carrying one is refused (the
    refusal examples' schema.unknown_field), so a credit can never be stored at its
    undiscounted total without a word."""
    customer = await zoho.contact()
    fields = {"discount": "10.00", "discount_type": "entity_level", "is_discount_before_tax": False}
    invoice = await zoho.invoice(customer["contact_id"], **fields)  # invoices.yml has them
    assert (invoice["discount_amount"], invoice["total"]) == (Decimal("10.00"), Decimal("90.00"))


async def test_a_credit_note_line_needs_no_item_id(zoho: Zoho) -> None:
    """invoices.yml requires ``line_items[].item_id`` on create and update (the refusal
    examples' field.required); credit-note lines do not require it."""
    customer = await zoho.contact()
    uncoded = {"customer_id": customer["contact_id"], "line_items": [line("10.00")]}
    await zoho.ok("POST", "/creditnotes", uncoded | {"date": "2026-03-10"})


@pytest.mark.parametrize(
    ("path", "taken"),
    [
        ("/invoices", "created_time"),
        ("/creditnotes", "created_time"),
        ("/customerpayments", "created_time"),
        ("/contacts", "last_modified_time"),
    ],
)
async def test_lists_sort_by_the_columns_their_schema_documents(
    zoho: Zoho, path: str, taken: str
) -> None:
    context = (await zoho.ok("GET", path, sort_column=taken, sort_order="D"))["page_context"]
    assert (context["sort_column"], context["sort_order"]) == (taken, "D")


async def test_a_credit_note_reads_back_its_tax_summary(zoho: Zoho) -> None:
    customer = await zoho.contact()
    tax = await zoho.tax_id("8")
    body = {
        "customer_id": customer["contact_id"],
        "date": "2026-03-10",
        "line_items": [line("100.00", tax_id=tax), line("5.00")],
    }
    note = (await zoho.ok("POST", "/creditnotes", body))["creditnote"]
    assert [t["tax_amount"] for t in note["taxes"]] == [Decimal("8.00")]
    assert note["total"] == Decimal("113.00")


# ------------------------------------------------------------------- lists


async def test_lists_page_with_page_context(zoho: Zoho) -> None:
    for n in range(5):
        await zoho.contact(f"Customer {n}")
    pages = []
    for page in (1, 2, 3):
        answer = await zoho.ok("GET", "/contacts", page=str(page), per_page="2")
        pages.append(
            (
                [c["contact_name"] for c in answer["contacts"]],
                answer["page_context"]["has_more_page"],
            )
        )
    assert pages == [
        (["Customer 0", "Customer 1"], True),
        (["Customer 2", "Customer 3"], True),
        (["Customer 4"], False),
    ]
    status, answer = await zoho.call("GET", "/contacts", per_page="201")
    assert (status, answer["code"]) == (400, 4)


async def test_changes_are_read_newest_modified_first(zoho: Zoho) -> None:
    first = await zoho.contact("First")
    await zoho.contact("Second")
    await zoho.ok("PUT", f"/contacts/{first['contact_id']}", {"notes": "touched"})
    answer = await zoho.ok("GET", "/contacts", sort_column="last_modified_time", sort_order="D")
    assert [c["contact_name"] for c in answer["contacts"]] == ["First", "Second"]
    stamp = answer["contacts"][0]["last_modified_time"]
    exact = await zoho.ok("GET", "/contacts", last_modified_time=stamp)
    assert first["contact_id"] in {c["contact_id"] for c in exact["contacts"]}
    status, answer = await zoho.call("GET", "/contacts", sort_column="notes")
    assert (status, answer["code"]) == (400, 4)


# ------------------------------------------------------------------ limits


class TestZohoRequestWindow(RequestWindowSection):
    """The per-minute window: code 44, no Retry-After."""

    window_code = "44"

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        async with signed_in(Zoho(create_app(per_minute=limit, window_seconds=60.0))) as zoho:
            yield Window(lambda: zoho.raw("GET", "/contacts"), zoho.sandbox)

    def error_code(self, answer: httpx.Response) -> str:
        return str(decode_json(answer.content)["code"])


async def test_the_daily_cap_answers_429_code_45_and_counts_down() -> None:
    zoho = await started(create_app(daily_limit=2))
    first = await zoho.raw("GET", "/contacts")
    second = await zoho.raw("GET", "/contacts")
    third = await zoho.raw("GET", "/contacts")
    assert [first.headers["x-rate-limit-remaining"], second.headers["x-rate-limit-remaining"]] == [
        "1",
        "0",
    ]
    assert (third.status_code, decode_json(third.content)["code"]) == (429, 45)
    zoho.sandbox.close()


async def test_requests_beyond_the_concurrency_limit_answer_code_1070() -> None:
    zoho = await started(create_app(max_concurrent=1))
    with zoho.sandbox.admitted(ORG, f"Zoho-oauthtoken {zoho.access}"):  # one request in flight
        response = await zoho.raw("GET", "/contacts")
    assert (response.status_code, decode_json(response.content)["code"]) == (429, 1070)
    assert (await zoho.raw("GET", "/contacts")).status_code == 200
    zoho.sandbox.close()


# ------------------------------------------------------------------ faults


async def test_failed_writes_answer_500_and_commit_nothing(zoho: Zoho) -> None:
    zoho.sandbox.fail_next_writes(1, status=503)
    status, answer = await zoho.call("POST", "/contacts", {"contact_name": "Acme"})
    assert (status, answer["code"]) == (503, 1000)
    assert zoho.sandbox.count("customer") == 0


async def test_a_lookup_of_a_stalled_write_stalls_while_injections_remain(zoho: Zoho) -> None:
    customer = await zoho.contact()
    zoho.sandbox.commit_then_timeout_next(2, stall_seconds=5)
    body = {
        "customer_id": customer["contact_id"],
        "line_items": [zoho.line("1")],
        "reference_number": "r-1",
    }
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await zoho.raw("POST", "/invoices", body)
    assert zoho.sandbox.count("invoice") == 1  # committed before stalling
    other = await zoho.ok("GET", "/invoices", reference_number="r-2")
    assert other["invoices"] == []  # a lookup of something else is answered
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await zoho.raw("GET", "/invoices", reference_number="r-1")
    found = await zoho.ok("GET", "/invoices", reference_number="r-1")  # injections used up
    assert [i["reference_number"] for i in found["invoices"]] == ["r-1"]


# ---------------------------------------------------------------- refusals


class TestZohoRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/zoho/sandbox/refusals.py refused as its example shows."""

    examples = EXAMPLES

    def client(self) -> AbstractAsyncContextManager[Zoho]:
        return signed_in(Zoho(create_app(per_minute=1000, window_seconds=60.0)))

    async def send(self, client: Zoho, request: Request) -> httpx.Response:
        query = {"organization_id": ORG} | request.params
        return await client.http.request(
            request.method,
            API + request.path,
            params={k: v for k, v in query.items() if v != ""},
            content=request.content(),
            headers={"Authorization": f"Zoho-oauthtoken {client.access}"} | request.headers,
        )

    def error_code(self, answer: httpx.Response) -> str:
        return str(decode_json(answer.content)["code"])

    async def given_access(self, zoho: Zoho) -> dict[str, str]:
        return {"access": zoho.access}

    async def given_expired(self, zoho: Zoho) -> dict[str, str]:
        await zoho.http.post("/_sandbox/oauth/expire")
        return {}

    async def given_customer(self, zoho: Zoho) -> dict[str, str]:
        """Acme and Bolt; the item Service, and Hosting with the SKU SKU-1."""
        zoho.sandbox.seed_item("Hosting", sku="SKU-1")
        customer = await zoho.contact("Acme")
        other = await zoho.contact("Bolt")
        return {
            "customer": customer["contact_id"],
            "other": other["contact_id"],
            "item": zoho.item(),
        }

    async def given_euro_customer(self, zoho: Zoho) -> dict[str, str]:
        customer = await zoho.contact("Euro GmbH", currency_id=await zoho.currency_id("EUR"))
        usd = await zoho.currency_id("USD")
        return {"customer": customer["contact_id"], "item": zoho.item(), "usd": usd}

    async def invoiced(self, zoho: Zoho, *, sent: bool = True, **fields: Any) -> dict[str, str]:
        customer = await zoho.contact()
        invoice = await zoho.invoice(customer["contact_id"], sent=sent, **fields)
        return {"customer": customer["contact_id"], "item": zoho.item(),
                "invoice": invoice["invoice_id"]}  # fmt: skip

    async def given_invoice(self, zoho: Zoho) -> dict[str, str]:
        return await self.invoiced(zoho)

    async def given_draft(self, zoho: Zoho) -> dict[str, str]:
        return await self.invoiced(zoho, sent=False)

    async def given_voided(self, zoho: Zoho) -> dict[str, str]:
        given = await self.invoiced(zoho)
        await zoho.ok("POST", f"/invoices/{given['invoice']}/status/void")
        return given

    async def given_half_paid(self, zoho: Zoho) -> dict[str, str]:
        given = await self.invoiced(zoho)
        await zoho.pay(given["customer"], given["invoice"], "50.00")
        return given

    async def given_numbered(self, zoho: Zoho) -> dict[str, str]:
        given = await self.invoiced(zoho, sent=False)
        body = {"customer_id": given["customer"], "line_items": [zoho.line("10.00")]}
        number = {"invoice_number": "A-1"}
        await zoho.ok("POST", "/invoices", body | number, ignore_auto_number_generation="true")
        return given

    async def given_credits(self, zoho: Zoho) -> dict[str, str]:
        """A payment of 130.00 with 100.00 applied (30.00 unused), a credit note of 40.00,
        another invoice of 100.00 open, the primary bank account."""
        given = await self.invoiced(zoho)
        applied = [{"invoice_id": given["invoice"], "amount_applied": Decimal("100.00")}]
        _, paid = await zoho.pay(given["customer"], "", "130.00", invoices=applied)
        body = {"customer_id": given["customer"], "date": "2026-03-10", "line_items": [line("40")]}
        note = (await zoho.ok("POST", "/creditnotes", body))["creditnote"]
        invoice = await zoho.invoice(given["customer"])
        return given | {
            "invoice": invoice["invoice_id"],
            "payment": paid["payment"]["payment_id"],
            "note": note["creditnote_id"],
            "account": await primary_account(zoho),
        }
