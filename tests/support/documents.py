"""Canonical documents and push helpers shared by the adapter tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerWrite,
    InvoiceWrite,
    LedgerAdapter,
    PaymentWrite,
    PushResult,
    RefundWrite,
)
from tests.contracts.ledger_contract import key


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


def payment(amount: str = "0.30", n: int = 1, currency: str = "USD", **changes: object) -> Payment:
    """Payment P-``n`` of C-1 on INV-1, paid 2 April 2026; ``changes`` override any field."""
    fields: dict[str, object] = {
        "id": f"P-{n}",
        "customer_id": "C-1",
        "invoice_id": "INV-1",
        "amount": Decimal(amount),
        "currency": currency,
        "paid_on": date(2026, 4, 2),
    }
    return Payment.model_validate(fields | changes)


def credit_note(
    total: str = "5.00", currency: str = "USD", description: str = "refund", **changes: object
) -> CreditNote:
    """Credit note CN-1 of C-1 dated 3 April 2026, one line of ``total``."""
    fields: dict[str, object] = {
        "id": "CN-1",
        "number": "CN-1",
        "customer_id": "C-1",
        "issue_date": date(2026, 4, 3),
        "currency": currency,
        "lines": (InvoiceLine(description=description, quantity="1", unit_price=total),),
        "total": Decimal(total),
    }
    return CreditNote.model_validate(fields | changes)


def refund(amount: str, n: int = 1, **changes: object) -> Refund:
    """Refund R-``n`` to C-1 of ``amount`` USD on 5 April 2026; name its credit in ``changes``."""
    fields: dict[str, object] = {
        "id": f"R-{n}",
        "customer_id": "C-1",
        "amount": Decimal(amount),
        "currency": "USD",
        "refunded_on": date(2026, 4, 5),
    }
    return Refund.model_validate(fields | changes)


async def push_customer(ledger: LedgerAdapter, n: int = 1, currency: str = "USD") -> str:
    pushed = await ledger.create_customer(
        CustomerWrite(
            customer(n, currency), external_ref=f"csv/customer/C-{n}", idempotency_key=key("c", n)
        )
    )
    return pushed.ledger_id


async def push_invoice(ledger: LedgerAdapter, customer_id: str, doc: Invoice | None = None) -> str:
    pushed = await ledger.create_invoice(
        InvoiceWrite(
            doc or invoice(),
            customer_ledger_id=customer_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key=key("i"),
        )
    )
    return pushed.ledger_id


async def invoice_to_email(
    ledger: LedgerAdapter, email: str | None = "billing@acme.example"
) -> str:
    """An invoice in the ledger whose customer has ``email`` on file (None: no address);
    its ledger id."""
    who = Customer(id="C-1", name="Acme Plumbing", currency="USD", email=email)
    pushed = await ledger.create_customer(
        CustomerWrite(who, external_ref="csv/customer/C-1", idempotency_key="c1")
    )
    doc = Invoice(
        id="INV-1",
        number="INV-1",
        customer_id="C-1",
        issue_date=date(2026, 3, 1),
        currency="USD",
        lines=(InvoiceLine(description="Boiler service", quantity="1", unit_price="75.50"),),
        total=Decimal("75.50"),
    )
    result = await ledger.create_invoice(
        InvoiceWrite(
            doc,
            customer_ledger_id=pushed.ledger_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key="i1",
        )
    )
    return result.ledger_id


async def create_credit_note(
    ledger: LedgerAdapter, customer_id: str, doc: CreditNote, invoice_id: str | None = None
) -> PushResult:
    """``doc`` written for ``customer_id``, applied to ``invoice_id`` if one is named."""
    return await ledger.create_credit_note(
        CreditNoteWrite(
            doc,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=f"csv/credit_note/{doc.id}",
            idempotency_key=key("cn"),
        )
    )


async def apply_payment(
    ledger: LedgerAdapter,
    customer_id: str,
    invoice_id: str,
    doc: Payment,
    applied: Decimal | None = None,
) -> PushResult:
    """``doc`` paid on ``invoice_id``; ``applied`` of it (all when None) on the invoice."""
    return await ledger.apply_payment(
        PaymentWrite(
            doc,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=f"csv/payment/{doc.id}",
            idempotency_key=key("p"),
            applied=applied,
        )
    )


async def create_refund(
    ledger: LedgerAdapter, customer_id: str, credit_id: str, doc: Refund
) -> PushResult:
    """``doc`` paid out of the credit note or overpayment ``credit_id``."""
    return await ledger.create_refund(
        RefundWrite(
            doc,
            customer_ledger_id=customer_id,
            credit_kind=doc.credit_kind,
            credit_ledger_id=credit_id,
            external_ref=f"csv/refund/{doc.id}",
            idempotency_key=key("r"),
        )
    )
