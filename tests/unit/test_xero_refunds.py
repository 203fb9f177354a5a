"""Whose credit a Xero refund is paid out of (adapters/xero/refunds.py): a refund out of
another contact's credit note or overpayment is refused before anything is written, and
checking it costs no request when the adapter wrote the credit note, one ``GET`` when it
did not (shared with the foreign-currency rate's read), none beyond the overpayment read a
refund of a payment always made. The contract's RefundRefusalSection covers the refusal's
code on a credit note the adapter wrote. A refund in another currency than its credit's is
refused the same way (QBO's code), in the home currency too, on the same reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from syncledger.adapters.xero.ledger import API, XeroLedger
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice, InvoiceLine, Refund
from syncledger.core.ports import PushResult, RefundWrite
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support import documents
from tests.support.documents import (
    apply_payment,
    create_credit_note,
    create_refund,
    push_customer,
    push_invoice,
)
from tests.support.xero import BASE_URL, TENANT, InProcessXero, Wire, in_process_xero, xero_auth

CREDIT_OF_ANOTHER = "syncledger.credit_of_another_customer"


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    async with closed_after(in_process_xero(per_window=1000, window=60.0)) as env:
        yield env


@pytest.fixture
async def restarted(xero: InProcessXero) -> AsyncIterator[XeroLedger]:
    """A second adapter on the same organisation (a restarted worker): it wrote nothing."""
    ledger = XeroLedger.connect(
        tenant_id=TENANT,
        auth=xero_auth(xero.store),
        base_url=BASE_URL,
        transport=xero.wire,
        retry=xero.retry,
    )
    yield ledger
    await ledger.aclose()


def api_sent(wire: Wire, start: int) -> list[str]:
    """The API requests sent after the ``start``-th, as ``METHOD /Collection[/{id}]``
    (OAuth token requests and the organisation's currency, read once, left out)."""
    sent = []
    for request in wire.sent[start:]:
        path = request.url.path.removeprefix(API)
        if request.url.path.startswith(API) and path != "/Organisation":
            parts = path.split("/")
            sent.append(f"{request.method} {'/'.join(parts[:2] + ['{id}'] * len(parts[2:]))}")
    return sent


def credit_note(currency: str = "USD", rate: Decimal | None = None) -> CreditNote:
    return documents.credit_note("10.00", currency, exchange_rate=rate)


async def push_credit_note(
    ledger: XeroLedger, customer_id: str, currency: str = "USD", rate: Decimal | None = None
) -> str:
    pushed = await create_credit_note(ledger, customer_id, credit_note(currency, rate))
    return pushed.ledger_id


def refund(amount: str, currency: str = "USD", **credit: str) -> Refund:
    dated = {"refunded_on": date(2026, 4, 9), "reference": "RF 1"}
    return documents.refund(amount, currency=currency, **dated, **credit)


async def refund_of_note(
    ledger: XeroLedger, customer_id: str, note_id: str, currency: str = "USD"
) -> PushResult:
    return await create_refund(
        ledger, customer_id, note_id, refund("4.00", currency, credit_note_id="CN-1")
    )


async def remaining_credit(ledger: XeroLedger, kind: str, ledger_id: str) -> Decimal | None:
    record = await ledger.get(kind, ledger_id)
    assert record is not None
    return record.balance


async def test_a_refund_of_a_credit_note_the_adapter_wrote_is_one_request(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    note_id = await push_credit_note(xero.ledger, customer_id)
    start = len(xero.wire.sent)
    # the contact's id as another part of syncledger may spell it: a GUID ignores case
    await refund_of_note(xero.ledger, customer_id.upper(), note_id)
    assert api_sent(xero.wire, start) == ["PUT /Payments"]
    assert await remaining_credit(xero.ledger, "credit_note", note_id) == Decimal("6.00")


async def test_another_customers_credit_note_the_adapter_wrote_is_refused_unsent(
    xero: InProcessXero,
) -> None:
    owner = await push_customer(xero.ledger)
    stranger = await push_customer(xero.ledger, 2)
    note_id = await push_credit_note(xero.ledger, owner)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(xero.ledger, stranger, note_id)
    assert api_sent(xero.wire, start) == []
    assert refused.value.code == CREDIT_OF_ANOTHER
    assert (note_id in str(refused.value), owner in str(refused.value)) == (True, True)
    assert xero.sandbox.count("refund") == 0
    assert await remaining_credit(xero.ledger, "credit_note", note_id) == Decimal("10.00")


async def test_a_credit_note_written_elsewhere_is_read_once_then_refunded(
    xero: InProcessXero, restarted: XeroLedger
) -> None:
    customer_id = await push_customer(xero.ledger)
    note_id = await push_credit_note(xero.ledger, customer_id)
    start = len(xero.wire.sent)
    await refund_of_note(restarted, customer_id, note_id)
    assert api_sent(xero.wire, start) == ["GET /CreditNotes/{id}", "PUT /Payments"]
    assert xero.sandbox.count("refund") == 1


async def test_another_customers_credit_note_written_elsewhere_is_refused_after_one_read(
    xero: InProcessXero, restarted: XeroLedger
) -> None:
    owner = await push_customer(xero.ledger)
    stranger = await push_customer(xero.ledger, 2)
    note_id = await push_credit_note(xero.ledger, owner)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(restarted, stranger, note_id)
    assert api_sent(xero.wire, start) == ["GET /CreditNotes/{id}"]
    assert refused.value.code == CREDIT_OF_ANOTHER
    assert xero.sandbox.count("refund") == 0


async def test_a_foreign_refund_reads_the_credit_note_once_for_its_contact_and_rate(
    xero: InProcessXero, restarted: XeroLedger
) -> None:
    customer_id = await push_customer(xero.ledger, currency="EUR")
    note_id = await push_credit_note(
        xero.ledger, customer_id, currency="EUR", rate=Decimal("0.9150")
    )
    await restarted.get("customer", customer_id)  # its organisation's currency is read
    start = len(xero.wire.sent)
    await refund_of_note(restarted, customer_id, note_id, "EUR")
    assert api_sent(xero.wire, start) == ["GET /CreditNotes/{id}", "PUT /Payments"]
    [stored] = xero.sandbox.records("refund")
    assert stored["CurrencyRate"] == Decimal("0.9150")


async def test_a_credit_note_xero_does_not_hold_is_refused_unsent(
    xero: InProcessXero, restarted: XeroLedger
) -> None:
    customer_id = await push_customer(xero.ledger)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(restarted, customer_id, "0a1b2c3d-0000-4000-8000-000000000000")
    assert refused.value.code == "404"
    assert api_sent(xero.wire, start) == ["GET /CreditNotes/{id}"]


async def overpaid(xero: InProcessXero, customer_id: str) -> str:
    """A 1.00 payment of which 0.30 is applied to an invoice: 0.70 of credit left."""
    invoice_id = await push_invoice(xero.ledger, customer_id)
    return await overpay(xero.ledger, customer_id, invoice_id, "USD")


async def overpay(ledger: XeroLedger, customer_id: str, invoice_id: str, currency: str) -> str:
    """1.00 of ``currency`` paid on the invoice, 0.30 of it applied: 0.70 of credit left."""
    doc = documents.payment("1.00", currency=currency, reference="CHK 1")
    pushed = await apply_payment(ledger, customer_id, invoice_id, doc, Decimal("0.30"))
    return pushed.ledger_id


async def refund_of_overpayment(
    ledger: XeroLedger, customer_id: str, overpayment_id: str
) -> PushResult:
    return await create_refund(
        ledger, customer_id, overpayment_id, refund("0.70", payment_id="P-1")
    )


async def test_another_customers_overpayment_is_refused_with_no_read_beyond_its_own(
    xero: InProcessXero,
) -> None:
    owner = await push_customer(xero.ledger)
    stranger = await push_customer(xero.ledger, 2)
    overpayment_id = await overpaid(xero, owner)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_overpayment(xero.ledger, stranger, overpayment_id)
    assert refused.value.code == CREDIT_OF_ANOTHER
    assert api_sent(xero.wire, start) == ["GET /Overpayments/{id}"]
    assert xero.sandbox.count("refund") == 0
    assert await remaining_credit(xero.ledger, "payment", overpayment_id) == Decimal("0.70")
    await refund_of_overpayment(xero.ledger, owner, overpayment_id)
    assert xero.sandbox.count("refund") == 1


# ------------------------------------------------ a refund in another currency than its credit
#: the code QBO and Zoho Books give the same refusal
OTHER_CURRENCY = "syncledger.credit_in_another_currency"


def api_paths(wire: Wire, start: int) -> list[str]:
    """Every request sent after the ``start``-th, the organisation's and tokens' included."""
    return [f"{r.method} {r.url.path.removeprefix(API)}" for r in wire.sent[start:]]


async def euro_note(ledger: XeroLedger) -> tuple[str, str]:
    """A EUR customer of the USD organisation and a 10.00 EUR credit note of theirs."""
    customer_id = await push_customer(ledger, currency="EUR")
    return customer_id, await push_credit_note(ledger, customer_id, "EUR", Decimal("0.9150"))


async def test_a_home_currency_refund_of_a_foreign_credit_note_is_refused_unsent(
    xero: InProcessXero,
) -> None:
    """Xero would pay 4.00 of the note's EUR: no conversion at an assumed rate."""
    customer_id, note_id = await euro_note(xero.ledger)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(xero.ledger, customer_id, note_id, "USD")
    assert api_paths(xero.wire, start) == []
    assert refused.value.code == OTHER_CURRENCY
    said = str(refused.value)
    assert ("in USD" in said, "is in EUR" in said, note_id in said) == (True, True, True)
    assert xero.sandbox.count("refund") == 0
    assert await remaining_credit(xero.ledger, "credit_note", note_id) == Decimal("10.00")


async def test_a_home_currency_refund_of_a_foreign_note_written_elsewhere_reads_it_once(
    xero: InProcessXero, restarted: XeroLedger
) -> None:
    customer_id, note_id = await euro_note(xero.ledger)
    await restarted.get("customer", customer_id)  # its token is in hand
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(restarted, customer_id, note_id, "USD")
    assert api_paths(xero.wire, start) == [f"GET /CreditNotes/{note_id}"]
    assert refused.value.code == OTHER_CURRENCY
    assert xero.sandbox.count("refund") == 0


async def test_a_foreign_refund_of_a_home_currency_credit_note_is_refused_unsent(
    xero: InProcessXero,
) -> None:
    customer_id = await push_customer(xero.ledger)
    note_id = await push_credit_note(xero.ledger, customer_id)
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await refund_of_note(xero.ledger, customer_id, note_id, "EUR")
    assert refused.value.code == OTHER_CURRENCY
    assert api_sent(xero.wire, start) == []
    assert await remaining_credit(xero.ledger, "credit_note", note_id) == Decimal("10.00")


async def euro_overpayment(xero: InProcessXero) -> tuple[str, str]:
    """A EUR customer's 1.00 EUR payment of which 0.30 is applied: 0.70 EUR of credit."""
    customer_id = await push_customer(xero.ledger, currency="EUR")
    euro = Invoice(
        id="INV-1",
        number="INV-1",
        customer_id="C-1",
        issue_date=date(2026, 4, 1),
        currency="EUR",
        exchange_rate=Decimal("1.0850"),
        lines=(InvoiceLine(description="service", quantity="1", unit_price="0.30"),),
        total=Decimal("0.30"),
    )
    invoice_id = await push_invoice(xero.ledger, customer_id, euro)
    return customer_id, await overpay(xero.ledger, customer_id, invoice_id, "EUR")


async def test_a_home_currency_refund_of_a_foreign_overpayment_is_refused_after_its_read(
    xero: InProcessXero,
) -> None:
    customer_id, overpayment_id = await euro_overpayment(xero)
    refunds = {c: refund("0.70", c, payment_id="P-1") for c in ("USD", "EUR")}
    start = len(xero.wire.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await xero.ledger.create_refund(
            RefundWrite(
                refunds["USD"],
                customer_ledger_id=customer_id,
                credit_kind="payment",
                credit_ledger_id=overpayment_id,
                external_ref="csv/refund/R-1",
                idempotency_key=key("r"),
            )
        )
    assert api_paths(xero.wire, start) == [f"GET /Overpayments/{overpayment_id}"]
    assert refused.value.code == OTHER_CURRENCY
    assert xero.sandbox.count("refund") == 0
    assert await remaining_credit(xero.ledger, "payment", overpayment_id) == Decimal("0.70")
    await xero.ledger.create_refund(
        RefundWrite(
            refunds["EUR"],
            customer_ledger_id=customer_id,
            credit_kind="payment",
            credit_ledger_id=overpayment_id,
            external_ref="csv/refund/R-1",
            idempotency_key=key("r", 2),
        )
    )
    assert xero.sandbox.count("refund") == 1
