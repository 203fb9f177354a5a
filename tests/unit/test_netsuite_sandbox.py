"""The NetSuite sandbox speaks SuiteTalk REST: raw HTTP against the app in-process, signed
with token-based authentication like a real client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.netsuite.auth import TbaAuth
from syncledger.adapters.netsuite.sandbox.refusals import EXAMPLES
from syncledger.adapters.netsuite.sandbox.server import create_app, sandbox_of
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from tests.contracts.raw_sections import RequestWindowSection, Window
from tests.contracts.refusal_examples_section import RefusalExamplesSection, Request
from tests.support.netsuite import credentials

API = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


class Ns:
    """A bare, signing HTTP client of the sandbox that speaks JSON with Decimals."""

    def __init__(self, app: Starlette, auth: TbaAuth | None = None) -> None:
        self.app = app
        self.sandbox = sandbox_of(app)
        self.auth = auth or TbaAuth(credentials())
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ns.test"
        )

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        **params: str | int,
    ) -> httpx.Response:
        request = self.http.build_request(
            method,
            path,
            params=params,
            content=None if body is None else encode_json(body),
            headers=headers or {},
        )
        if signed:
            request.headers["Authorization"] = self.auth.header(method, request.url)
        return await self.http.send(request)

    async def create(self, record: str, body: dict[str, Any]) -> str:
        answer = await self.call("POST", f"{API}/{record}", body)
        assert answer.status_code == 204, answer.text
        return answer.headers["Location"].rsplit("/", 1)[-1]

    async def get(self, record: str, ident: str) -> dict[str, Any]:
        answer = await self.call("GET", f"{API}/{record}/{ident}", expandSubResources="true")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = decode_json(answer.content)
        return found

    async def customer(self, name: str = "Acme", **fields: Any) -> str:
        return await self.create(
            "customer", {"companyName": name, "subsidiary": {"id": "1"}, **fields}
        )

    async def invoice(self, customer_id: str, *lines: dict[str, Any], **fields: Any) -> str:
        body = {"entity": {"id": customer_id}, "item": {"items": list(lines) or [line("100.00")]}}
        return await self.create("invoice", body | fields)

    async def aclose(self) -> None:
        await self.http.aclose()


def line(rate: str, quantity: str = "1", **extra: Any) -> dict[str, Any]:
    return {"item": {"id": "1"}, "quantity": Decimal(quantity), "rate": Decimal(rate)} | extra


def taxed(*details: tuple[str, str, str]) -> dict[str, Any]:
    """A SuiteTax override: (taxDetailsReference, basis, tax amount) per tax line, with the
    seeded tax type 1 and its code 10."""
    lines = [
        {
            "taxDetailsReference": ref,
            "taxType": {"id": "1"},
            "taxCode": {"id": "10"},
            "taxBasis": Decimal(basis),
            "taxRate": Decimal(8),
            "taxAmount": Decimal(amount),
        }
        for ref, basis, amount in details
    ]
    return {"taxDetailsOverride": True, "taxDetails": {"items": lines}}


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = decode_json(answer.content)
    detail: dict[str, Any] = body["o:errorDetails"][0]
    return detail


def code_of(answer: httpx.Response) -> str:
    return str(error_of(answer)["o:errorCode"])


@pytest.fixture
async def ns() -> AsyncIterator[Ns]:
    client = Ns(create_app(concurrency=50, per_minute=1000))
    yield client
    await client.aclose()
    client.sandbox.close()


# ---------------------------------------------------------------------- TBA


async def test_a_signed_request_is_served_and_an_unsigned_one_is_an_invalid_login(ns: Ns) -> None:
    assert (await ns.call("GET", f"{API}/customer")).status_code == 200
    refused = await ns.call("GET", f"{API}/customer", signed=False)
    assert refused.status_code == 401
    body = decode_json(refused.content)
    assert (body["title"], body["status"]) == ("Unauthorized", 401)
    assert code_of(refused) == "INVALID_LOGIN"
    assert ns.sandbox.tba.audit == ["MissingAuthorization"]


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (TbaAuth(credentials(token_secret="wrong")), "InvalidSignature"),
        (TbaAuth(credentials(consumer_key="someone-else")), "consumer_key_unknown"),
        (TbaAuth(credentials(account_id="7654321")), "InvalidAccount"),
        (TbaAuth(credentials(token_id="unknown")), "InvalidToken"),
        (TbaAuth(credentials(), nonce=lambda: "abc"), "nonce_rejected"),
        (
            TbaAuth(credentials(), clock=lambda: datetime.now(UTC).timestamp() - 600),
            "InvalidTimestamp",
        ),
    ],
)
async def test_login_failures_are_audited_with_netsuite_s_reason(
    ns: Ns, auth: TbaAuth, reason: str
) -> None:
    answer = await Ns(ns.app, auth).call("GET", f"{API}/customer")
    assert (answer.status_code, code_of(answer)) == (401, "INVALID_LOGIN")
    assert ns.sandbox.tba.audit == [reason]


async def test_a_replayed_signature_is_refused_as_a_used_nonce(ns: Ns) -> None:
    request = ns.http.build_request("GET", f"{API}/customer")
    request.headers["Authorization"] = ns.auth.header("GET", request.url)
    assert (await ns.http.send(request)).status_code == 200
    assert (await ns.http.send(request)).status_code == 401
    assert ns.sandbox.tba.audit == ["NonceUsed"]


async def test_the_signature_covers_the_query(ns: Ns) -> None:
    request = ns.http.build_request("GET", f"{API}/customer", params={"limit": 5})
    request.headers["Authorization"] = ns.auth.header("GET", request.url)
    tampered = ns.http.build_request("GET", f"{API}/customer", params={"limit": 6})
    tampered.headers["Authorization"] = request.headers["Authorization"]
    assert (await ns.http.send(tampered)).status_code == 401
    assert ns.sandbox.tba.audit == ["InvalidSignature"]


async def test_a_revoked_token_stops_working(ns: Ns) -> None:
    ns.sandbox.tba.revoke("sandbox-token-id")
    assert (await ns.call("GET", f"{API}/customer")).status_code == 401
    assert ns.sandbox.tba.audit == ["InvalidToken"]


# ------------------------------------------------------- records, upserts


async def test_create_answers_204_with_the_location_and_reads_expand_sublists_on_request(
    ns: Ns,
) -> None:
    invoice_id = await ns.invoice(await ns.customer())
    collapsed = decode_json((await ns.call("GET", f"{API}/invoice/{invoice_id}")).content)
    assert set(collapsed["item"]) == {"links"}
    expanded = await ns.get("invoice", invoice_id)
    assert [ln["amount"] for ln in expanded["item"]["items"]] == [Decimal("100.00")]
    assert expanded["links"][0]["rel"] == "self"
    assert expanded["lastModifiedDate"].endswith("Z")


async def test_an_upsert_creates_then_updates_the_record_with_that_external_id(ns: Ns) -> None:
    body = {"companyName": "Acme", "subsidiary": {"id": "1"}}
    first = await ns.call("PUT", f"{API}/customer/eid:C-1", body)
    again = await ns.call("PUT", f"{API}/customer/eid:C-1", body | {"email": "a@acme.example"})
    assert first.status_code == again.status_code == 204
    assert first.headers["Location"] == again.headers["Location"]
    assert ns.sandbox.count("customer") == 1
    stored = await ns.get("customer", "eid:C-1")
    assert (stored["externalId"], stored["email"]) == ("C-1", "a@acme.example")


async def test_resent_lines_are_appended_unless_the_sublist_is_replaced(ns: Ns) -> None:
    customer_id = await ns.customer()
    body = {"entity": {"id": customer_id}, "item": {"items": [line("10.00"), line("5.00")]}}
    for _ in range(2):
        await ns.call("PUT", f"{API}/invoice/eid:I-1", body)
    assert (await ns.get("invoice", "eid:I-1"))["total"] == Decimal("30.00")
    await ns.call("PUT", f"{API}/invoice/eid:I-1", body, replace="item")
    assert (await ns.get("invoice", "eid:I-1"))["total"] == Decimal("15.00")


# --------------------------------------------------------------- the rules


async def test_invoice_totals_are_derived_from_lines_discount_and_tax(ns: Ns) -> None:
    customer_id = await ns.customer()
    invoice_id = await ns.invoice(
        customer_id,
        line("75.50", "2", taxDetailsReference="a"),
        line("9.99", "3", taxDetailsReference="b"),
        line("40.00"),
        discountItem={"id": "2"},
        discountRate=Decimal("-10.00"),
        **taxed(("a", "151.00", "12.08"), ("b", "29.97", "2.40")),
    )
    invoice = await ns.get("invoice", invoice_id)
    assert invoice["subtotal"] == Decimal("220.97")
    assert invoice["discountTotal"] == Decimal("-10.00")
    assert invoice["taxTotal"] == Decimal("14.48")
    assert invoice["total"] == invoice["amountRemaining"] == Decimal("225.45")
    assert invoice["status"]["refName"] == "Open"
    assert [ln["line"] for ln in invoice["item"]["items"]] == [1, 2, 3]
    percent = await ns.invoice(customer_id, discountItem={"id": "2"}, discountRate="-10%")
    assert (await ns.get("invoice", percent))["total"] == Decimal("90.00")
    for rounded in ("1.00", "1.01"):  # 3 x 0.335 = 1.005, rounded half even or half up
        half = await ns.invoice(customer_id, line("0.335", "3") | {"amount": Decimal(rounded)})
        assert (await ns.get("invoice", half))["total"] == Decimal(rounded)


async def test_a_foreign_currency_invoice_keeps_its_rate(ns: Ns) -> None:
    euro_customer = await ns.customer(currency={"id": "4"})
    rated = await ns.invoice(euro_customer, exchangeRate=Decimal("1.085"))
    assert (await ns.get("invoice", rated))["exchangeRate"] == Decimal("1.085")


async def test_payments_apply_within_the_amount_remaining_and_move_the_invoice(ns: Ns) -> None:
    customer_id = await ns.customer()
    invoice_id = await ns.invoice(customer_id)
    before = await ns.get("invoice", invoice_id)
    ns.sandbox.book.clock = lambda: datetime(2099, 1, 1, tzinfo=UTC)
    payment = {
        "customer": {"id": customer_id},
        "payment": Decimal("30.00"),
        "apply": {
            "items": [{"doc": {"id": invoice_id}, "apply": True, "amount": Decimal("30.00")}]
        },
    }
    for _ in range(2):  # the same upsert twice: applied once
        await ns.call("PUT", f"{API}/customerPayment/eid:P-1", payment, replace="apply")
    invoice = await ns.get("invoice", invoice_id)
    assert (invoice["amountRemaining"], invoice["amountPaid"]) == (Decimal("70.00"), Decimal(30))
    assert invoice["lastModifiedDate"] != before["lastModifiedDate"]
    stored = await ns.get("customerPayment", "eid:P-1")
    assert (stored["applied"], stored["unapplied"]) == (Decimal("30.00"), Decimal("0.00"))
    assert ns.sandbox.count("payment") == 1


async def test_a_credit_memo_applied_pays_down_the_invoice(ns: Ns) -> None:
    customer_id = await ns.customer()
    invoice_id = await ns.invoice(customer_id)
    credit = {
        "entity": {"id": customer_id},
        "item": {"items": [line("40.00")]},
        "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": Decimal(40)}]},
    }
    await ns.create("creditMemo", credit)
    assert (await ns.get("invoice", invoice_id))["amountRemaining"] == Decimal("60.00")
    balance = (await ns.get("customer", customer_id))["balance"]
    assert balance == Decimal("60.00")


def applying(invoice_id: str, amount: str) -> dict[str, Any]:
    return {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": Decimal(amount)}]}


async def test_a_payment_keeps_what_it_does_not_apply_as_customer_credit(ns: Ns) -> None:
    customer_id = await ns.customer()
    invoice_id = await ns.invoice(customer_id)
    over = {"customer": {"id": customer_id}, "payment": Decimal("130.00")}
    paid = await ns.create("customerPayment", over | {"apply": applying(invoice_id, "100.00")})
    stored = await ns.get("customerPayment", paid)
    assert (stored["payment"], stored["applied"], stored["unapplied"]) == (
        Decimal("130.00"),
        Decimal("100.00"),
        Decimal("30.00"),
    )
    loose = await ns.get("customerPayment", await ns.create("customerPayment", over))
    assert (loose["applied"], loose["unapplied"], loose["apply"]["items"]) == (0, 130, [])
    invoice = await ns.get("invoice", invoice_id)
    assert (invoice["amountRemaining"], invoice["status"]["id"]) == (Decimal(0), "B")
    assert (await ns.get("customer", customer_id))["balance"] == Decimal("-160.00")


async def open_credits(ns: Ns) -> tuple[str, str, str]:
    """A customer with a 40.00 credit memo applied to nothing and a 100.00 payment of
    which 60.00 pays a 60.00 invoice: 40.00 of credit on each."""
    customer_id = await ns.customer()
    memo = {"entity": {"id": customer_id}, "item": {"items": [line("40.00")]}}
    credit_id = await ns.create("creditMemo", memo)
    invoice_id = await ns.invoice(customer_id, line("60.00"))
    payment = {"customer": {"id": customer_id}, "payment": Decimal("100.00")}
    paid = await ns.create("customerPayment", payment | {"apply": applying(invoice_id, "60.00")})
    return customer_id, credit_id, paid


def refund(customer_id: str, *draws: tuple[str, str]) -> dict[str, Any]:
    lines = [{"doc": {"id": doc}, "apply": True, "amount": Decimal(amt)} for doc, amt in draws]
    return {
        "customer": {"id": customer_id},
        "tranDate": "2026-03-20",
        "account": {"id": "1"},
        "paymentMethod": {"id": "1"},
        "apply": {"items": lines},
    }


async def test_a_customer_refund_draws_on_credit_memos_and_payments_within_their_credit(
    ns: Ns,
) -> None:
    customer_id, credit_id, paid = await open_credits(ns)
    assert (await ns.get("customer", customer_id))["balance"] == Decimal("-80.00")
    body = refund(customer_id, (credit_id, "15.00"), (paid, "40.00"))
    for _ in range(2):  # the same upsert twice: one refund, drawn once
        answer = await ns.call("PUT", f"{API}/customerRefund/eid:R-1", body, replace="apply")
        assert answer.status_code == 204, answer.text
    stored = await ns.get("customerRefund", "eid:R-1")
    assert (stored["total"], ref_id_of(stored, "customer")) == (Decimal("55.00"), customer_id)
    credit = await ns.get("creditMemo", credit_id)
    assert (credit["applied"], credit["unapplied"]) == (Decimal("15.00"), Decimal("25.00"))
    payment = await ns.get("customerPayment", paid)
    assert (payment["applied"], payment["unapplied"]) == (Decimal("100.00"), Decimal(0))
    assert (await ns.get("customer", customer_id))["balance"] == Decimal("-25.00")
    assert ns.sandbox.count("refund") == 1
    rows = await suiteql(ns, "SELECT id, type FROM transaction WHERE type = 'CustRfnd'")
    assert [(r["id"], r["type"]) for r in rows["items"]] == [(stored["id"], "CustRfnd")]


def ref_id_of(body: dict[str, Any], field: str) -> str:
    return str(body[field]["id"])


# ----------------------------------------------------- collections, filter


async def test_collections_page_by_limit_and_offset(ns: Ns) -> None:
    ids = [await ns.customer(f"Customer {n}") for n in range(5)]
    first = decode_json((await ns.call("GET", f"{API}/customer", limit=2)).content)
    assert (first["count"], first["hasMore"], first["totalResults"]) == (2, True, 5)
    assert [link["rel"] for link in first["links"]] == ["next", "self"]
    seen: list[str] = []
    offset = 0
    while True:
        page = decode_json(
            (await ns.call("GET", f"{API}/customer", limit=2, offset=offset)).content
        )
        seen += [item["id"] for item in page["items"]]
        if not page["hasMore"]:
            break
        offset += page["count"]
    assert seen == ids


async def test_the_q_filter_matches_text_ignoring_case_with_and_or(ns: Ns) -> None:
    acme = await ns.customer("Acme Plumbing 1", email="billing@acme.example")
    ten = await ns.customer("Acme Plumbing 10")
    await ns.customer("Bolt")

    async def ids(q: str) -> list[str]:
        page = decode_json((await ns.call("GET", f"{API}/customer", q=q)).content)
        return [item["id"] for item in page["items"]]

    assert await ids('companyName IS "acme plumbing 1"') == [acme]
    assert await ids('companyName START_WITH "Acme"') == [acme, ten]
    assert await ids('email IS "BILLING@acme.example" OR companyName IS "Acme Plumbing 10"') == [
        acme,
        ten,
    ]
    assert await ids('companyName CONTAIN "Plumbing" AND email EMPTY') == [ten]


async def test_the_q_date_filter_works_to_the_minute_in_the_account_zone() -> None:
    ns = Ns(create_app(concurrency=50, per_minute=1000, timezone="America/New_York"))
    ns.sandbox.book.clock = lambda: datetime(2026, 3, 1, 15, 4, 59, tzinfo=UTC)  # 10:04:59 EST
    early = await ns.customer("Early")
    ns.sandbox.book.clock = lambda: datetime(2026, 3, 1, 15, 6, 0, tzinfo=UTC)
    late = await ns.customer("Late")

    async def ids(q: str) -> list[str]:
        page = decode_json((await ns.call("GET", f"{API}/customer", q=q)).content)
        return [item["id"] for item in page["items"]]

    assert await ids('lastModifiedDate ON_OR_AFTER "3/1/2026 10:04 am"') == [early, late]
    assert await ids('lastModifiedDate AFTER "3/1/2026 10:04 am"') == [late]
    assert await ids('lastModifiedDate ON "3/1/2026"') == [early, late]
    await ns.aclose()


# ------------------------------------------------------------------ SuiteQL


async def suiteql(ns: Ns, q: str, **params: str | int) -> dict[str, Any]:
    answer = await ns.call("POST", SUITEQL, {"q": q}, headers={"Prefer": "transient"}, **params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = decode_json(answer.content)
    return page


async def test_suiteql_finds_changes_to_the_second_in_the_account_zone() -> None:
    ns = Ns(create_app(concurrency=50, per_minute=1000, timezone="America/Los_Angeles"))
    ns.sandbox.book.clock = lambda: datetime(2026, 3, 1, 18, 0, 4, 900000, tzinfo=UTC)
    old = await ns.customer("Old")
    invoice = await ns.invoice(old)
    ns.sandbox.book.clock = lambda: datetime(2026, 3, 1, 18, 0, 5, tzinfo=UTC)
    new = await ns.customer("New")
    since = "TO_TIMESTAMP('2026-03-01 10:00:05', 'YYYY-MM-DD HH24:MI:SS')"  # 18:00:05 UTC
    customers = await suiteql(ns, f"SELECT id FROM customer WHERE lastmodifieddate >= {since}")
    assert [row["id"] for row in customers["items"]] == [new]
    earlier = since.replace("10:00:05", "10:00:04")
    rows = await suiteql(
        ns,
        "SELECT id, type FROM transaction WHERE type IN ('CustInvc', 'CustPymt') "
        f"AND lastmodifieddate >= {earlier} ORDER BY id DESC",
    )
    assert [(r["id"], r["type"]) for r in rows["items"]] == [(invoice, "CustInvc")]
    await ns.aclose()


async def test_suiteql_pages(ns: Ns) -> None:
    ids = [await ns.customer(f"C{n}") for n in range(3)]
    page = await suiteql(ns, "SELECT id, companyname FROM customer ORDER BY id", limit=2)
    assert [r["id"] for r in page["items"]] == ids[:2] and page["hasMore"]
    assert page["items"][0] == {"id": ids[0], "companyname": "C0", "links": []}
    rest = await suiteql(ns, "SELECT id FROM customer ORDER BY id", limit=2, offset=2)
    assert [r["id"] for r in rest["items"]] == ids[2:] and not rest["hasMore"]


async def test_suiteql_compares_text_through_upper_and_replace(ns: Ns) -> None:
    spaced = await ns.customer("Spaced", email="de 136.695-976@x.example")
    await ns.customer("Other", email="DE999999999@x.example")
    await ns.customer("None")
    key = "UPPER(REPLACE(REPLACE(REPLACE(email, ' ', ''), '.', ''), '-', ''))"
    rows = await suiteql(ns, f"SELECT id, email FROM customer WHERE {key} = 'DE136695976@XEXAMPLE'")
    assert [(r["id"], r["email"]) for r in rows["items"]] == [(spaced, "de 136.695-976@x.example")]
    lower = await suiteql(ns, "SELECT id FROM customer WHERE LOWER(companyname) = 'spaced'")
    assert [r["id"] for r in lower["items"]] == [spaced]


# -------------------------------------------------------------------- items


def service_item(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "itemId": name,
        "incomeAccount": {"id": "54"},
        "taxSchedule": {"id": "1"},
        "subsidiary": {"items": [{"id": "1"}]},
    } | fields


async def test_the_account_holds_the_items_the_default_mapping_names(ns: Ns) -> None:
    services = await ns.get("serviceSaleItem", "1")
    assert (services["itemId"], services["incomeAccount"]) == ("Services", {"id": "54"})
    assert (await ns.get("discountItem", "2"))["itemId"] == "Discount"
    assert ns.sandbox.count("item") == 2


async def test_a_service_item_may_take_a_discount_items_name(ns: Ns) -> None:
    item_id = await ns.create("serviceSaleItem", service_item("SVC-1"))
    assert (await ns.get("serviceSaleItem", item_id))["itemId"] == "SVC-1"
    await ns.create("serviceSaleItem", service_item("Discount"))  # an item of another type
    assert ns.sandbox.count("item") == 4  # 2 seeded, SVC-1, the service item "Discount"


async def test_item_writes_meet_the_injected_faults(ns: Ns) -> None:
    ns.sandbox.fail_next_writes(1)
    failed = await ns.call("POST", f"{API}/serviceSaleItem", service_item("SVC-1"))
    assert (failed.status_code, code_of(failed)) == (500, "UNEXPECTED_ERROR")
    assert ns.sandbox.count("item") == 2
    upsert = await ns.call("PUT", f"{API}/serviceSaleItem/eid:SVC1", service_item("SVC-1"))
    again = await ns.call("PUT", f"{API}/serviceSaleItem/eid:SVC1", service_item("SVC-1"))
    assert upsert.status_code == again.status_code == 204
    assert upsert.headers["Location"] == again.headers["Location"]
    assert ns.sandbox.count("item") == 3  # an upsert resent updates the item it made


async def test_saved_lines_name_their_item_as_reads_do(ns: Ns) -> None:
    item_id = await ns.create("serviceSaleItem", service_item("SVC-1"))
    invoice_id = await ns.invoice(await ns.customer(), line("1") | {"item": {"id": item_id}})
    [saved] = (await ns.get("invoice", invoice_id))["item"]["items"]
    assert saved["item"] == {"id": item_id, "refName": "SVC-1"}


async def test_suiteql_reads_the_item_table(ns: Ns) -> None:
    item_id = await ns.create("serviceSaleItem", service_item("O'Brien"))
    named = await suiteql(ns, "SELECT id, itemid FROM item WHERE itemid = 'O''Brien'")
    assert [(r["id"], r["itemid"]) for r in named["items"]] == [(item_id, "O'Brien")]
    every = f"SELECT id, itemid, itemtype, incomeaccount FROM item WHERE id IN (1, 2, {item_id})"
    listed = await suiteql(ns, every + " ORDER BY id")
    assert [(r["itemid"], r["itemtype"], r["incomeaccount"]) for r in listed["items"]] == [
        ("Services", "Service", "54"),
        ("Discount", "Discount", None),
        ("O'Brien", "Service", "54"),
    ]


# ------------------------------------------------- async and idempotency key


async def test_an_async_write_with_a_used_idempotency_key_is_a_conflict(ns: Ns) -> None:
    key = str(uuid.uuid4())
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
    body = {"companyName": "Acme", "subsidiary": {"id": "1"}}
    accepted = await ns.call("POST", f"{API}/customer", body, headers=headers)
    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    job_url = accepted.headers["Location"]
    job = decode_json((await ns.call("GET", httpx.URL(job_url).path)).content)
    assert (job["completed"], job["progress"]) == (True, "succeeded")
    task = decode_json(
        (await ns.call("GET", httpx.URL(job_url).path + "/task/" + job["id"])).content
    )
    result_url = httpx.URL(task["links"][0]["href"]).path
    result = decode_json((await ns.call("GET", result_url)).content)
    assert "/customer/" in result["links"][0]["href"]
    again = await ns.call("POST", f"{API}/customer", body, headers=headers)
    assert again.headers["Location"] == job_url  # the refusal: the refusal examples
    assert ns.sandbox.count("customer") == 1


async def test_a_synchronous_write_ignores_the_idempotency_key(ns: Ns) -> None:
    headers = {"X-NetSuite-Idempotency-Key": str(uuid.uuid4())}
    for n in range(2):
        body = {"companyName": f"Acme {n}", "subsidiary": {"id": "1"}}
        assert (await ns.call("POST", f"{API}/customer", body, headers=headers)).status_code == 204
    assert ns.sandbox.count("customer") == 2


async def test_a_failed_async_write_fails_its_job(ns: Ns) -> None:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": str(uuid.uuid4())}
    accepted = await ns.call("POST", f"{API}/customer", {"companyName": "A"}, headers=headers)
    job = decode_json((await ns.call("GET", httpx.URL(accepted.headers["Location"]).path)).content)
    assert job["progress"] == "failed"


# --------------------------------------------------------------- governance


async def test_requests_beyond_the_account_concurrency_get_429_without_retry_after() -> None:
    ns = Ns(create_app(concurrency=2, per_minute=1000, latency=0.02))
    answers = await asyncio.gather(*(ns.call("GET", f"{API}/customer") for _ in range(6)))
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and len(throttled) == ns.sandbox.throttled
    assert all(code_of(a) == "CONCURRENCY_LIMIT_EXCEEDED" for a in throttled)
    assert all("Retry-After" not in a.headers for a in throttled)
    assert decode_json(throttled[0].content)["title"] == "Bad Request"
    assert ns.sandbox.in_flight == 0
    await ns.aclose()


class TestNetSuiteRequestWindow(RequestWindowSection):
    """The per-minute window: USER_ERROR, no Retry-After."""

    window_code = "USER_ERROR"

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        ns = Ns(create_app(concurrency=5, per_minute=limit))
        yield Window(lambda: ns.call("GET", f"{API}/customer"), ns.sandbox)
        await ns.aclose()

    def error_code(self, answer: httpx.Response) -> str:
        return code_of(answer)


# ------------------------------------------------------------ faults, admin


async def test_injected_server_errors_do_not_commit(ns: Ns) -> None:
    ns.sandbox.fail_next_writes(1, status=503)
    answer = await ns.call(
        "POST", f"{API}/customer", {"companyName": "A", "subsidiary": {"id": "1"}}
    )
    assert (answer.status_code, code_of(answer)) == (503, "UNEXPECTED_ERROR")
    assert ns.sandbox.count("customer") == 0


async def test_tba_tokens_issued_over_http_survive_a_restart_until_revoked(
    tmp_path: Path,
) -> None:
    """The shared admin routes and persistence: tests/contracts/sandbox_sections.py."""
    book = tmp_path / "netsuite.sqlite3"
    first = Ns(create_app(book))
    token = decode_json((await first.http.post("/_sandbox/tokens")).content)
    await first.aclose()
    first.sandbox.close()
    second = Ns(create_app(book), TbaAuth(credentials(**token)))
    assert (await second.call("GET", f"{API}/customer")).status_code == 200
    await second.http.post(f"/_sandbox/tokens/{token['token_id']}/revoke")
    assert (await second.call("GET", f"{API}/customer")).status_code == 401
    audit = decode_json((await second.http.get("/_sandbox/login-audit")).content)
    assert audit == {"failures": ["InvalidToken"]}
    await second.aclose()
    second.sandbox.close()


# ---------------------------------------------------------------- refusals


class TestNetSuiteRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/netsuite/sandbox/refusals.py refused as its example shows,
    naming the o:errorPath (and title) the example gives."""

    examples = EXAMPLES

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Ns]:
        ns = Ns(create_app(concurrency=50, per_minute=1000))
        try:
            yield ns
        finally:
            await ns.aclose()
            ns.sandbox.close()

    async def send(self, client: Ns, request: Request) -> httpx.Response:
        path = request.path if request.path.startswith("/services/") else API + request.path
        sent = client.http.build_request(
            request.method, path, params=request.params, content=request.content()
        )
        sent.headers["Authorization"] = client.auth.header(request.method, sent.url)
        sent.headers.update(request.headers)
        return await client.http.send(sent)

    def error_code(self, answer: httpx.Response) -> str:
        return code_of(answer)

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        expected = dict(example.expect)
        if "path" in expected:
            assert error_of(answer).get("o:errorPath") == expected["path"]
        if "title" in expected:
            assert decode_json(answer.content)["title"] == expected["title"]

    async def given_customer(self, ns: Ns) -> dict[str, str]:
        """Acme (external ID X-1), the service item SVC-1 and an inactive one."""
        await ns.create("serviceSaleItem", service_item("SVC-1"))
        inactive = await ns.create("serviceSaleItem", service_item("OLD", isInactive=True))
        return {"customer": await ns.customer("Acme", externalId="X-1"), "inactive": inactive}

    async def given_euro_customer(self, ns: Ns) -> dict[str, str]:
        return {"customer": await ns.customer(currency={"id": "4"})}

    async def given_credits(self, ns: Ns) -> dict[str, str]:
        """As open_credits, an open invoice of 100.00 and another customer."""
        customer, memo, payment = await open_credits(ns)
        [paid] = [r["id"] for r in ns.sandbox.records("invoice")]
        return {
            "customer": customer,
            "memo": memo,
            "payment": payment,
            "paid_invoice": paid,
            "invoice": await ns.invoice(customer),
            "other": await ns.customer("Other"),
        }

    async def given_refunded(self, ns: Ns) -> dict[str, str]:
        """As credits, the payment's 40.00 left refunded."""
        given = await self.given_credits(ns)
        await ns.create("customerRefund", refund(given["customer"], (given["payment"], "40.00")))
        return given

    async def given_credited(self, ns: Ns) -> dict[str, str]:
        """An invoice of 100.00 with a credit memo of 40.00 applied."""
        customer = await ns.customer()
        invoice = await ns.invoice(customer)
        memo = {"entity": {"id": customer}, "item": {"items": [line("40.00")]}}
        await ns.create("creditMemo", memo | {"apply": applying(invoice, "40")})
        return {"invoice": invoice}

    async def given_async_job(self, ns: Ns) -> dict[str, str]:
        key = str(uuid.uuid4())
        headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
        body = {"companyName": "Acme", "subsidiary": {"id": "1"}}
        assert (await ns.call("POST", f"{API}/customer", body, headers=headers)).status_code == 202
        return {"key": key}
