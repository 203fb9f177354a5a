"""Xero invoice e-mail (``core.ports.InvoiceSender``) against the sandbox, in-process, beyond
the contract's SendSection: what a send carries, its idempotency keys, a lost answer
replayed, fixed recipients and drafts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import InvoiceDelivery
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import invoice_to_email
from tests.support.xero import InProcessXero, in_process_xero


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    async with closed_after(in_process_xero(timeout=0.3)) as xero:
        yield xero


def _emails(xero: InProcessXero) -> list[httpx.Request]:
    return [r for r in xero.wire.sent if r.url.path.endswith("/Email")]


def _to_draft(xero: InProcessXero, invoice_id: str) -> None:
    """Someone in Xero: the invoice back to a draft."""
    stored = xero.sandbox.book.get("Invoice", invoice_id)
    assert stored is not None
    xero.sandbox.book.save("Invoice", stored | {"Status": "DRAFT"})


async def test_a_send_names_neither_address_nor_time_and_each_has_its_own_key(
    xero: InProcessXero,
) -> None:
    """Once per send, to the address on file, read back: the contract's SendSection."""
    invoice_id = await invoice_to_email(xero.ledger)

    answered = await xero.ledger.send_invoice(invoice_id)
    await xero.ledger.send_invoice(invoice_id)

    assert answered == InvoiceDelivery(sent=True)
    first, second = _emails(xero)
    assert first.content == b"{}" and first.headers["content-type"] == "application/json"
    assert len(first.headers["idempotency-key"]) <= 128
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


async def test_a_send_whose_answer_was_lost_is_replayed_not_emailed_again(
    xero: InProcessXero,
) -> None:
    invoice_id = await invoice_to_email(xero.ledger)
    xero.sandbox.commit_then_timeout_next(1, stall_seconds=5.0)

    answered = await xero.ledger.send_invoice(invoice_id)

    assert answered.sent
    assert len(xero.sandbox.emails_sent(invoice_id)) == 1
    assert len({r.headers["idempotency-key"] for r in _emails(xero)}) == 1
    assert len(_emails(xero)) == 2  # the lost answer, then Xero's replay of it


async def test_to_is_refused_with_nothing_sent(xero: InProcessXero) -> None:
    invoice_id = await invoice_to_email(xero.ledger)

    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.send_invoice(invoice_id, to="accounts@acme.example")

    assert refused.value.code == "syncledger.xero_fixed_recipients"
    assert "contact's address on file" in str(refused.value)
    assert _emails(xero) == [] and xero.sandbox.emails_sent(invoice_id) == []


async def test_a_draft_is_refused_with_xeros_code_and_nothing_sent(xero: InProcessXero) -> None:
    invoice_id = await invoice_to_email(xero.ledger)
    _to_draft(xero, invoice_id)

    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.send_invoice(invoice_id)

    assert refused.value.code == "10"  # ValidationException
    assert "DRAFT" in str(refused.value) and "approve it" in str(refused.value)
    assert xero.sandbox.emails_sent(invoice_id) == []
    assert await xero.ledger.delivery(invoice_id) is None


async def test_a_contact_without_email_is_refused_saying_so(xero: InProcessXero) -> None:
    """The refusal itself: the contract's SendSection."""
    invoice_id = await invoice_to_email(xero.ledger, email=None)

    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.send_invoice(invoice_id)

    assert "no email address" in str(refused.value)


async def test_the_delivery_of_an_unknown_invoice_is_refused_with_xeros_404(
    xero: InProcessXero,
) -> None:
    with pytest.raises(PermanentLedgerError) as asked:
        await xero.ledger.delivery("00000000-0000-0000-0000-000000000001")
    assert asked.value.code == "404"
