"""QBO invoice e-mail (``core.ports.InvoiceSender``) against the sandbox, in-process, beyond
the contract's SendSection: what a send carries on the wire, ``sendTo``, QBO's own refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import InvoiceDelivery
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import invoice_to_email
from tests.support.qbo import BASE_URL, REALM, InProcessQbo, in_process_qbo


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    async with closed_after(in_process_qbo(per_second=25)) as qbo:
        yield qbo


def _sends(qbo: InProcessQbo) -> list[httpx.Request]:
    return [r for r in qbo.transport.requests if r.url.path.endswith("/send")]


async def test_a_send_names_its_address_and_time_and_posts_nothing(qbo: InProcessQbo) -> None:
    """Once per send, to the address on file, read back: the contract's SendSection."""
    invoice_id = await invoice_to_email(qbo.ledger)

    answered = await qbo.ledger.send_invoice(invoice_id)

    [(to, at)] = qbo.sandbox.emails_sent(invoice_id)
    assert answered.to == to and answered.at is not None
    assert answered.at.isoformat(timespec="milliseconds") == at
    [send] = _sends(qbo)
    assert send.headers["content-type"] == "application/octet-stream"
    assert send.content == b""
    assert "requestid" not in send.url.params  # a send is never replayed as another


async def test_to_reaches_qbo_as_send_to(qbo: InProcessQbo) -> None:
    invoice_id = await invoice_to_email(qbo.ledger)

    answered = await qbo.ledger.send_invoice(invoice_id, to="accounts@acme.example")

    [send] = _sends(qbo)
    assert send.url.params["sendTo"] == "accounts@acme.example"
    assert [to for to, _ in qbo.sandbox.emails_sent(invoice_id)] == ["accounts@acme.example"]
    assert answered.sent and answered.to == "accounts@acme.example"
    [stored] = qbo.sandbox.records("invoice")
    assert stored["BillEmail"] == {"Address": "accounts@acme.example"}


async def test_no_address_anywhere_is_refused_before_asking_qbo(qbo: InProcessQbo) -> None:
    """The refusal itself: the contract's SendSection."""
    invoice_id = await invoice_to_email(qbo.ledger, email=None)

    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.send_invoice(invoice_id)

    assert "give the customer one" in str(refused.value)
    assert _sends(qbo) == []


async def test_a_to_that_is_no_address_is_refused_before_sending(qbo: InProcessQbo) -> None:
    invoice_id = await invoice_to_email(qbo.ledger)

    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.send_invoice(invoice_id, to="not-an-address")

    assert refused.value.code == "syncledger.email_invalid"
    assert _sends(qbo) == [] and qbo.sandbox.emails_sent(invoice_id) == []


async def test_qbo_refusing_the_send_keeps_its_code_and_records_nothing(
    qbo: InProcessQbo,
) -> None:
    invoice_id = await invoice_to_email(qbo.ledger)
    qbo.transport.before = _drop_send_to  # QBO is asked with no address at all

    with pytest.raises(PermanentLedgerError) as refused:
        await qbo.ledger.send_invoice(invoice_id, to="accounts@acme.example")

    assert refused.value.code == "6000"  # the sandbox's refusal (send.no_address)
    assert "not e-mailed" in str(refused.value) and "send again" in str(refused.value)
    assert qbo.sandbox.emails_sent(invoice_id) == []
    assert await qbo.ledger.delivery(invoice_id) == InvoiceDelivery(sent=False)


async def test_the_sandbox_refuses_another_content_type(qbo: InProcessQbo) -> None:
    invoice_id = await invoice_to_email(qbo.ledger)
    transport = httpx.ASGITransport(app=qbo.app)
    qbo.sandbox.require_auth = False
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        answer = await client.post(
            f"/v3/company/{REALM}/invoice/{invoice_id}/send",
            params={"sendTo": "accounts@acme.example"},
            json={},
        )

    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "6000"
    assert qbo.sandbox.emails_sent(invoice_id) == []


def _drop_send_to(request: httpx.Request) -> None:
    if request.url.path.endswith("/send"):
        request.url = request.url.copy_remove_param("sendTo")
