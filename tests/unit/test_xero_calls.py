"""Requests per record on Xero: updates read their records in one bulk read (``prefetch``)
and still refuse a stale write; documents are created in bulk (``create_many``), once
each, with per-element refusals, and a lost answer does not duplicate on retry."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from syncledger.adapters.xero.ledger import API
from syncledger.core.errors import StaleVersionError
from syncledger.core.model import InvoiceLine
from syncledger.core.ports import LedgerAdapter, LedgerRecord, Prefetcher
from tests.contracts.ledger_contract import key
from tests.support.documents import customer, invoice
from tests.support.xero import InProcessXero, in_process_xero

N = 5


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    env = in_process_xero(per_window=1000, window=60.0)
    yield env
    await env.ledger.aclose()
    env.sandbox.close()


def sent_since(xero: InProcessXero, start: int) -> Counter[str]:
    """The requests sent after the ``start``-th, by method and path (ids as ``{id}``)."""
    counted: Counter[str] = Counter()
    for request in xero.wire.sent[start:]:
        parts = request.url.path.removeprefix(API).split("/")
        counted[
            f"{request.method} {'/'.join(p if i < 2 else '{id}' for i, p in enumerate(parts))}"
        ] += 1
    return counted


async def customers(ledger: LedgerAdapter, n: int) -> list[tuple[str, str | None]]:
    """``n`` customers pushed: (ledger id, version) each."""
    pushed = []
    for i in range(1, n + 1):
        result = await ledger.create_customer(
            customer(i), external_ref=f"csv/customer/C-{i}", idempotency_key=key("c", i)
        )
        pushed.append((result.ledger_id, result.version))
    return pushed


async def update(ledger: LedgerAdapter, n: int, ledger_id: str, version: str | None) -> None:
    await ledger.update_customer(
        customer(n, email=f"new.{n}@example.com"),
        ledger_id=ledger_id,
        version=version,
        external_ref=f"csv/customer/C-{n}",
        idempotency_key=key("cu", n),
    )


def edit_in_xero(xero: InProcessXero, contact_id: str, name: str) -> None:
    """Someone else renames the contact in Xero."""
    element = {"ContactID": contact_id, "Name": name}
    with xero.sandbox.book.transaction():
        xero.sandbox.save_all(
            "Contact",
            {"Contacts": [element]},
            ident=contact_id,
            summarize=True,
            unitdp=2,
            put=False,
        )


def contact(xero: InProcessXero, contact_id: str) -> dict[str, Any]:
    found = xero.sandbox.book.get("Contact", contact_id)
    assert found is not None
    return found


# ------------------------------------------------------------------ prefetch


async def test_a_batch_of_updates_sends_one_bulk_read_and_one_write_each(
    xero: InProcessXero,
) -> None:
    assert isinstance(xero.ledger, Prefetcher)
    pushed = await customers(xero.ledger, N)
    start = len(xero.wire.sent)
    await xero.ledger.prefetch("customer", [ledger_id for ledger_id, _ in pushed])
    for n, (ledger_id, version) in enumerate(pushed, start=1):
        await update(xero.ledger, n, ledger_id, version)
    assert sent_since(xero, start) == Counter({"GET /Contacts": 1, "POST /Contacts/{id}": N})
    [bulk] = [r for r in xero.wire.sent[start:] if r.method == "GET"]
    assert sorted(bulk.url.params["IDs"].split(",")) == sorted(i.lower() for i, _ in pushed)
    for n, (ledger_id, _) in enumerate(pushed, start=1):
        assert contact(xero, ledger_id)["EmailAddress"] == f"new.{n}@example.com"


async def test_an_update_after_its_prefetched_copy_was_used_reads_again(
    xero: InProcessXero,
) -> None:
    [(ledger_id, version)] = await customers(xero.ledger, 1)
    await xero.ledger.prefetch("customer", [ledger_id])
    await update(xero.ledger, 1, ledger_id, version)
    now = contact(xero, ledger_id)["UpdatedDateUTC"]
    start = len(xero.wire.sent)
    await update(xero.ledger, 1, ledger_id, now)
    # served once: the second update checks the version with a read of its own
    assert sent_since(xero, start) == Counter({"GET /Contacts/{id}": 1, "POST /Contacts/{id}": 1})


async def test_invoice_updates_and_voids_are_served_from_one_bulk_read(
    xero: InProcessXero,
) -> None:
    [(customer_id, _)] = await customers(xero.ledger, 1)
    created = []
    for n in range(1, 4):
        doc = invoice(id=f"INV-{n}", number=f"INV-{n}")
        created.append(
            await xero.ledger.create_invoice(
                doc,
                customer_ledger_id=customer_id,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=key("i", n),
            )
        )
    start = len(xero.wire.sent)
    await xero.ledger.prefetch("invoice", [p.ledger_id for p in created])
    for n, pushed in enumerate(created[:2], start=1):
        await xero.ledger.update_invoice(
            invoice("0.60", id=f"INV-{n}", number=f"INV-{n}", lines=_doubled()),
            ledger_id=pushed.ledger_id,
            version=pushed.version,
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/INV-{n}",
            idempotency_key=key("iu", n),
        )
    await xero.ledger.void_invoice(
        created[2].ledger_id, version=created[2].version, idempotency_key=key("v")
    )
    assert sent_since(xero, start) == Counter({"GET /Invoices": 1, "POST /Invoices/{id}": 3})
    statuses = [(await _record(xero, "invoice", p.ledger_id)) for p in created]
    assert [(r.total, r.status) for r in statuses] == [
        (Decimal("0.60"), "open"),
        (Decimal("0.60"), "open"),
        (Decimal("0.30"), "void"),
    ]


@pytest.mark.parametrize("prefetched", [True, False])
async def test_a_contact_changed_in_xero_is_refused_as_stale(
    xero: InProcessXero, prefetched: bool
) -> None:
    [(ledger_id, version)] = await customers(xero.ledger, 1)
    edit_in_xero(xero, ledger_id, "Renamed In Xero")
    if prefetched:
        await xero.ledger.prefetch("customer", [ledger_id])
    start = len(xero.wire.sent)
    with pytest.raises(StaleVersionError):
        await update(xero.ledger, 1, ledger_id, version)
    assert contact(xero, ledger_id)["Name"] == "Renamed In Xero"
    assert "POST /Contacts/{id}" not in sent_since(xero, start)
    # the refusal came from the prefetched copy when there was one: no read of its own
    assert ("GET /Contacts/{id}" in sent_since(xero, start)) is not prefetched


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
