"""QboLedger against the QBO sandbox in-process: what QBO-specific behaviour adds to the
ledger contract (tests/unit/test_qbo_contract.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from adapters.http import NO_RETRY
from adapters.jsonwire import encode_json
from adapters.ledgers.qbo import BatchItem, QboLedger, qbo_literal, request_id
from adapters.ledgers.qbo_errors import translate_qbo
from adapters.ledgers.qbo_mapping import load_mapping, ref_in
from adapters.oauth2 import FileTokenStore
from adapters.ratelimit import Rate, RateLimiter
from core.errors import (
    AuthExpiredError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from core.model import Customer, Invoice, InvoiceLine, Payment
from tests.contracts.ledger_contract import key
from tests.support.qbo import InProcessQbo, in_process_qbo


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    env = in_process_qbo(per_second=50, per_minute=2000)
    yield env
    await env.ledger.aclose()
    env.sandbox.close()


def customer(n: int = 1, currency: str = "USD", **changes: object) -> Customer:
    fields: dict[str, object] = {"id": f"C-{n}", "name": f"Customer {n}", "currency": currency}
    return Customer.model_validate(fields | changes)


def invoice(total: str = "0.30", currency: str = "USD", **changes: object) -> Invoice:
    fields: dict[str, object] = {
        "id": "INV-1",
        "number": "INV-1",
        "customer_id": "C-1",
        "issue_date": date(2026, 4, 1),
        "currency": currency,
        "lines": (
            InvoiceLine(description="a", quantity="1", unit_price="0.10"),
            InvoiceLine(description="b", quantity="1", unit_price="0.20"),
        ),
        "total": Decimal(total),
    }
    return Invoice.model_validate(fields | changes)


async def push_customer(ledger: QboLedger, n: int = 1, currency: str = "USD") -> str:
    pushed = await ledger.create_customer(
        customer(n, currency), external_ref=f"csv/customer/C-{n}", idempotency_key=key("c", n)
    )
    return pushed.ledger_id


# ----------------------------------------------------------------- requestid


def test_requestid_is_deterministic_and_fits_qbo_limits() -> None:
    digest = key("csv/invoice/INV-1", "v1", "qbo")
    assert request_id(digest) == digest[:50]
    assert request_id("not a digest: csv/invoice/1") == request_id("not a digest: csv/invoice/1")
    assert len(request_id("not a digest")) == 50
    assert request_id("not a digest") != request_id("not a digest!")
    assert len(request_id(digest, 36)) == 36


def test_query_literals_escape_quotes() -> None:
    assert qbo_literal("O'Brien \\ Co") == r"'O\'Brien \\ Co'"


# ------------------------------------------------------------------- money


async def test_amounts_reach_the_book_decimal_exact(qbo: InProcessQbo) -> None:
    customer_id = await push_customer(qbo.ledger)
    pushed = await qbo.ledger.create_invoice(
        invoice(),
        customer_ledger_id=customer_id,
        external_ref="csv/invoice/INV-1",
        idempotency_key=key("i"),
    )
    [stored] = qbo.sandbox.records("invoice")
    assert stored["TotalAmt"] == Decimal("0.30")  # 0.1 + 0.2 in floats would not be
    assert stored["DocNumber"] == "INV-1"
    assert ref_in(stored["PrivateNote"]) == "csv/invoice/INV-1"
    assert stored["Id"] == pushed.ledger_id


async def test_an_invoice_qbo_would_total_differently_is_refused_before_sending(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    lines = (InvoiceLine(description="x", quantity="3", unit_price="0.335"),)  # 1.005 → 1.00
    odd = invoice(total="1.01", lines=lines)
    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.create_invoice(
            odd, customer_ledger_id=customer_id, external_ref="r/i/1", idempotency_key=key("i")
        )
    assert refused.value.code == "syncledger.total_mismatch"
    assert qbo.sandbox.count("invoice") == 0


async def test_a_foreign_currency_invoice_carries_its_rate(qbo: InProcessQbo) -> None:
    customer_id = await push_customer(qbo.ledger, currency="EUR")
    euro = invoice(currency="EUR", exchange_rate=Decimal("1.0850"))
    pushed = await qbo.ledger.create_invoice(
        euro, customer_ledger_id=customer_id, external_ref="r/i/1", idempotency_key=key("i")
    )
    record = await qbo.ledger.get("invoice", pushed.ledger_id)
    assert record is not None
    assert (record.currency, record.total) == ("EUR", Decimal("0.30"))
    assert record.raw["ExchangeRate"] == Decimal("1.0850")
    without_rate = invoice(currency="EUR", id="INV-2", number="INV-2")
    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.create_invoice(
            without_rate,
            customer_ledger_id=customer_id,
            external_ref="r/i/2",
            idempotency_key=key("i", 2),
        )
    assert refused.value.code == "2020"


# ---------------------------------------------------------------- customers


async def test_a_duplicate_name_carrying_our_reference_is_recovered(qbo: InProcessQbo) -> None:
    first = await push_customer(qbo.ledger)
    # requestid lost (the QBO caveat): a different key, same customer and reference
    again = await qbo.ledger.create_customer(
        customer(1), external_ref="csv/customer/C-1", idempotency_key=key("another key")
    )
    assert (again.ledger_id, again.recovered) == (first, True)
    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.create_customer(
            customer(1, id="C-9"), external_ref="csv/customer/C-9", idempotency_key=key("c9")
        )
    assert refused.value.code == "6240"
    assert qbo.sandbox.count("customer") == 1


async def test_find_sees_inactive_customers_and_nothing_else(qbo: InProcessQbo) -> None:
    ledger_id = await push_customer(qbo.ledger)
    await push_customer(qbo.ledger, 2)
    stored = qbo.sandbox.book.get("Customer", ledger_id) or {}
    qbo.sandbox.book.put("Customer", stored | {"Active": False})
    found = await qbo.ledger.find("customer", "csv/customer/C-1")
    assert found is not None
    assert (found.ledger_id, found.status) == (ledger_id, "inactive")
    assert await qbo.ledger.find("customer", "csv/customer/C-3") is None


@pytest.mark.parametrize(("window", "found"), [(timedelta(microseconds=1), False), (None, True)])
async def test_find_looks_only_inside_its_window(window: timedelta | None, found: bool) -> None:
    env = in_process_qbo(ledger_options={"find_window": window})
    await push_customer(env.ledger)
    await asyncio.sleep(0.001)
    assert (await env.ledger.find("customer", "csv/customer/C-1") is not None) is found
    await env.ledger.aclose()


async def test_listing_and_find_page_through_everything() -> None:
    env = in_process_qbo(ledger_options={"page_size": 2})
    ids = [await push_customer(env.ledger, n) for n in range(1, 6)]
    assert [r.ledger_id async for r in env.ledger.list_all("customer")] == ids
    found = await env.ledger.find("customer", "csv/customer/C-1")  # oldest: on the last page
    assert found is not None and found.ledger_id == ids[0]
    await env.ledger.aclose()


# ------------------------------------------------------------ payments, void


async def test_a_full_payment_marks_the_invoice_paid_and_void_fetches_the_token(
    qbo: InProcessQbo,
) -> None:
    customer_id = await push_customer(qbo.ledger)
    pushed = await qbo.ledger.create_invoice(
        invoice(), customer_ledger_id=customer_id, external_ref="r/i/1", idempotency_key=key("i")
    )
    payment = Payment(
        id="P-1",
        customer_id="C-1",
        invoice_id="INV-1",
        amount=Decimal("0.30"),
        currency="USD",
        paid_on=date(2026, 4, 2),
        reference="CHK 1",
    )
    paid = await qbo.ledger.apply_payment(
        payment,
        customer_ledger_id=customer_id,
        invoice_ledger_id=pushed.ledger_id,
        external_ref="csv/payment/P-1",
        idempotency_key=key("p"),
    )
    record = await qbo.ledger.get("invoice", pushed.ledger_id)
    assert record is not None and (record.status, record.balance) == ("paid", Decimal(0))
    found = await qbo.ledger.find("payment", "csv/payment/P-1")
    assert found is not None and found.ledger_id == paid.ledger_id
    assert (found.name, found.total) == ("CHK 1", Decimal("0.30"))
    voided = await qbo.ledger.void_invoice(pushed.ledger_id, version=None, idempotency_key="v")
    assert voided.version == str(int(record.version or 0) + 1)
    with pytest.raises(StaleVersionError):
        await qbo.ledger.void_invoice(pushed.ledger_id, version="0", idempotency_key="v2")


# ---------------------------------------------------------------------- CDC


async def test_changes_report_payments_and_balance_updates(qbo: InProcessQbo) -> None:
    customer_id = await push_customer(qbo.ledger)
    pushed = await qbo.ledger.create_invoice(
        invoice(), customer_ledger_id=customer_id, external_ref="r/i/1", idempotency_key=key("i")
    )
    record = await qbo.ledger.get("invoice", pushed.ledger_id)
    assert record is not None and record.updated_at is not None
    payment = Payment(
        id="P-1",
        customer_id="C-1",
        invoice_id="INV-1",
        amount=Decimal("0.10"),
        currency="USD",
        paid_on=date(2026, 4, 2),
    )
    await qbo.ledger.apply_payment(
        payment,
        customer_ledger_id=customer_id,
        invoice_ledger_id=pushed.ledger_id,
        external_ref="csv/payment/P-1",
        idempotency_key=key("p"),
    )
    changed = [r async for r in qbo.ledger.changes(record.updated_at + timedelta(microseconds=1))]
    kinds = {(r.kind, r.status) for r in changed}
    assert kinds == {("invoice", "partially_paid"), ("payment", "applied")}


# -------------------------------------------------------------------- batch


async def test_batch_splits_into_chunks_of_thirty_and_keeps_item_order(
    qbo: InProcessQbo,
) -> None:
    items = [BatchItem("create", "customer", {"DisplayName": f"Batch {n}"}) for n in range(34)]
    items.append(BatchItem("create", "customer", {"DisplayName": "Batch 3"}))  # duplicate
    items.append(BatchItem("query", "customer", "select * from Customer maxresults 1000"))
    results = await qbo.ledger.batch(items, idempotency_key=key("batch"))
    assert [r.records[0].name for r in results[:34]] == [f"Batch {n}" for n in range(34)]
    assert isinstance(results[34].error, PermanentLedgerError)
    assert results[34].error.code == "6240"
    assert len(results[35].records) == 34
    again = await qbo.ledger.batch(items, idempotency_key=key("batch"))
    assert [r.records[0].ledger_id for r in again[:34]] == [
        r.records[0].ledger_id for r in results[:34]
    ]
    assert qbo.sandbox.count("customer") == 34


# ------------------------------------------------------------- limits, auth


async def test_without_the_client_side_limiter_the_sandbox_throttles() -> None:
    """The contract's burst test is meaningful: unlimited, the same burst earns 429s."""
    env = in_process_qbo(per_second=25, limiter=RateLimiter(Rate(10_000, 1.0)), retry=NO_RETRY)
    customer_id = await push_customer(env.ledger)
    results = await asyncio.gather(
        *(env.ledger.get("customer", customer_id) for _ in range(45)), return_exceptions=True
    )
    throttles = [r for r in results if isinstance(r, TransientLedgerError)]
    assert throttles and all(t.code == "003001" and t.retry_after == 60 for t in throttles)
    assert env.sandbox.throttled == len(throttles)
    await env.ledger.aclose()


async def test_an_expired_access_token_is_refreshed_and_rotated_on_disk(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "qbo-tokens.json")
    env = in_process_qbo(store=store)
    customer_id = await push_customer(env.ledger)
    first = store.load()
    env.sandbox.oauth.expire_access_tokens()
    assert await env.ledger.get("customer", customer_id) is not None
    second = store.load()
    assert first is not None and second is not None
    assert second.refresh_token != first.refresh_token
    await env.ledger.aclose()


async def test_a_revoked_grant_is_an_auth_error() -> None:
    env = in_process_qbo()
    env.sandbox.oauth.exchange("sandbox-refresh-token")  # someone else spent it
    with pytest.raises(AuthExpiredError) as refused:
        await env.ledger.get("customer", "1")
    assert refused.value.code == "invalid_grant"
    await env.ledger.aclose()


# --------------------------------------------------------- error translation


def answer(status: int, body: object, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else encode_json(body)
    request = httpx.Request("POST", "https://qbo/v3/company/1/invoice")
    return httpx.Response(status, content=content, headers=headers, request=request)


def fault(
    code: str, message: str = "m", detail: str = "d", kind: str = "ValidationFault"
) -> object:
    error = {"Message": message, "Detail": detail, "code": code, "element": ""}
    return {"Fault": {"Error": [error], "type": kind}, "time": "t"}


def test_qbo_faults_map_to_typed_errors() -> None:
    throttle = translate_qbo(answer(429, fault("3001", "message=ThrottleExceeded", "", "SERVICE")))
    assert isinstance(throttle, TransientLedgerError)
    assert (throttle.code, throttle.retry_after) == ("003001", 60)
    xml = (
        b'<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>message='
        b"ThrottleExceeded; errorCode=003001; statusCode=429</Message></Error></Fault>"
    )
    assert isinstance(translate_qbo(answer(429, xml + b"</IntuitResponse>")), TransientLedgerError)
    assert isinstance(
        translate_qbo(answer(401, fault("3200", kind="AuthenticationFault"))), AuthExpiredError
    )
    assert isinstance(translate_qbo(answer(400, fault("5010"))), StaleVersionError)
    server = translate_qbo(answer(503, b"Service Unavailable", **{"Retry-After": "5"}))
    assert isinstance(server, TransientLedgerError) and server.retry_after == 5
    refused = translate_qbo(answer(400, fault("6240", "Duplicate Name Exists Error")))
    assert isinstance(refused, PermanentLedgerError)
    assert refused.code == "6240" and "Duplicate Name" in str(refused)


def test_the_default_mapping_loads_and_has_a_digest() -> None:
    mapping = load_mapping()
    assert mapping.version == "qbo-1"
    assert len(mapping.digest) == 64
    assert mapping.ref_field == {
        "customer": "Notes",
        "invoice": "PrivateNote",
        "payment": "PrivateNote",
    }
    assert mapping.fields["customer"]["name"] == ("DisplayName", "CompanyName")
