"""Requests per record on FreshBooks (issue 17, "Fewer calls per record"), against the
sandbox in-process, counted by the recording transport, beyond the contract's
PrefetchSection: the bulk read's documented id search, what is not prefetched, and the
checks of payments and credit applications served from the invoice the sync just read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from syncledger.adapters.freshbooks.sandbox.errors import FreshBooksFault
from syncledger.adapters.freshbooks.sandbox.query import ListQuery
from syncledger.adapters.freshbooks.sandbox.service import resource
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.model import Customer, Invoice, InvoiceLine, Payment
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerUpdate,
    ItemWrite,
)
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support import documents
from tests.support.freshbooks import InProcessFreshBooks, in_process_freshbooks
from tests.support.writes import pay_invoice, write_customer, write_invoice

CLIENTS = resource("users/clients")


@pytest.fixture
async def fb() -> AsyncIterator[InProcessFreshBooks]:
    async with closed_after(in_process_freshbooks()) as env:
        yield env


def customer(n: int, **changes: object) -> Customer:
    """documents.customer, with an e-mail address."""
    return documents.customer(n, **({"email": f"c{n}@example.test"} | changes))


async def push_customer(env: InProcessFreshBooks, n: int) -> tuple[str, str | None]:
    pushed = await write_customer(env.ledger, customer(n), n)
    return pushed.ledger_id, pushed.version


async def update_customer(
    env: InProcessFreshBooks, n: int, ledger_id: str, version: str | None
) -> str | None:
    pushed = await env.ledger.update_customer(
        CustomerUpdate(
            customer(n, email=f"new.c{n}@example.test"),
            ledger_id=ledger_id,
            version=version,
            external_ref=f"csv/customer/C-{n}",
            idempotency_key=key("u", n),
        )
    )
    return pushed.version


def sent_since(env: InProcessFreshBooks, mark: int) -> list[tuple[str, str]]:
    return env.transport.sent[mark:]


# ------------------------------------------------------------ bulk read


async def test_the_bulk_read_asks_for_the_ids_with_the_documented_in_search(
    fb: InProcessFreshBooks,
) -> None:
    pushed = [await push_customer(fb, n) for n in range(1, 4)]
    asked: list[list[tuple[str, str]]] = []
    fb.transport.before = lambda request: asked.append(list(request.url.params.multi_items()))
    await fb.ledger.prefetch("customer", [pushed[0][0], pushed[2][0]])
    [params] = asked
    assert sorted(v for k, v in params if k == "search[userids][]") == sorted(
        [pushed[0][0], pushed[2][0]]
    )


async def test_the_sandbox_answers_the_in_search_with_exactly_the_clients_named(
    fb: InProcessFreshBooks,
) -> None:
    ids = [(await push_customer(fb, n))[0] for n in range(1, 4)]
    query = ListQuery.parse("client", [("search[userids][]", i) for i in (ids[0], ids[2])])
    listed = fb.sandbox.list(CLIENTS, query)
    assert sorted(str(c["id"]) for c in listed["clients"]) == sorted([ids[0], ids[2]])


def test_an_in_search_the_resource_does_not_list_is_refused() -> None:
    with pytest.raises(FreshBooksFault):
        ListQuery.parse("invoice", [("search[invoiceids][]", "1")])


async def test_kinds_without_an_in_search_are_not_prefetched(fb: InProcessFreshBooks) -> None:
    mark = len(fb.transport.sent)
    await fb.ledger.prefetch("invoice", ["1", "2"])
    assert sent_since(fb, mark) == []


# ------------------------------------------------------------ stale writes


async def test_a_bulk_read_older_than_our_own_write_is_not_served(
    fb: InProcessFreshBooks,
) -> None:
    ledger_id, _ = await push_customer(fb, 1)
    await fb.ledger.prefetch("customer", [ledger_id])
    # written without a version check: the prefetched copy is forgotten, not served later
    after = await update_customer(fb, 1, ledger_id, None)
    await update_customer(fb, 1, ledger_id, after)
    [client] = fb.sandbox.records("client")
    assert client["email"] == "new.c1@example.test"


# ------------------------------------------- checks served from the sync's read


def invoice(total: str = "0.30") -> Invoice:
    line = InvoiceLine(description="a", quantity="1", unit_price=total)
    return documents.invoice(total, due_date=date(2026, 5, 1), lines=(line,))


def payment(amount: str, n: int) -> Payment:
    return documents.payment(amount, id=f"PAY-{n}")


async def push_invoice(env: InProcessFreshBooks) -> str:
    customer_id, _ = await push_customer(env, 1)
    pushed = await write_invoice(env.ledger, customer_id, invoice())
    return pushed.ledger_id


async def pay(env: InProcessFreshBooks, invoice_id: str, amount: str, applied: str, n: int) -> str:
    return await pay_invoice(env.ledger, "C-1", invoice_id, payment(amount, n), applied, n=n)


async def test_a_payment_after_the_sync_read_its_invoice_sends_only_the_payment(
    fb: InProcessFreshBooks,
) -> None:
    invoice_id = await push_invoice(fb)
    read = await fb.ledger.get("invoice", invoice_id)
    assert read is not None and read.balance == Decimal("0.30")
    mark = len(fb.transport.sent)
    await pay(fb, invoice_id, "0.10", "0.10", 1)
    assert [m for m, _ in sent_since(fb, mark)] == ["POST"]
    assert [p["amount"]["amount"] for p in fb.sandbox.records("payment")] == ["0.10"]


async def test_a_read_made_before_our_own_payment_is_not_used_to_check_the_next(
    fb: InProcessFreshBooks,
) -> None:
    """Two payments of one batch, both planned on the invoice's balance before either was
    written: the second one's check reads FreshBooks again and sees the first."""
    invoice_id = await push_invoice(fb)
    await fb.ledger.get("invoice", invoice_id)
    await fb.ledger.get("invoice", invoice_id)
    await pay(fb, invoice_id, "0.10", "0.10", 1)
    with pytest.raises(PermanentLedgerError) as refused:
        await pay(fb, invoice_id, "0.25", "0.25", 2)  # FreshBooks would apply 0.20
    assert refused.value.code == "syncledger.applied_mismatch"
    assert [p["amount"]["amount"] for p in fb.sandbox.records("payment")] == ["0.10"]


async def test_a_credit_application_reads_the_invoice_again_after_our_payment_on_it(
    fb: InProcessFreshBooks,
) -> None:
    """The sync's read served the payment's check; the credit application after it reads
    FreshBooks again and sees the invoice paid."""
    invoice_id = await push_invoice(fb)
    await fb.ledger.get("invoice", invoice_id)
    await pay(fb, invoice_id, "0.30", "0.30", 1)  # the invoice owes nothing now
    note = documents.credit_note("0.10", description="a", invoice_id="INV-1")
    customer_id = str(fb.sandbox.records("client")[0]["id"])
    await fb.ledger.create_credit_note(
        CreditNoteWrite(
            note,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref="csv/credit_note/CN-1",
            idempotency_key=key("n", 1),
        )
    )
    credits = [p for p in fb.sandbox.records("payment") if p["amount"]["amount"] == "0.10"]
    assert credits == []  # nothing applied to a paid invoice


# ------------------------------------------------------------ matching


async def test_matching_a_customer_with_a_tax_id_is_one_scan_of_the_clients(
    fb: InProcessFreshBooks,
) -> None:
    named, _ = await push_customer(fb, 1)
    mark = len(fb.transport.sent)
    same_name = customer(9, name="customer 1", email="other@example.test", tax_id="DE 123")
    found = await fb.ledger.match_customer(same_name)
    assert [r.ledger_id for r in found] == [named]
    assert len(sent_since(fb, mark)) == 1


# ------------------------------------------------------------ items


async def test_an_item_create_whose_answer_was_lost_is_looked_up_before_sending_again() -> None:
    env = in_process_freshbooks(timeout=0.3)
    try:
        assert await env.ledger.find_item("Consulting") is None
        env.sandbox.commit_then_timeout_next(1)
        with pytest.raises(TransientLedgerError):
            await env.ledger.create_item(ItemWrite("Consulting", idempotency_key=key("item", 1)))
        made = await env.ledger.create_item(ItemWrite("Consulting", idempotency_key=key("item", 1)))
        assert env.sent("POST", "/items/items") == 1
        assert [r["name"] for r in env.sandbox.records("item")] == ["Consulting"]
        assert made.code == "Consulting"
    finally:
        await env.ledger.aclose()
        env.sandbox.close()
