"""Requests per record on Odoo (issue 17), beyond the contract's PrefetchSection (updates
read their records in one bulk read, stale writes refused): ``create_many`` sends one ``create``,
one ``action_post`` and one read-back for a batch of documents, refuses per document, and
never duplicates one whose answer was lost. Requests are counted on the wire (as
``bench/calls.py`` does), outcomes read from the sandbox's book."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from syncledger.adapters.odoo.ledger import OdooLedger
from syncledger.core.errors import (
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import Customer, Invoice
from syncledger.core.ports import (
    BatchCreator,
    CreditNoteWrite,
    CustomerUpdate,
    InvoiceUpdate,
    InvoiceWrite,
    PushResult,
    VoidWrite,
)
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.contracts.steps_contract import StepsUnderTest
from tests.support import documents
from tests.support.odoo import InProcessOdoo, connect, in_process_odoo
from tests.support.writes import pay_invoice, write_customer, write_invoice

N = 4
MISTOTAL = "syncledger.total_mismatch"
#: ``account.move`` ``create`` on either transport (JSON-2 path, XML-RPC body)
CREATE_MOVE = (
    r"account\.move/create"
    r"|account\.move</string></value>\s*</param>\s*<param>\s*<value><string>create<"
)


@pytest.fixture(params=["json2", "xmlrpc"])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[InProcessOdoo]:
    async with closed_after(
        in_process_odoo(transport=request.param, per_second=500, per_minute=20000)
    ) as env:
        yield env


def customer(n: int, email: str | None = None) -> Customer:
    return Customer(id=f"C-{n}", name=f"Customer {n}", currency="USD", email=email)


def invoice(n: int, total: str = "0.30") -> Invoice:
    return documents.invoice(total, id=f"INV-{n}", number=f"INV-{n}")


def domains(odoo: InProcessOdoo, model: str) -> list[Any]:
    """The ``domain`` of each ``search_read`` sent on ``model`` (either transport)."""
    return [call.get("domain") for call in odoo.wire.calls(model, "search_read")]


async def customers(ledger: OdooLedger, n: int) -> list[PushResult]:
    return [await write_customer(ledger, customer(i), i) for i in range(1, n + 1)]


async def update(ledger: OdooLedger, n: int, pushed: PushResult, email: str) -> PushResult:
    return await ledger.update_customer(
        CustomerUpdate(
            customer(n, email),
            ledger_id=pushed.ledger_id,
            version=pushed.version,
            external_ref=f"csv/customer/C-{n}",
            idempotency_key=key("u", n, email),
        )
    )


def requests_for(
    customer_id: str, numbers: range, *, totals: dict[int, str] | None = None
) -> list[InvoiceWrite]:
    totals = totals or {}
    return [
        InvoiceWrite(
            invoice(n, totals.get(n, "0.30")),
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/INV-{n}",
            idempotency_key=key("i", n),
            steps=StepsUnderTest(key("i", n)),
        )
        for n in numbers
    ]


def invoices_by_ref(odoo: InProcessOdoo) -> Counter[str]:
    return Counter(str(r["ref"]) for r in odoo.sandbox.records("invoice"))


# ------------------------------------------------------------------ updates


async def test_without_a_prefetch_each_update_reads_its_record_first(odoo: InProcessOdoo) -> None:
    [pushed] = await customers(odoo.ledger, 1)
    odoo.wire.sent.clear()
    await update(odoo.ledger, 1, pushed, "new@example.com")
    assert len(domains(odoo, "res.partner")) == 2  # the version check, then the read-back


async def test_a_stale_invoice_update_is_refused_from_the_prefetched_copy(
    odoo: InProcessOdoo,
) -> None:
    [c] = await customers(odoo.ledger, 1)
    made = await write_invoice(odoo.ledger, c.ledger_id, invoice(1))
    await odoo.ledger.void_invoice(
        VoidWrite(made.ledger_id, version=None, idempotency_key=key("v", 1))
    )
    await odoo.ledger.prefetch("invoice", [made.ledger_id])
    odoo.wire.sent.clear()
    with pytest.raises(StaleVersionError):
        await odoo.ledger.update_invoice(
            InvoiceUpdate(
                invoice(1, "0.30"),
                ledger_id=made.ledger_id,
                version=made.version,
                customer_ledger_id=c.ledger_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("u", 1),
            )
        )
    assert domains(odoo, "account.move") == []  # refused from the prefetched copy
    [row] = odoo.sandbox.records("invoice")
    assert row["state"] == "cancel"


# ------------------------------------------------------------------ creates


async def test_a_batch_of_invoices_is_one_create_one_post_and_one_read(odoo: InProcessOdoo) -> None:
    [c] = await customers(odoo.ledger, 1)
    assert isinstance(odoo.ledger, BatchCreator)
    odoo.wire.sent.clear()

    results = await odoo.ledger.create_many(
        requests_for(c.ledger_id, range(1, N + 1)), batch_key="b"
    )

    assert all(isinstance(r, PushResult) and not r.recovered for r in results)
    [create] = odoo.wire.calls("account.move", "create")
    [post] = odoo.wire.calls("account.move", "action_post")
    assert len(domains(odoo, "account.move")) == 1
    currency = odoo.wire.calls("res.currency", "search_read")  # once per adapter
    assert len(odoo.wire.sent) - len(currency) == 3
    rows = {str(r["id"]): r for r in odoo.sandbox.records("invoice")}
    assert [rows[r.ledger_id]["ref"] for r in results if isinstance(r, PushResult)] == [
        f"csv/invoice/INV-{n}" for n in range(1, N + 1)
    ]
    assert {r["state"] for r in rows.values()} == {"posted"}
    assert len(create["vals_list"] if "vals_list" in create else create["args"][0]) == N
    assert len(post["ids"] if "ids" in post else post["args"][0]) == N


async def test_a_document_odoo_refuses_fails_alone_and_the_rest_are_created(
    odoo: InProcessOdoo,
) -> None:
    [c] = await customers(odoo.ledger, 1)
    requests = requests_for(c.ledger_id, range(1, 5), totals={3: "0.31"})  # 3: mistotalled
    requests[1] = replace(requests[1], customer_ledger_id="999999")  # 2: no such customer

    results = await odoo.ledger.create_many(requests, batch_key="b")

    assert [type(r) for r in results] == [
        PushResult,
        PermanentLedgerError,
        PermanentLedgerError,
        PushResult,
    ]
    second, third = results[1], results[2]
    assert isinstance(second, LedgerError) and "res.partner(999999)" in str(second)
    assert isinstance(third, LedgerError) and third.code == MISTOTAL
    assert invoices_by_ref(odoo) == Counter({"csv/invoice/INV-1": 1, "csv/invoice/INV-4": 1})
    assert {r["state"] for r in odoo.sandbox.records("invoice")} == {"posted"}


async def test_a_batch_whose_answer_was_lost_is_created_once_on_retry(odoo: InProcessOdoo) -> None:
    [c] = await customers(odoo.ledger, 1)
    requests = requests_for(c.ledger_id, range(1, N + 1))
    ledger = connect(odoo.app, transport=odoo.ledger._rpc.transport, timeout=0.2)
    odoo.sandbox.faults.update(
        {"match": CREATE_MOVE, "match_commit_then_timeout": 1, "stall_seconds": 1.0}
    )
    try:
        first = await ledger.create_many(requests, batch_key="b")
    finally:
        await ledger.aclose()
    assert all(isinstance(r, TransientLedgerError) for r in first)
    assert len(invoices_by_ref(odoo)) == N  # the create landed; its answer did not

    again = await odoo.ledger.create_many(requests, batch_key="b")

    assert all(isinstance(r, PushResult) and r.recovered for r in again)
    assert invoices_by_ref(odoo) == Counter({f"csv/invoice/INV-{n}": 1 for n in range(1, N + 1)})
    assert {r["state"] for r in odoo.sandbox.records("invoice")} == {"posted"}


# ------------------------------------------------------------------ payments


async def invoice_of(odoo: InProcessOdoo) -> tuple[str, str]:
    [c] = await customers(odoo.ledger, 1)
    made = await write_invoice(odoo.ledger, c.ledger_id, invoice(1))
    return c.ledger_id, made.ledger_id


async def pay(odoo: InProcessOdoo, customer_id: str, invoice_id: str, amount: str) -> str:
    return await pay_invoice(
        odoo.ledger, customer_id, invoice_id, documents.payment(amount), ref="P-1"
    )


async def test_a_payment_is_checked_against_the_invoice_the_sync_just_read(
    odoo: InProcessOdoo,
) -> None:
    customer_id, invoice_id = await invoice_of(odoo)
    assert await odoo.ledger.get("invoice", invoice_id) is not None  # the sync's read
    odoo.wire.sent.clear()
    await pay(odoo, customer_id, invoice_id, "0.30")
    assert domains(odoo, "account.move") == []
    [row] = odoo.sandbox.records("invoice")
    assert row["payment_state"] in ("paid", "in_payment")


async def test_a_copy_of_an_invoice_we_then_credited_is_not_used_for_a_payment(
    odoo: InProcessOdoo,
) -> None:
    customer_id, invoice_id = await invoice_of(odoo)
    assert await odoo.ledger.get("invoice", invoice_id) is not None  # 0.30 open
    await odoo.ledger.create_credit_note(
        CreditNoteWrite(
            documents.credit_note(
                "0.10", description="a", invoice_id="INV-1", issue_date=date(2026, 4, 1)
            ),
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref="csv/credit_note/CN-1",
            idempotency_key=key("cn", 1),
        )
    )
    with pytest.raises(PermanentLedgerError) as refused:  # 0.20 open now, not 0.30
        await pay(odoo, customer_id, invoice_id, "0.30")
    assert refused.value.code == "syncledger.overapplied"
    assert odoo.sandbox.count("payment") == 0
