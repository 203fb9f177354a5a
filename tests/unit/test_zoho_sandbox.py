"""The Zoho Books sandbox speaks Zoho Books v3: raw HTTP against the app in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.zoho.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION_ID,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from tests.contracts.raw_sections import RequestWindowSection, Window, signed_in

ORG = DEFAULT_ORGANIZATION_ID
API = "/books/v3"


class Zoho:
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.sandbox = sandbox_of(app)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://z")
        self.access = ""
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


#: stands for ``Zoho.item()`` in parameters (the item is seeded per test)
ITEM = "<the seeded item>"


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


@pytest.mark.parametrize("header", ["", "Bearer {access}", "Zoho-oauthtoken 1000.forged"])
async def test_api_needs_a_zoho_oauthtoken(zoho: Zoho, header: str) -> None:
    response = await zoho.raw("GET", "/contacts", auth=header.format(access=zoho.access) or " ")
    assert response.status_code == 401
    assert decode_json(response.content)["code"] == 57


async def test_expired_access_tokens_are_refused(zoho: Zoho) -> None:
    await zoho.http.post("/_sandbox/oauth/expire")
    assert (await zoho.raw("GET", "/contacts")).status_code == 401


@pytest.mark.parametrize("organization", ["", "999"])
async def test_every_call_names_the_organisation(zoho: Zoho, organization: str) -> None:
    status, answer = await zoho.call("GET", "/contacts", organization_id=organization)
    assert (status, answer["code"]) == (400, 6041)


# ------------------------------------------------------------------ contacts


async def test_contact_names_are_required_and_unique_ignoring_case(zoho: Zoho) -> None:
    await zoho.contact("Acme")
    status, answer = await zoho.call("POST", "/contacts", {"contact_name": "ACME"})
    assert (status, answer["code"]) == (400, 3062)
    status, answer = await zoho.call("POST", "/contacts", {"company_name": "no name"})
    assert (status, answer["code"]) == (400, 4)
    assert zoho.sandbox.count("customer") == 1


async def test_renaming_a_contact_to_a_taken_name_is_refused(zoho: Zoho) -> None:
    await zoho.contact("Acme")
    other = await zoho.contact("Bolt")
    status, answer = await zoho.call(
        "PUT", f"/contacts/{other['contact_id']}", {"contact_name": "acme"}
    )
    assert (status, answer["code"]) == (400, 3062)
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


async def test_item_names_are_required_and_unique_ignoring_case(zoho: Zoho) -> None:
    item = (await zoho.ok("POST", "/items", {"name": "Consulting", "rate": Decimal("90")}))["item"]
    assert (item["status"], item["account_name"]) == ("active", "Sales")
    status, answer = await zoho.call("POST", "/items", {"name": "CONSULTING", "rate": 1})
    assert (status, answer) == (400, {"code": 1001, "message": 'Item "CONSULTING" already exists.'})
    status, answer = await zoho.call("POST", "/items", {"rate": 1})
    assert (status, answer["code"]) == (400, 4)
    status, answer = await zoho.call("POST", "/items", {"name": "x" * 101, "rate": 1})
    assert (status, answer["code"]) == (400, 4)
    status, answer = await zoho.call(
        "POST", "/items", {"name": "Other", "rate": 1, "account_id": "9"}
    )
    assert (status, answer["code"]) == (400, 1002)
    assert zoho.sandbox.count("item") == 1


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
    status, answer = await zoho.call("GET", "/items/460000000999999")
    assert (status, answer) == (404, {"code": 1002, "message": "Item does not exist."})


async def test_a_line_naming_an_unknown_item_is_refused_and_nothing_is_written(zoho: Zoho) -> None:
    customer = await zoho.contact()
    body = {"customer_id": customer["contact_id"], "line_items": [line("10", item_id="4609")]}
    for resource in ("/invoices", "/creditnotes"):
        status, answer = await zoho.call("POST", resource, body | {"date": "2026-03-01"})
        assert (status, answer) == (
            400,
            {"code": 1002, "message": "Invalid value passed for item_id"},
        )
    assert zoho.sandbox.count("invoice") == zoho.sandbox.count("credit_note") == 0
    invoice = await zoho.invoice(customer["contact_id"])
    status, _ = await zoho.call("PUT", f"/invoices/{invoice['invoice_id']}", body)
    assert status == 400
    lines = (await zoho.read("invoices", invoice["invoice_id"]))["line_items"]
    assert [ln["item_id"] for ln in lines] == [zoho.item()]


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


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"line_items": []}, 4),
        ({"line_items": [line("1.00", tax_id="123", item_id=ITEM)]}, 4),
        ({"line_items": [{"name": "no item", "rate": Decimal("1.00")}]}, 4),
        ({"customer_id": "987654"}, 1002),
        ({"reference_number": "x" * 101}, 4),
        ({"discount": "500"}, 4),
    ],
)
async def test_invoices_are_refused_when_invalid(
    zoho: Zoho, change: dict[str, Any], code: int
) -> None:
    customer = await zoho.contact()
    if "line_items" in change:
        lines = [ln | {"item_id": zoho.item()} if ln.get("item_id") == ITEM else ln
                 for ln in change["line_items"]]  # fmt: skip
        change = change | {"line_items": lines}
    body = {"customer_id": customer["contact_id"], "line_items": [zoho.line("10.00")]} | change
    status, answer = await zoho.call("POST", "/invoices", body)
    assert (status, answer["code"]) == (400, code)
    assert zoho.sandbox.count("invoice") == 0


async def test_invoice_numbers_are_generated_unless_told_otherwise(zoho: Zoho) -> None:
    customer = await zoho.contact()
    body = {"customer_id": customer["contact_id"], "line_items": [zoho.line("10.00")]}
    generated = (await zoho.ok("POST", "/invoices", body))["invoice"]
    assert generated["invoice_number"] == "INV-000001"
    status, answer = await zoho.call("POST", "/invoices", body | {"invoice_number": "A-1"})
    assert (status, answer["code"]) == (400, 4)  # without ignore_auto_number_generation
    own = await zoho.ok(
        "POST", "/invoices", body | {"invoice_number": "A-1"}, ignore_auto_number_generation="true"
    )
    assert own["invoice"]["invoice_number"] == "A-1"
    status, answer = await zoho.call(
        "POST", "/invoices", body | {"invoice_number": "a-1"}, ignore_auto_number_generation="true"
    )
    assert (status, answer["code"]) == (400, 1001)


async def test_invoices_start_as_drafts_that_take_no_payment(zoho: Zoho) -> None:
    customer = await zoho.contact()
    draft = await zoho.invoice(customer["contact_id"], sent=False)
    assert draft["status"] == "draft"
    status, answer = await zoho.pay(customer["contact_id"], draft["invoice_id"], "10.00")
    assert (status, answer["code"]) == (400, 9002)
    await zoho.ok("POST", f"/invoices/{draft['invoice_id']}/status/sent")
    status, answer = await zoho.call("POST", f"/invoices/{draft['invoice_id']}/status/sent")
    assert (status, answer["code"]) == (400, 9001)
    assert (await zoho.pay(customer["contact_id"], draft["invoice_id"], "10.00"))[0] == 201


async def test_foreign_currency_documents_need_a_rate_and_the_customers_currency(
    zoho: Zoho,
) -> None:
    euro = await zoho.currency_id("EUR")
    customer = await zoho.contact("Euro GmbH", currency_id=euro)
    body = {"customer_id": customer["contact_id"], "line_items": [zoho.line("10.00")]}
    status, answer = await zoho.call("POST", "/invoices", body)
    assert (status, answer["code"]) == (400, 4)
    status, answer = await zoho.call(
        "POST", "/invoices", body | {"currency_id": await zoho.currency_id("USD")}
    )
    assert (status, answer["code"]) == (400, 9005)
    invoice = (await zoho.ok("POST", "/invoices", body | {"exchange_rate": Decimal("1.0825")}))[
        "invoice"
    ]
    assert (invoice["currency_code"], invoice["exchange_rate"]) == ("EUR", Decimal("1.0825"))


# ------------------------------------------------------- payments and credits


async def test_payments_reduce_balances_within_them(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    status, answer = await zoho.pay(customer["contact_id"], invoice["invoice_id"], "100.01")
    assert (status, answer["code"]) == (400, 9004)
    status, answer = await zoho.pay(customer["contact_id"], invoice["invoice_id"], "40.00")
    assert status == 201 and answer["payment"]["unused_amount"] == 0
    after = await zoho.read("invoices", invoice["invoice_id"])
    assert (after["balance"], after["status"]) == (Decimal("60.00"), "partially_paid")
    contact = await zoho.read("contacts", customer["contact_id"])
    assert contact["outstanding_receivable_amount"] == Decimal("60.00")


async def test_a_payment_cannot_apply_more_than_its_amount(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    body = {
        "customer_id": customer["contact_id"],
        "payment_mode": "cash",
        "amount": Decimal("10.00"),
        "date": "2026-03-15",
        "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("20.00")}],
    }
    status, answer = await zoho.call("POST", "/customerpayments", body)
    assert (status, answer["code"]) == (400, 9004)
    assert zoho.sandbox.count("payment") == 0


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
    for path, body in [("/status/void", None), ("", {"notes": "edit"})]:
        method = "POST" if body is None else "PUT"
        status, answer = await zoho.call(method, f"/invoices/{invoice['invoice_id']}{path}", body)
        assert (status, answer["code"]) == (400, 9003)


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
    too_much = {
        "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal("41")}]
    }
    assert (await zoho.call("POST", path, too_much))[1]["code"] == 9004
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
    status, missing = await zoho.pay(customer["contact_id"], "", "5.00", invoices=None)
    assert (status, missing["code"]) == (400, 4)
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
    status, over = await zoho.call("POST", path, refund_body("30.01", account))
    assert (status, over["code"]) == (400, 9007)
    for body in (refund_body("1", ""), refund_body("1", "460000000000001")):
        status, refused = await zoho.call("POST", path, body)
        assert (status, refused["code"]) == (400, 4)
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
    assert (await zoho.call("POST", path, refund_body("25.01", account)))[1]["code"] == 9007
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


async def test_an_invoice_cannot_be_cut_below_what_was_paid(zoho: Zoho) -> None:
    customer = await zoho.contact()
    invoice = await zoho.invoice(customer["contact_id"])
    await zoho.pay(customer["contact_id"], invoice["invoice_id"], "50.00")
    body = {"line_items": [zoho.line("40.00")]}
    status, answer = await zoho.call("PUT", f"/invoices/{invoice['invoice_id']}", body)
    assert (status, answer["code"]) == (400, 9006)
    updated = await zoho.ok(
        "PUT", f"/invoices/{invoice['invoice_id']}", {"line_items": [zoho.line("80.00")]}
    )
    assert (updated["invoice"]["balance"], updated["invoice"]["status"]) == (
        Decimal("30.00"),
        "partially_paid",
    )


# ------------------------------------------- Zoho's published request schemas


@pytest.mark.parametrize("field", ["discount", "discount_type", "is_discount_before_tax"])
async def test_a_credit_note_is_refused_the_invoices_discount_fields(
    zoho: Zoho, field: str
) -> None:
    """credit-notes.yml has no document discount: a body carrying one is refused, so a
    credit can never be stored at its undiscounted total without a word."""
    customer = await zoho.contact()
    fields = {"discount": "10.00", "discount_type": "entity_level", "is_discount_before_tax": False}
    body = {
        "customer_id": customer["contact_id"],
        "date": "2026-03-10",
        "line_items": [line("40.00")],
        field: fields[field],
    }
    status, answer = await zoho.call("POST", "/creditnotes", body)
    assert (status, answer["code"]) == (400, 4)
    assert answer["message"].startswith(f"Invalid value passed for {field}")
    assert zoho.sandbox.count("credit_note") == 0
    invoice = await zoho.invoice(customer["contact_id"], **fields)  # invoices.yml has them
    assert (invoice["discount_amount"], invoice["total"]) == (Decimal("10.00"), Decimal("90.00"))


async def test_an_invoice_line_without_item_id_is_refused_and_nothing_is_written(
    zoho: Zoho,
) -> None:
    """invoices.yml requires ``line_items[].item_id`` on create and update; credit-note
    lines do not require it."""
    customer = await zoho.contact()
    uncoded = {"customer_id": customer["contact_id"], "line_items": [line("10.00")]}
    refusal = {"code": 4, "message": "Invalid value passed for item_id: item_id is required"}
    assert await zoho.call("POST", "/invoices", uncoded) == (400, refusal)
    assert zoho.sandbox.count("invoice") == 0
    invoice = await zoho.invoice(customer["contact_id"])
    path = f"/invoices/{invoice['invoice_id']}"
    assert await zoho.call("PUT", path, {"line_items": [line("80.00")]}) == (400, refusal)
    assert (await zoho.read("invoices", invoice["invoice_id"]))["total"] == Decimal("100.00")
    await zoho.ok("POST", "/creditnotes", uncoded | {"date": "2026-03-10"})


async def test_a_credit_note_needs_its_date(zoho: Zoho) -> None:
    customer = await zoho.contact()
    body = {"customer_id": customer["contact_id"], "line_items": [line("10.00")]}
    status, answer = await zoho.call("POST", "/creditnotes", body)
    assert (status, answer) == (
        400,
        {"code": 4, "message": "Invalid value passed for date: date is required"},
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/contacts", {"contact_name": "Acme", "nickname": "A"}),
        ("POST", "/items", {"name": "Audit", "rate": Decimal("1"), "colour": "red"}),
        ("POST", "/customerpayments", {"customer_id": "1", "surcharge": Decimal("1")}),
    ],
)
async def test_a_field_the_schema_does_not_list_is_refused(
    zoho: Zoho, method: str, path: str, body: dict[str, Any]
) -> None:
    status, answer = await zoho.call(method, path, body)
    unknown = next(k for k in body if k not in ("contact_name", "name", "rate", "customer_id"))
    assert (status, answer["code"]) == (400, 4)
    assert answer["message"] == (
        f"Invalid value passed for {unknown}: the API schema has no such field here"
    )
    assert zoho.sandbox.count("customer") == zoho.sandbox.count("item") == 0


@pytest.mark.parametrize(
    ("path", "refused", "taken"),
    [
        ("/invoices", "last_modified_time", "created_time"),
        ("/creditnotes", "last_modified_time", "created_time"),
        ("/customerpayments", "last_modified_time", "created_time"),
        ("/contacts", "notes", "last_modified_time"),
    ],
)
async def test_lists_sort_only_by_the_columns_their_schema_documents(
    zoho: Zoho, path: str, refused: str, taken: str
) -> None:
    status, answer = await zoho.call("GET", path, sort_column=refused, sort_order="D")
    assert (status, answer) == (
        400,
        {"code": 4, "message": "Invalid value passed for sort_column"},
    )
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


async def test_malformed_json_and_unknown_resources_are_refused(zoho: Zoho) -> None:
    response = await zoho.http.post(
        f"{API}/contacts",
        params={"organization_id": ORG},
        content=b"{not json",
        headers={"Authorization": f"Zoho-oauthtoken {zoho.access}"},
    )
    assert (response.status_code, decode_json(response.content)["code"]) == (400, 1038)
    assert (await zoho.call("GET", "/estimates"))[0] == 404
