"""OdooLedger against the Odoo sandbox in-process: what Odoo-specific behaviour adds to the
ledger contract (tests/unit/test_odoo_contract.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from adapters.ledgers.odoo import OdooLedger
from adapters.ledgers.odoo_errors import fault_error, translate_json2
from adapters.ledgers.odoo_platform import PLATFORM, rates
from adapters.oauth2 import FileTokenStore
from adapters.platforms import Connection
from adapters.ratelimit import Rate
from adapters.sandbox.odoo import DEFAULT_API_KEY
from core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from core.model import Customer, Invoice, InvoiceLine, Payment
from tests.contracts.ledger_contract import key
from tests.support.odoo import InProcessOdoo, connect, in_process_odoo


@pytest.fixture(params=["json2", "xmlrpc"])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[InProcessOdoo]:
    env = in_process_odoo(transport=request.param, per_second=100, per_minute=5000)
    yield env
    await env.ledger.aclose()
    env.sandbox.close()


def customer(n: int = 1, **changes: object) -> Customer:
    fields: dict[str, object] = {"id": f"C-{n}", "name": f"Customer {n}", "currency": "USD"}
    return Customer.model_validate(fields | changes)


def invoice(total: str = "0.30", **changes: object) -> Invoice:
    fields: dict[str, object] = {
        "id": "INV-1",
        "number": "INV-1",
        "customer_id": "C-1",
        "issue_date": date(2026, 4, 1),
        "currency": "USD",
        "lines": (
            InvoiceLine(description="a", quantity="1", unit_price="0.10"),
            InvoiceLine(description="b", quantity="1", unit_price="0.20"),
        ),
        "total": Decimal(total),
    }
    return Invoice.model_validate(fields | changes)


async def push_customer(ledger: OdooLedger, n: int = 1) -> str:
    pushed = await ledger.create_customer(
        customer(n), external_ref=f"csv/customer/C-{n}", idempotency_key=key("c", n)
    )
    return pushed.ledger_id


async def push_invoice(
    ledger: OdooLedger, customer_id: str, document: Invoice | None = None
) -> str:
    pushed = await ledger.create_invoice(
        document or invoice(),
        customer_ledger_id=customer_id,
        external_ref="csv/invoice/INV-1",
        idempotency_key=key("i"),
    )
    return pushed.ledger_id


# ------------------------------------------------------------------- money


async def test_amounts_reach_the_book_decimal_exact(odoo: InProcessOdoo) -> None:
    invoice_id = await push_invoice(odoo.ledger, await push_customer(odoo.ledger))
    [stored] = odoo.sandbox.records("invoice")
    assert stored["amount_total"] == Decimal("0.30")  # 0.1 + 0.2 in floats would not be
    assert stored["ref"] == "csv/invoice/INV-1"
    assert stored["payment_reference"] == "INV-1"
    assert stored["name"] == "INV/2026/00001"
    assert str(stored["id"]) == invoice_id


async def test_a_tax_odoo_cannot_compute_is_refused_before_anything_is_written(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    odd = invoice(
        total="10.33",
        lines=(InvoiceLine(description="x", quantity="1", unit_price="10.00", tax_amount="0.33"),),
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(odoo.ledger, customer_id, odd)
    assert refused.value.code == "syncledger.tax_unmatched"
    assert odoo.sandbox.count("invoice") == 0


async def test_a_foreign_currency_invoice_carries_our_rate_inverted(odoo: InProcessOdoo) -> None:
    customer_id = await push_customer(odoo.ledger)
    await push_invoice(
        odoo.ledger, customer_id, invoice(currency="EUR", exchange_rate=Decimal("1.25"))
    )
    [stored] = odoo.sandbox.records("invoice")
    assert stored["currency_id"][1] == "EUR"
    assert stored["invoice_currency_rate"] == Decimal("0.8")


async def test_a_foreign_currency_invoice_without_a_rate_is_refused_never_booked_at_1(
    odoo: InProcessOdoo,
) -> None:
    customer_id = await push_customer(odoo.ledger)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(odoo.ledger, customer_id, invoice(currency="EUR"))
    assert "exchange rate" in str(refused.value)
    assert all(r["state"] == "draft" for r in odoo.sandbox.records("invoice"))


async def test_an_invoice_with_payments_is_not_reset_to_draft(odoo: InProcessOdoo) -> None:
    customer_id = await push_customer(odoo.ledger)
    invoice_id = await push_invoice(odoo.ledger, customer_id)
    payment = Payment(
        id="P",
        customer_id="C-1",
        invoice_id="INV-1",
        amount=Decimal("0.10"),
        currency="USD",
        paid_on=date(2026, 4, 2),
    )
    await odoo.ledger.apply_payment(
        payment,
        customer_ledger_id=customer_id,
        invoice_ledger_id=invoice_id,
        external_ref="csv/payment/P",
        idempotency_key=key("p"),
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await odoo.ledger.update_invoice(
            invoice(),
            ledger_id=invoice_id,
            version=None,
            customer_ledger_id=customer_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key=key("u"),
        )
    assert refused.value.code == "syncledger.invoice_has_payments"
    record = await odoo.ledger.get("invoice", invoice_id)
    assert record is not None and record.balance == Decimal("0.20")


# -------------------------------------------------------------- pagination


async def test_list_all_and_changes_page_by_id(odoo: InProcessOdoo) -> None:
    paged = connect(odoo.app, transport=odoo.ledger._rpc.transport, per_second=100, page_size=2)
    ids = {await push_customer(odoo.ledger, n) for n in range(1, 6)}
    try:
        listed = [r.ledger_id async for r in paged.list_all("customer")]
        changed = [
            r.ledger_id async for r in paged.changes(datetime.now(UTC) - timedelta(minutes=1))
        ]
    finally:
        await paged.aclose()
    assert sorted(listed) == sorted(ids) and len(listed) == 5
    assert set(changed) == ids and len(changed) == 5


async def test_match_customer_ignores_case_and_finds_by_tax_id(odoo: InProcessOdoo) -> None:
    await odoo.ledger.create_customer(
        customer(1, tax_id="DE123456789"), external_ref="csv/customer/C-1", idempotency_key=key("c")
    )
    by_name = await odoo.ledger.match_customer(customer(2, name="CUSTOMER 1"))
    by_vat = await odoo.ledger.match_customer(customer(3, tax_id="DE123456789"))
    assert (
        [r.external_ref for r in by_name]
        == [r.external_ref for r in by_vat]
        == ["csv/customer/C-1"]
    )
    assert await odoo.ledger.match_customer(customer(4, name="Customer 10")) == []


# -------------------------------------------------------------------- auth


async def test_an_expired_key_surfaces_as_auth_expired(odoo: InProcessOdoo) -> None:
    odoo.sandbox.expire_keys()
    with pytest.raises(AuthExpiredError) as expired:
        await odoo.ledger.get("customer", "1")
    assert expired.value.code in ("werkzeug.exceptions.Unauthorized", "3")
    assert DEFAULT_API_KEY not in str(expired.value)


async def test_rotation_persists_the_new_key_then_revokes_the_old(
    odoo: InProcessOdoo, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "odoo.json")
    transport = odoo.ledger._rpc.transport
    rotating = connect(odoo.app, transport=transport, per_second=100, key_store=store)
    other_process = connect(
        odoo.app,
        transport=transport,
        per_second=100,
        key_store=FileTokenStore(tmp_path / "odoo.json"),
    )
    stale = connect(odoo.app, transport=transport, per_second=100)  # still holds the old key
    try:
        await rotating.rotate_api_key(valid_days=30)
        saved = store.load()
        assert saved is not None and saved.access_token != DEFAULT_API_KEY
        assert odoo.sandbox.key_uid(saved.access_token) is not None
        assert odoo.sandbox.key_uid(DEFAULT_API_KEY) is None
        customer_id = await push_customer(rotating)
        assert await other_process.get("customer", customer_id) is not None  # reads the store
        with pytest.raises(AuthExpiredError):
            await stale.get("customer", customer_id)
    finally:
        for ledger in (rotating, other_process, stale):
            await ledger.aclose()


async def test_no_secret_reaches_the_logs(
    odoo: InProcessOdoo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await push_invoice(odoo.ledger, await push_customer(odoo.ledger))
    odoo.sandbox.expire_keys()
    with pytest.raises(AuthExpiredError):
        await push_customer(odoo.ledger, 2)
    assert caplog.records
    assert DEFAULT_API_KEY not in caplog.text


# ----------------------------------------------------------- error mapping


def response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://odoo/json/2/account.move/create")
    return httpx.Response(status, content=body, headers=headers, request=request)


def test_json2_errors_map_by_status_and_keep_the_exception_name() -> None:
    documented = (
        b'{"name": "odoo.exceptions.UserError", "message": "No way", "arguments": ["No way"],'
        b' "context": {}, "debug": "Traceback SECRET"}'
    )
    refused = translate_json2(response(422, documented))
    assert isinstance(refused, PermanentLedgerError)
    assert refused.code == "odoo.exceptions.UserError"
    assert "No way" in str(refused) and "SECRET" not in str(refused)
    bare = translate_json2(response(422, b"\"got an unexpected keyword argument 'x'\""))
    assert isinstance(bare, PermanentLedgerError) and bare.code == "HTTP 422"
    throttled = translate_json2(response(429, b"{}", {"Retry-After": "3"}))
    assert isinstance(throttled, TransientLedgerError) and throttled.retry_after == 3.0
    assert isinstance(translate_json2(response(503, b"<html>")), TransientLedgerError)
    assert isinstance(
        translate_json2(
            response(
                401, b'{"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey"}'
            )
        ),
        AuthExpiredError,
    )


def test_xmlrpc_faults_map_by_code() -> None:
    assert isinstance(fault_error(3, "Access Denied", "x"), AuthExpiredError)
    warning = fault_error(2, "Record does not exist", "x")
    assert isinstance(warning, PermanentLedgerError) and warning.code == "2"
    crash = fault_error(
        1, 'Traceback (most recent call last):\n  File "x", line 1\nValueError: bad field', "x"
    )
    assert isinstance(crash, TransientLedgerError)
    assert "ValueError: bad field" in str(crash) and "Traceback" not in str(crash)


# --------------------------------------------------------------- platform


def test_capabilities_follow_the_configured_limits() -> None:
    assert rates({}) == (Rate(4, 1.0), Rate(120, 60.0))
    assert rates({"requests_per_minute": "30", "requests_per_second": "1"}) == (
        Rate(1, 1.0),
        Rate(30, 60.0),
    )
    with pytest.raises(ConfigurationError):
        rates({"requests_per_minute": "lots"})


async def test_the_platform_needs_a_key_for_a_live_database(tmp_path: Path) -> None:
    live = Connection("https://example.odoo.com", tmp_path / "t.json", {})
    with pytest.raises(ConfigurationError):
        PLATFORM.connect(live)
    with pytest.raises(ConfigurationError):
        PLATFORM.connect(
            Connection(
                "https://example.odoo.com",
                tmp_path / "t.json",
                {"api_key": "k", "transport": "soap"},
            )
        )
    app = PLATFORM.sandbox_app(None)
    ledger = PLATFORM.connect(
        Connection(PLATFORM.sandbox_url, tmp_path / "t.json", {}, httpx.ASGITransport(app=app))
    )
    try:
        pushed = await ledger.create_customer(
            customer(), external_ref="csv/customer/C-1", idempotency_key=key("c")
        )
        assert PLATFORM.sandbox_handle(app).count("customer") == 1
        assert ledger.capabilities.requests_per_minute == 120
        assert pushed.ledger_id
    finally:
        await ledger.aclose()
        PLATFORM.sandbox_handle(app).close()
