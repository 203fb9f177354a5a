"""The FreshBooks sandbox speaks FreshBooks' Accounting API: raw HTTP against the app
in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.freshbooks.sandbox.refusals import EXAMPLES
from syncledger.adapters.freshbooks.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.freshbooks.sandbox.service import FreshBooksSandbox
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from tests.contracts.bare_client import BareClient
from tests.contracts.raw_sections import RequestWindowSection, Wait, Window, signed_in
from tests.contracts.refusal_examples_section import RefusalExamplesSection

ACCOUNT = "sandbox-account"
API = f"/accounting/account/{ACCOUNT}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FreshBooks(BareClient[FreshBooksSandbox]):
    """A bare HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, sandbox_of(app))

    async def token(
        self,
        refresh: str,
        secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uri: str | None = DEFAULT_REDIRECT_URI,
    ) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": secret,
        }
        if redirect_uri is not None:
            form["redirect_uri"] = redirect_uri
        return await self.http.post("/auth/oauth/token", data=form)

    async def login(self) -> None:
        self.access = decode_json((await self.token(DEFAULT_REFRESH_TOKEN)).content)["access_token"]

    async def call(
        self, method: str, path: str, body: Any = None, params: Any = None
    ) -> tuple[int, Any]:
        response = await self.send_json(method, API + path, body, params)
        return response.status_code, decode_json(response.content)

    async def create(self, path: str, single: str, fields: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self.call("POST", path, {single: fields}, {"include[]": "lines"})
        assert status == 200, answer
        created: dict[str, Any] = answer["response"]["result"][single]
        return created

    async def client(self, name: str = "Acme", **fields: Any) -> dict[str, Any]:
        return await self.create("/users/clients", "client", {"organization": name, **fields})

    async def invoice(
        self, client_id: int, *lines: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {
            "customerid": client_id,
            "create_date": "2026-03-01",
            "lines": list(lines) or [line("100.00")],
            **fields,
        }
        return await self.create("/invoices/invoices", "invoice", body)

    async def pay(self, invoice_id: int, amount: str, **fields: Any) -> tuple[int, Any]:
        body = {"invoiceid": invoice_id, "amount": {"amount": amount}, "date": "2026-03-05"}
        return await self.call("POST", "/payments/payments", {"payment": body | fields})


def line(cost: str, qty: str = "1", **fields: Any) -> dict[str, Any]:
    return {"name": "Work", "qty": qty, "unit_cost": {"amount": cost, "code": "USD"}, **fields}


def numbered(client_id: int, number: str) -> dict[str, Any]:
    return {
        "customerid": client_id,
        "create_date": "2026-03-01",
        "invoice_number": number,
        "lines": [line("1.00")],
    }


def error_of(answer: Any) -> dict[str, Any]:
    first: dict[str, Any] = answer["response"]["errors"][0]
    return first


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(clock: Clock) -> Callable[..., FreshBooks]:
    def build(**options: Any) -> FreshBooks:
        return FreshBooks(create_app(clock=clock, **options))

    return build


@pytest.fixture
async def fb(make: Callable[..., FreshBooks]) -> AsyncIterator[FreshBooks]:
    async with signed_in(make()) as env:
        yield env


# ------------------------------------------------------------------- OAuth


async def test_a_grant_without_the_apps_redirect_uri_is_refused_and_spends_nothing(
    make: Callable[..., FreshBooks],
) -> None:
    env = make()
    missing = await env.token(DEFAULT_REFRESH_TOKEN, redirect_uri=None)
    other = await env.token(DEFAULT_REFRESH_TOKEN, redirect_uri="https://elsewhere.test/cb")
    assert (missing.status_code, decode_json(missing.content)["error"]) == (400, "invalid_request")
    assert (other.status_code, decode_json(other.content)["error"]) == (400, "invalid_grant")
    assert (await env.token(DEFAULT_REFRESH_TOKEN)).status_code == 200  # still unspent


# ---------------------------------------------------------------- clients


async def test_answers_are_wrapped_in_response_result(fb: FreshBooks) -> None:
    created = await fb.client("Acme", email="a@acme.example")
    status, answer = await fb.call("GET", f"/users/clients/{created['id']}")
    client = answer["response"]["result"]["client"]
    assert status == 200
    assert client["userid"] == client["id"] == created["id"]
    assert client["organization"] == "Acme"
    assert client["vis_state"] == 0
    assert client["currency_code"] == "USD"


async def test_updated_is_us_eastern_to_the_second(fb: FreshBooks, clock: Clock) -> None:
    clock.now = datetime(2026, 7, 1, 12, 30, 45, 999000, tzinfo=UTC)
    created = await fb.client()
    assert created["updated"] == "2026-07-01 08:30:45"  # EDT is UTC-4


async def test_a_client_with_an_email_is_renamed(fb: FreshBooks) -> None:
    first = await fb.client("Acme", email="billing@acme.example")
    status, _ = await fb.call(
        "PUT", f"/users/clients/{first['id']}", {"client": {"organization": "Acme Ltd"}}
    )
    assert status == 200


# --------------------------------------------------------------- invoices


async def test_an_invoice_totals_lines_taxes_and_a_negative_discount_line(fb: FreshBooks) -> None:
    client = await fb.client()
    invoice = await fb.invoice(
        client["id"],
        line("75.50", "2", taxName1="Tax", taxAmount1="8"),
        line("9.99", "3", taxName1="Tax", taxAmount1="8.008"),
        line("-10.00", name="Discount"),
    )
    # 151.00 + 29.97 - 10.00 + tax 12.08 + 2.40
    assert invoice["amount"] == {"amount": "185.45", "code": "USD"}
    assert invoice["outstanding"]["amount"] == "185.45"
    assert invoice["payment_status"] == "unpaid"
    assert [ln["amount"]["amount"] for ln in invoice["lines"]] == ["151.00", "29.97", "-10.00"]


async def test_lines_come_only_with_include_lines(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"])
    _, plain = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    _, full = await fb.call(
        "GET", f"/invoices/invoices/{invoice['id']}", None, {"include[]": "lines"}
    )
    assert "lines" not in plain["response"]["result"]["invoice"]
    assert len(full["response"]["result"]["invoice"]["lines"]) == 1


async def test_a_deleted_invoice_stays_readable(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"])
    response = await fb.http.delete(
        f"{API}/invoices/invoices/{invoice['id']}", headers={"Authorization": f"Bearer {fb.access}"}
    )
    assert response.status_code == 200
    status, answer = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    assert status == 200
    assert answer["response"]["result"]["invoice"]["vis_state"] == 1


async def test_updating_lines_replaces_them_and_keeps_what_was_paid(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    assert (await fb.pay(invoice["id"], "30.00"))[0] == 200
    status, answer = await fb.call(
        "PUT", f"/invoices/invoices/{invoice['id']}", {"invoice": {"lines": [line("50.00")]}}
    )
    updated = answer["response"]["result"]["invoice"]
    assert status == 200
    assert (updated["amount"]["amount"], updated["outstanding"]["amount"]) == ("50.00", "20.00")


# --------------------------------------------------------------- payments


async def test_a_partial_payment_leaves_the_rest_outstanding(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    status, answer = await fb.pay(invoice["id"], "40.00")
    payment = answer["response"]["result"]["payment"]
    _, read = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    after = read["response"]["result"]["invoice"]
    assert status == 200
    assert payment["amount"] == {"amount": "40.00", "code": "USD"}
    assert payment["type"] == "Check"
    assert payment["logid"] == payment["id"]
    assert (after["outstanding"]["amount"], after["payment_status"]) == ("60.00", "partial")


async def test_an_overpayment_pays_the_invoice_and_keeps_the_excess_as_a_credit(
    fb: FreshBooks,
) -> None:
    client = await fb.client()
    invoice = await fb.invoice(client["id"], line("100.00"), invoice_number="0000042")
    status, answer = await fb.pay(invoice["id"], "100.01")
    payment = answer["response"]["result"]["payment"]
    _, inv = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    _, cn = await fb.call("GET", f"/credit_notes/credit_notes/{payment['overpaymentid']}")
    credit = cn["response"]["result"]["credit_note"]
    assert status == 200
    assert payment["amount"] == {"amount": "100.01", "code": "USD"}
    assert inv["response"]["result"]["invoice"]["outstanding"]["amount"] == "0.00"
    assert (credit["credit_type"], credit["clientid"]) == ("overpayment", client["id"])
    assert (credit["amount"]["amount"], credit["outstanding"]["amount"]) == ("0.01", "0.01")
    assert credit["description"] == "Overpayment: invoice #0000042"


async def test_a_payment_on_a_paid_invoice_is_all_credit(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    first = (await fb.pay(invoice["id"], "100.00"))[1]["response"]["result"]["payment"]
    status, answer = await fb.pay(invoice["id"], "30.00")
    second = answer["response"]["result"]["payment"]
    _, inv = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    [credit] = fb.sandbox.records("credit_note")
    assert (status, first["overpaymentid"], second["overpaymentid"]) == (200, None, credit["id"])
    assert inv["response"]["result"]["invoice"]["paid"]["amount"] == "100.00"
    assert credit["outstanding"]["amount"] == "30.00"


async def open_credit(fb: FreshBooks, client_id: int, amount: str) -> dict[str, Any]:
    body = {"clientid": client_id, "create_date": "2026-03-02", "lines": [line(amount)]}
    return await fb.create("/credit_notes/credit_notes", "credit_note", body)


async def test_a_payment_of_a_type_the_official_sdk_lists_is_taken(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    accepted, _ = await fb.pay(invoice["id"], "1.00", type="Other")
    assert accepted == 200
    assert fb.sandbox.count("payment") == 1


async def test_there_is_no_refund_in_the_book(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    await fb.pay(invoice["id"], "120.00")
    counts = decode_json((await fb.http.get("/_sandbox/counts")).content)
    assert (counts["refund"], counts["payment"]) == (0, 1)
    assert fb.sandbox.records("refund") == []


async def test_deleting_an_overpayment_deletes_its_credit_unless_it_was_used(
    fb: FreshBooks,
) -> None:
    client = await fb.client()
    invoice = await fb.invoice(client["id"], line("100.00"))
    kept = (await fb.pay(invoice["id"], "120.00"))[1]["response"]["result"]["payment"]
    await fb.pay(invoice["id"], "5.00")  # all credit: the invoice is paid
    await fb.call("PUT", f"/payments/payments/{kept['id']}", {"payment": {"vis_state": 1}})
    other = await fb.invoice(client["id"], line("1.00"))
    status, _ = await fb.pay(other["id"], "1.00", type="Credit")  # draws on used's credit
    assert status == 200
    delete = {"payment": {"vis_state": 1}}
    status, _ = await fb.call("PUT", f"/payments/payments/{kept['id']}", delete)
    _, inv = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    _, cn = await fb.call("GET", f"/credit_notes/credit_notes/{kept['overpaymentid']}")
    assert inv["response"]["result"]["invoice"]["outstanding"]["amount"] == "100.00"
    assert cn["response"]["result"]["credit_note"]["vis_state"] == 1


async def test_a_payment_of_type_credit_draws_on_the_clients_credit(fb: FreshBooks) -> None:
    client = await fb.client()
    invoice = await fb.invoice(client["id"], line("100.00"))
    credit = await open_credit(fb, client["id"], "40.00")
    status, answer = await fb.pay(invoice["id"], "40.00", type="Credit")
    payment = answer["response"]["result"]["payment"]
    _, inv = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    _, cn = await fb.call("GET", f"/credit_notes/credit_notes/{credit['id']}")
    assert status == 200
    assert (payment["from_credit"], payment["creditid"]) == (True, credit["id"])
    assert inv["response"]["result"]["invoice"]["outstanding"]["amount"] == "60.00"
    assert cn["response"]["result"]["credit_note"]["outstanding"]["amount"] == "0.00"


async def test_a_credit_payment_draws_on_one_credit_of_the_invoices_currency(
    fb: FreshBooks,
) -> None:
    client = await fb.client()
    invoice = await fb.invoice(client["id"], line("100.00"))
    euros = await fb.create(
        "/credit_notes/credit_notes",
        "credit_note",
        {
            "clientid": client["id"],
            "create_date": "2026-03-02",
            "currency_code": "EUR",
            "lines": [{"name": "Credit", "qty": "1", "unit_cost": {"amount": "90.00"}}],
        },
    )
    small = await open_credit(fb, client["id"], "10.00")
    large = await open_credit(fb, client["id"], "30.00")
    status, answer = await fb.pay(invoice["id"], "25.00", type="Credit")
    split, refused = await fb.pay(invoice["id"], "12.00", type="Credit")  # 10 and 5 left
    assert (status, answer["response"]["result"]["payment"]["creditid"]) == (200, large["id"])
    assert (split, error_of(refused)["errno"]) == (422, 2004)
    left = {c["id"]: c["outstanding"]["amount"] for c in fb.sandbox.records("credit_note")}
    assert left == {euros["id"]: "90.00", small["id"]: "10.00", large["id"]: "5.00"}


async def test_deleting_a_payment_gives_the_amount_back(fb: FreshBooks) -> None:
    invoice = await fb.invoice((await fb.client())["id"], line("100.00"))
    payment = (await fb.pay(invoice["id"], "25.00"))[1]["response"]["result"]["payment"]
    await fb.call("PUT", f"/payments/payments/{payment['id']}", {"payment": {"vis_state": 1}})
    _, read = await fb.call("GET", f"/invoices/invoices/{invoice['id']}")
    assert read["response"]["result"]["invoice"]["outstanding"]["amount"] == "100.00"


# ------------------------------------------------------- paging and delta


# ------------------------------------------------------------------ items


async def item(fb: FreshBooks, name: str, **fields: Any) -> tuple[int, Any]:
    return await fb.call("POST", "/items/items", {"item": {"name": name, **fields}})


async def test_an_item_is_a_name_and_a_price_with_no_account(fb: FreshBooks) -> None:
    status, answer = await item(fb, "Consulting", unit_cost={"amount": "150", "code": "USD"})
    made = answer["response"]["result"]["item"]
    assert status == 200
    assert made["id"] == made["itemid"]
    assert made["unit_cost"] == {"amount": "150.00", "code": "USD"}
    assert made["vis_state"] == 0
    _, listed = await fb.call("GET", "/items/items", params={"search[itemid]": made["id"]})
    assert [i["name"] for i in listed["response"]["result"]["items"]] == ["Consulting"]
    assert fb.sandbox.count("item") == 1
    assert decode_json((await fb.http.get("/_sandbox/counts")).content)["item"] == 1


async def test_an_item_name_is_free_again_once_the_item_is_deleted(fb: FreshBooks) -> None:
    _, answer = await item(fb, "Consulting")
    first = answer["response"]["result"]["item"]["id"]
    assert (await item(fb, "consulting"))[0] == 200  # compared exactly
    await fb.call("PUT", f"/items/items/{first}", {"item": {"vis_state": 1}})
    assert (await item(fb, "Consulting"))[0] == 200
    assert fb.sandbox.count("item") == 3


async def test_a_line_may_name_anything_as_in_freshbooks(fb: FreshBooks) -> None:
    client = await fb.client()
    made = await fb.invoice(client["id"], line("10.00", name="No such item", description="x"))
    assert [ln["name"] for ln in made["lines"]] == ["No such item"]
    assert fb.sandbox.count("item") == 0  # and FreshBooks makes no item of it


async def test_pages_follow_the_documented_rules(fb: FreshBooks) -> None:
    for n in range(5):
        await fb.client(f"C{n}")
    _, second = await fb.call("GET", "/users/clients", None, {"page": "2", "per_page": "2"})
    _, zero = await fb.call("GET", "/users/clients", None, {"page": "0", "per_page": "500"})
    _, past = await fb.call("GET", "/users/clients", None, {"page": "9", "per_page": "2"})
    result = second["response"]["result"]
    assert {k: result[k] for k in ("page", "pages", "per_page", "total")} == {
        "page": 2,
        "pages": 3,
        "per_page": 2,
        "total": 5,
    }
    assert [c["organization"] for c in result["clients"]] == ["C2", "C1"]  # newest id first
    assert (zero["response"]["result"]["page"], zero["response"]["result"]["per_page"]) == (1, 100)
    assert past["response"]["result"]["clients"] == []


async def test_updated_min_is_a_us_eastern_date(fb: FreshBooks, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    await fb.client("Old")
    clock.now = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # still March 4th in New York
    await fb.client("Late on the 4th")
    clock.now = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    await fb.client("New")
    _, answer = await fb.call("GET", "/users/clients", None, {"search[updated_min]": "2026-03-05"})
    _, window = await fb.call(
        "GET",
        "/users/clients",
        None,
        {"search[updated_min]": "2026-03-02", "search[updated_max]": "2026-03-05"},
    )
    assert [c["organization"] for c in answer["response"]["result"]["clients"]] == ["New"]
    assert [c["organization"] for c in window["response"]["result"]["clients"]] == [
        "Late on the 4th"
    ]


async def test_searches_are_those_the_resource_lists(fb: FreshBooks) -> None:
    await fb.client("Acme Plumbing", note="syncledger-ref: csv/customer/C-1")
    _, found = await fb.call("GET", "/users/clients", None, {"search[note_like]": "customer/C-1"})
    assert found["response"]["result"]["total"] == 1


# ---------------------------------------------------- throttling and faults


class TestFreshBooksRequestWindow(RequestWindowSection):
    """The per-minute limit: errno 429 and a Retry-After."""

    window_code = "429"
    retry_after = Wait(0.001, 60, whole=False)

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        async with signed_in(FreshBooks(create_app(clock=Clock(), per_minute=limit))) as env:
            auth = {"Authorization": f"Bearer {env.access}"}
            yield Window(lambda: env.http.get(f"{API}/users/clients", headers=auth), env.sandbox)
            counts = await env.http.get("/_sandbox/counts")  # admin routes are not throttled
            assert decode_json(counts.content)["customer"] == 0

    def error_code(self, answer: httpx.Response) -> str:
        return str(error_of(decode_json(answer.content))["errno"])


async def test_a_lost_answer_hides_refusals_too(fb: FreshBooks) -> None:
    client = await fb.client()
    await fb.invoice(client["id"], invoice_number="INV-1")
    fb.sandbox.commit_then_timeout_next(1, stall_seconds=0.0)
    status, _ = await fb.call(
        "POST",
        "/invoices/invoices",
        {"invoice": numbered(client["id"], "INV-1")},
    )
    assert status == 422
    assert fb.sandbox.faults.commit_then_timeout == 0  # the refusal's answer was the one lost


# ---------------------------------------------------------------- refusals


class TestFreshBooksRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/freshbooks/sandbox/refusals.py refused as its example shows,
    naming the object, field and value the example gives."""

    examples = EXAMPLES

    def client(self) -> AbstractAsyncContextManager[FreshBooks]:
        return signed_in(FreshBooks(create_app(clock=Clock())))

    def url(self, path: str) -> str:
        return path if path.startswith(("/accounting/", "/auth/")) else API + path

    def error_code(self, answer: httpx.Response) -> str:
        body = decode_json(answer.content)
        return str(error_of(body)["errno"] if "response" in body else body["error"])

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        if example.expect:
            error = error_of(decode_json(answer.content))
            assert {name: str(error[name]) for name, _ in example.expect} == dict(example.expect)

    async def given_grant(self, fb: FreshBooks) -> dict[str, str]:
        refresh, client_id, secret = DEFAULT_REFRESH_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
        return {"refresh": refresh, "client_id": client_id, "secret": secret}

    async def given_client(self, fb: FreshBooks) -> dict[str, Any]:
        """Acme (billing@acme.example), the item Consulting, INV-7 made and deleted."""
        client = await fb.client("Acme", email="billing@acme.example")
        await item(fb, "Consulting")
        deleted = await fb.invoice(client["id"], invoice_number="INV-7")
        await fb.call("PUT", f"/invoices/invoices/{deleted['id']}", {"invoice": {"vis_state": 1}})
        return {"client": client["id"]}

    async def given_invoice(self, fb: FreshBooks, total: str = "100.00") -> dict[str, Any]:
        client = await fb.client()
        invoice = await fb.invoice(client["id"], line(total))
        return {"client": client["id"], "invoice": invoice["id"]}

    async def given_paid(self, fb: FreshBooks) -> dict[str, Any]:
        given = await self.given_invoice(fb)
        assert (await fb.pay(given["invoice"], "30.00"))[0] == 200
        return given

    async def given_credit(self, fb: FreshBooks) -> dict[str, Any]:
        given = await self.given_invoice(fb)
        return given | {"credit": (await open_credit(fb, given["client"], "40.00"))["id"]}

    async def given_small_invoice(self, fb: FreshBooks) -> dict[str, Any]:
        """An invoice of 10.00, a credit of 40.00."""
        given = await self.given_invoice(fb, "10.00")
        await open_credit(fb, given["client"], "40.00")
        return given

    async def given_payment(self, fb: FreshBooks) -> dict[str, Any]:
        given = await self.given_invoice(fb)
        _, answer = await fb.pay(given["invoice"], "25.00")
        return given | {"payment": answer["response"]["result"]["payment"]["id"]}

    async def given_deleted_payment(self, fb: FreshBooks) -> dict[str, Any]:
        given = await self.given_payment(fb)
        delete = {"payment": {"vis_state": 1}}
        await fb.call("PUT", f"/payments/payments/{given['payment']}", delete)
        return given

    async def given_used_overpayment(self, fb: FreshBooks) -> dict[str, Any]:
        """A payment of 105.00 on an invoice of 100.00 whose 5.00 of credit paid another."""
        given = await self.given_invoice(fb)
        _, answer = await fb.pay(given["invoice"], "105.00")
        other = await fb.invoice(given["client"], line("1.00"))
        assert (await fb.pay(other["id"], "1.00", type="Credit"))[0] == 200
        return given | {"payment": answer["response"]["result"]["payment"]["id"]}
