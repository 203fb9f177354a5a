"""Documents written as the ledger contract writes them (``LedgerContract.push_payment``
and its kin): the ``n``-th of a kind under ``csv/<kind>/<PREFIX>-<n>`` and its own key
``(<k>, n)``, so a test can write several. For the platform tests outside the contract
class (``tests/unit/test_<platform>_ledger.py``, ``…_calls.py``); a test that needs
another reference or key writes the request itself."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from syncledger.core.model import CreditNote, Customer, Invoice, Payment
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerWrite,
    InvoiceUpdate,
    InvoiceWrite,
    LedgerAdapter,
    PaymentWrite,
    PushResult,
)


def key(*parts: object) -> str:
    """A deterministic idempotency key, as the sync process derives one (sha256 hex)."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


async def write_customer(ledger: LedgerAdapter, doc: Customer, n: int = 1) -> PushResult:
    """``doc`` written under ``csv/customer/C-<n>``, key ``("c", n)``."""
    return await ledger.create_customer(
        CustomerWrite(doc, external_ref=f"csv/customer/C-{n}", idempotency_key=key("c", n))
    )


async def write_invoice(
    ledger: LedgerAdapter, customer_id: str, doc: Invoice, n: int = 1
) -> PushResult:
    """``doc`` written for ``customer_id`` under ``csv/invoice/INV-<n>``, key ``("i", n)``."""
    return await ledger.create_invoice(
        InvoiceWrite(
            doc,
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/INV-{n}",
            idempotency_key=key("i", n),
        )
    )


async def update_invoice(
    ledger: LedgerAdapter,
    customer_id: str,
    invoice_id: str,
    doc: Invoice,
    version: str | None,
    *again: object,
) -> PushResult:
    """``doc`` written over invoice ``invoice_id`` (at ``version``: None where the ledger
    reads it first) under ``csv/invoice/INV-1``, key ``("iu", *again)`` (``again``: what
    tells a test's updates apart)."""
    return await ledger.update_invoice(
        InvoiceUpdate(
            doc,
            ledger_id=invoice_id,
            version=version,
            customer_ledger_id=customer_id,
            external_ref="csv/invoice/INV-1",
            idempotency_key=key("iu", *again),
        )
    )


async def write_credit_note(
    ledger: LedgerAdapter, customer_id: str, invoice_id: str | None, doc: CreditNote, n: int = 1
) -> PushResult:
    """``doc`` written for ``customer_id`` (applied to ``invoice_id`` when named) under
    ``csv/credit_note/CN-<n>``, key ``("cn", n)``."""
    return await ledger.create_credit_note(
        CreditNoteWrite(
            doc,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=f"csv/credit_note/CN-{n}",
            idempotency_key=key("cn", n),
        )
    )


async def pay_invoice(
    ledger: LedgerAdapter,
    customer_id: str,
    invoice_id: str,
    doc: Payment,
    applied: str | None = None,
    *,
    n: int = 1,
    ref: str | None = None,
) -> str:
    """``doc`` paid on ``invoice_id``, ``applied`` of it (all when None) on the invoice,
    under ``csv/payment/<ref>`` (``PAY-<n>`` unless named) and key ``("p", n)``; its
    ledger id."""
    pushed = await ledger.apply_payment(
        PaymentWrite(
            doc,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=f"csv/payment/{ref or f'PAY-{n}'}",
            idempotency_key=key("p", n),
            applied=None if applied is None else Decimal(applied),
        )
    )
    return pushed.ledger_id
