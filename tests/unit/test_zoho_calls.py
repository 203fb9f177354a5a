"""Requests per record on Zoho Books, beyond the contract's PrefetchSection (a batch of
updates read in one list): a batch of new invoices has their versions read in one list
(``create_many``), against the in-process sandbox, counting what the adapter sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from syncledger.core.errors import LedgerError, PermanentLedgerError
from syncledger.core.model import Customer, Invoice, InvoiceLine
from syncledger.core.ports import (
    CustomerUpdate,
    InvoiceWrite,
    PushResult,
)
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.contracts.steps_contract import Crash, StepsUnderTest
from tests.support.documents import payment
from tests.support.writes import pay_invoice, write_customer, write_invoice
from tests.support.zoho import InProcessZoho, in_process_zoho


@pytest.fixture
async def zoho() -> AsyncIterator[InProcessZoho]:
    async with closed_after(in_process_zoho(per_window=400, window=1.0)) as env:
        yield env


def customer(n: int, name: str | None = None) -> Customer:
    return Customer(id=f"C-{n}", name=name or f"Customer {n}", currency="USD")


def invoice(n: int, item_code: str | None = None) -> Invoice:
    line = InvoiceLine(description="work", quantity="1", unit_price="10.00", item_code=item_code)
    return Invoice(
        id=f"INV-{n}",
        number=f"INV-{n}",
        customer_id="C-1",
        issue_date=date(2026, 4, 1),
        currency="USD",
        lines=(line,),
        total=Decimal("10.00"),
    )


async def new_customers(zoho: InProcessZoho, count: int) -> list[PushResult]:
    return [await write_customer(zoho.ledger, customer(n), n) for n in range(1, count + 1)]


async def update(zoho: InProcessZoho, n: int, pushed: PushResult, name: str) -> PushResult:
    return await zoho.ledger.update_customer(
        CustomerUpdate(
            customer(n, name),
            ledger_id=pushed.ledger_id,
            version=pushed.version,
            external_ref=f"csv/customer/C-{n}",
            idempotency_key=key("cu", n, name),
        )
    )


def requests_since(zoho: InProcessZoho, start: int) -> list[tuple[str, str]]:
    return [(r.method, r.url.path) for r in zoho.transport.requests[start:]]


# ------------------------------------------------------------- create_many


def invoice_request(n: int, customer_id: str, steps: StepsUnderTest, **kw: str) -> InvoiceWrite:
    return InvoiceWrite(
        invoice(n, **kw),
        customer_ledger_id=customer_id,
        external_ref=f"csv/invoice/INV-{n}",
        idempotency_key=key("i", n),
        steps=steps,
    )


async def invoices_by_reference(zoho: InProcessZoho, n: int) -> list[str]:
    return [
        r.ledger_id
        async for r in zoho.ledger.list_all("invoice")
        if r.raw.get("reference_number") == f"csv/invoice/INV-{n}"
    ]


async def test_create_many_makes_each_invoice_once_and_reads_their_versions_in_one_list(
    zoho: InProcessZoho,
) -> None:
    (owner,) = await new_customers(zoho, 1)
    journals = [StepsUnderTest(key("i", n)) for n in range(1, 4)]
    requests = [invoice_request(n, owner.ledger_id, journals[n - 1]) for n in range(1, 4)]
    requests[1] = invoice_request(2, owner.ledger_id, journals[1], item_code="NO-SUCH-ITEM")
    start = len(zoho.transport.requests)
    results = await zoho.ledger.create_many(requests, batch_key=key("batch"))
    sent = requests_since(zoho, start)
    assert isinstance(results[1], PermanentLedgerError)  # refused alone, nothing sent
    assert await invoices_by_reference(zoho, 2) == []
    for n in (1, 3):
        result = results[n - 1]
        assert isinstance(result, PushResult)
        assert await invoices_by_reference(zoho, n) == [result.ledger_id]
        record = await zoho.ledger.get("invoice", result.ledger_id)
        assert record is not None and record.version == result.version
        assert record.raw["status"] == "sent"
    assert sent.count(("GET", "/books/v3/invoices")) == 1
    assert not [p for m, p in sent if m == "GET" and p.startswith("/books/v3/invoices/")]


async def test_create_many_after_a_crash_that_lost_an_answer_makes_no_duplicate(
    zoho: InProcessZoho,
) -> None:
    (owner,) = await new_customers(zoho, 1)
    journals = [StepsUnderTest(key("i", n)) for n in range(1, 3)]
    journals[1].fault = ("after", "invoice")  # created in Zoho, the answer never logged
    requests = [invoice_request(n, owner.ledger_id, journals[n - 1]) for n in range(1, 3)]
    with pytest.raises(Crash):
        await zoho.ledger.create_many(requests, batch_key=key("batch"))
    again = await zoho.ledger.create_many(requests, batch_key=key("batch"))
    assert journals[1].finds == 1
    for n, result in enumerate(again, start=1):
        assert not isinstance(result, LedgerError)
        assert await invoices_by_reference(zoho, n) == [result.ledger_id]
        record = await zoho.ledger.get("invoice", result.ledger_id)
        assert record is not None and record.version == result.version
        assert record.raw["status"] == "sent"


# ------------------------------------------------------------ payment rates


async def test_a_payment_takes_the_rate_of_the_invoice_we_wrote_without_reading_it(
    zoho: InProcessZoho,
) -> None:
    owner = await write_customer(
        zoho.ledger, Customer(id="C-1", name="Euro customer", currency="EUR")
    )
    euros = invoice(1).model_copy(update={"currency": "EUR", "exchange_rate": Decimal("1.0825")})
    made = await write_invoice(zoho.ledger, owner.ledger_id, euros)
    start = len(zoho.transport.requests)
    euros = payment("10.00", currency="EUR")
    paid = await pay_invoice(zoho.ledger, owner.ledger_id, made.ledger_id, euros, ref="P-1")
    assert requests_since(zoho, start) == [("POST", "/books/v3/customerpayments")]
    record = await zoho.ledger.get("payment", paid)
    assert record is not None and record.raw["exchange_rate"] == Decimal("1.0825")
