"""Requests per record on Xero, beyond the contract's PrefetchSection (one bulk read and
one write per update, stale writes refused): the bulk read names the batch's ids, invoice
updates and voids are served from one; documents are created in bulk (``create_many``),
once each, with per-element refusals, and a lost answer does not duplicate on retry."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.xero.ledger import API
from syncledger.core.errors import TransientLedgerError
from syncledger.core.model import InvoiceLine
from syncledger.core.ports import (
    BatchCreator,
    CustomerUpdate,
    InvoiceUpdate,
    InvoiceWrite,
    LedgerAdapter,
    LedgerRecord,
    PaymentWrite,
    PushResult,
    VoidWrite,
)
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer, invoice, payment
from tests.support.writes import write_customer, write_invoice
from tests.support.xero import InProcessXero, in_process_xero

N = 5


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    async with closed_after(in_process_xero(per_window=1000, window=60.0)) as env:
        yield env


def sent_since(xero: InProcessXero, start: int) -> Counter[str]:
    """The API requests sent after the ``start``-th, by method and path (ids as ``{id}``;
    OAuth token requests left out)."""
    counted: Counter[str] = Counter()
    for request in xero.wire.sent[start:]:
        if not request.url.path.startswith(API):
            continue
        parts = request.url.path.removeprefix(API).split("/")
        counted[
            f"{request.method} {'/'.join(p if i < 2 else '{id}' for i, p in enumerate(parts))}"
        ] += 1
    return counted


async def customers(ledger: LedgerAdapter, n: int) -> list[tuple[str, str | None]]:
    """``n`` customers pushed: (ledger id, version) each."""
    pushed = []
    for i in range(1, n + 1):
        result = await write_customer(ledger, customer(i), i)
        pushed.append((result.ledger_id, result.version))
    return pushed


async def update(ledger: LedgerAdapter, n: int, ledger_id: str, version: str | None) -> None:
    await ledger.update_customer(
        CustomerUpdate(
            customer(n, email=f"new.{n}@example.com"),
            ledger_id=ledger_id,
            version=version,
            external_ref=f"csv/customer/C-{n}",
            idempotency_key=key("cu", n),
        )
    )


# ------------------------------------------------------------------ prefetch


async def test_the_bulk_read_asks_for_the_batch_s_contact_ids(xero: InProcessXero) -> None:
    """The counts of a batch's requests: the contract's PrefetchSection."""
    pushed = await customers(xero.ledger, N)
    start = len(xero.wire.sent)
    await xero.ledger.prefetch("customer", [ledger_id for ledger_id, _ in pushed])
    [bulk] = xero.wire.sent[start:]
    assert (bulk.method, bulk.url.path) == ("GET", f"{API}/Contacts")
    assert sorted(bulk.url.params["IDs"].split(",")) == sorted(i.lower() for i, _ in pushed)


async def test_invoice_updates_and_voids_are_served_from_one_bulk_read(
    xero: InProcessXero,
) -> None:
    [(customer_id, _)] = await customers(xero.ledger, 1)
    created = []
    for n in range(1, 4):
        doc = invoice(id=f"INV-{n}", number=f"INV-{n}")
        created.append(await write_invoice(xero.ledger, customer_id, doc, n))
    start = len(xero.wire.sent)
    await xero.ledger.prefetch("invoice", [p.ledger_id for p in created])
    for n, pushed in enumerate(created[:2], start=1):
        await xero.ledger.update_invoice(
            InvoiceUpdate(
                invoice("0.60", id=f"INV-{n}", number=f"INV-{n}", lines=_doubled()),
                ledger_id=pushed.ledger_id,
                version=pushed.version,
                customer_ledger_id=customer_id,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=key("iu", n),
            )
        )
    await xero.ledger.void_invoice(
        VoidWrite(created[2].ledger_id, version=created[2].version, idempotency_key=key("v"))
    )
    assert sent_since(xero, start) == Counter({"GET /Invoices": 1, "POST /Invoices/{id}": 3})
    statuses = [(await _record(xero, "invoice", p.ledger_id)) for p in created]
    assert [(r.total, r.status) for r in statuses] == [
        (Decimal("0.60"), "open"),
        (Decimal("0.60"), "open"),
        (Decimal("0.30"), "void"),
    ]


# ------------------------------------------------------------------ helpers


def _doubled() -> tuple[InvoiceLine, ...]:
    return (
        InvoiceLine(description="a", quantity="2", unit_price="0.10"),
        InvoiceLine(description="b", quantity="2", unit_price="0.20"),
    )


async def _record(xero: InProcessXero, kind: str, ledger_id: str) -> LedgerRecord:
    record = await xero.ledger.get(kind, ledger_id)
    assert record is not None
    return record


# --------------------------------------------------------------- bulk creates


def invoice_request(n: int, customer_id: str, **changes: object) -> InvoiceWrite:
    fields: dict[str, object] = {"id": f"INV-{n}", "number": f"INV-{n}"}
    return InvoiceWrite(
        invoice(**(fields | changes)),
        customer_ledger_id=customer_id,
        external_ref=f"csv/invoice/INV-{n}",
        idempotency_key=key("i", n),
    )


def payment_request(n: int, customer_id: str, invoice_id: str) -> PaymentWrite:
    return PaymentWrite(
        payment(n=n, invoice_id=f"INV-{n}", reference=f"CHK {n}"),
        customer_ledger_id=customer_id,
        invoice_ledger_id=invoice_id,
        external_ref=f"csv/payment/P-{n}",
        idempotency_key=key("p", n),
    )


async def test_a_batch_of_invoices_then_of_their_payments_is_one_request_each(
    xero: InProcessXero,
) -> None:
    assert isinstance(xero.ledger, BatchCreator)
    [(customer_id, _)] = await customers(xero.ledger, 1)
    start = len(xero.wire.sent)
    invoices = await xero.ledger.create_many(
        [invoice_request(n, customer_id) for n in range(1, N + 1)], batch_key=key("b", 1)
    )
    # the organisation's currency is read once for the adapter's life
    assert sent_since(xero, start) == Counter({"PUT /Invoices": 1, "GET /Organisation": 1})
    assert xero.sandbox.count("invoice") == N
    for n, pushed in enumerate(invoices, start=1):
        assert isinstance(pushed, PushResult) and not pushed.recovered
        found = await xero.ledger.find("invoice", f"csv/invoice/INV-{n}")
        assert found is not None and (found.ledger_id, found.version) == (
            pushed.ledger_id,
            pushed.version,
        )
    ids = [p.ledger_id for p in invoices if isinstance(p, PushResult)]
    start = len(xero.wire.sent)
    payments = await xero.ledger.create_many(
        [payment_request(n, customer_id, ids[n - 1]) for n in range(1, N + 1)],
        batch_key=key("b", 2),
    )
    assert sent_since(xero, start) == Counter({"PUT /Payments": 1})
    assert xero.sandbox.count("payment") == N
    assert all(isinstance(p, PushResult) for p in payments)
    for invoice_id in ids:
        assert (await _record(xero, "invoice", invoice_id)).status == "paid"


async def test_a_bulk_create_reports_each_refusal_and_creates_the_rest_once(
    xero: InProcessXero,
) -> None:
    [(customer_id, _)] = await customers(xero.ledger, 1)
    [theirs] = await xero.ledger.create_many(
        [invoice_request(9, customer_id)], batch_key=key("b", 0)
    )
    assert isinstance(theirs, PushResult)
    unknown_contact = "00000000-0000-0000-0000-000000000001"
    requests = [
        invoice_request(1, customer_id),
        # Xero's own: another record holds the number, and it does not carry our reference
        invoice_request(2, customer_id, number="INV-9"),
        invoice_request(3, unknown_contact),
        # ours: a line naming an item the organisation has not got, refused unsent
        invoice_request(4, customer_id, lines=(_line_with_item("NO-SUCH-ITEM"),), total="0.10"),
        invoice_request(5, customer_id),
    ]
    start = len(xero.wire.sent)
    results = await xero.ledger.create_many(requests, batch_key=key("b", 1))
    assert [type(r).__name__ for r in results] == [
        "PushResult",
        "PermanentLedgerError",
        "PermanentLedgerError",
        "PermanentLedgerError",
        "PushResult",
    ]
    assert "must be unique" in str(results[1])
    assert results[3].code == "unknown_item"  # type: ignore[union-attr]
    [bulk] = [r for r in xero.wire.sent[start:] if r.method == "PUT"]
    assert len(decode_json(bulk.content)["Invoices"]) == 4  # the refused-unsent one left out
    assert xero.sandbox.count("invoice") == 3  # INV-9, INV-1 and INV-5, once each
    for n in (1, 5):
        assert await xero.ledger.find("invoice", f"csv/invoice/INV-{n}") is not None
    for n in (2, 3, 4):
        assert await xero.ledger.find("invoice", f"csv/invoice/INV-{n}") is None


@pytest.mark.parametrize("key_kept", [True, False])
async def test_a_bulk_create_whose_answer_was_lost_does_not_duplicate_on_retry(
    key_kept: bool,
) -> None:
    ttl = 360.0 if key_kept else 0.0
    env = in_process_xero(per_window=1000, window=60.0, timeout=0.3, idempotency_ttl=ttl)
    [(customer_id, _)] = await customers(env.ledger, 1)
    requests = [invoice_request(n, customer_id) for n in range(1, N + 1)]
    env.sandbox.commit_then_timeout_next(env.retry.attempts)  # they land, never answered
    lost = await env.ledger.create_many(requests, batch_key=key("b", 1))
    assert all(isinstance(r, TransientLedgerError) for r in lost)
    assert env.sandbox.count("invoice") == N
    # what core does next for each record (its outcome is unknown): look for it
    for request in requests:
        assert await env.ledger.find("invoice", request.external_ref) is not None
    # and a repeat of the whole batch creates nothing more: replayed under the key while
    # Xero keeps it, else refused as duplicates and found by our reference
    again = await env.ledger.create_many(requests, batch_key=key("b", 1))
    assert all(isinstance(r, PushResult) for r in again)
    assert all(r.recovered is not key_kept for r in again if isinstance(r, PushResult))
    assert env.sandbox.count("invoice") == N
    await env.ledger.aclose()
    env.sandbox.close()


def _line_with_item(code: str) -> InvoiceLine:
    return InvoiceLine(description="a", quantity="1", unit_price="0.10", item_code=code)


# ---------------------------------------------------------------------- items


# ----------------------------------------------------------------- exchange rates


async def test_a_foreign_payment_takes_the_rate_we_wrote_without_reading_the_invoice(
    xero: InProcessXero,
) -> None:
    pushed = await write_customer(xero.ledger, customer(1, "EUR"))
    rate = Decimal("1.0850")
    [made] = await xero.ledger.create_many(
        [invoice_request(1, pushed.ledger_id, currency="EUR", exchange_rate=rate)],
        batch_key=key("b", 1),
    )
    assert isinstance(made, PushResult)
    euro = payment_request(1, pushed.ledger_id, made.ledger_id)
    euro = replace(euro, payment=euro.payment.model_copy(update={"currency": "EUR"}))
    start = len(xero.wire.sent)
    [paid] = await xero.ledger.create_many([euro], batch_key=key("b", 2))
    assert isinstance(paid, PushResult)
    # the organisation's currency, read once for the adapter's life; no GET /Invoices/{id}
    assert sent_since(xero, start) == Counter({"GET /Organisation": 1, "PUT /Payments": 1})
    [stored] = xero.sandbox.book.all("Payment")
    assert stored["CurrencyRate"] == rate
