"""A payment pushed as the ledger contract pushes one (``LedgerContract.push_payment``):
its reference ``csv/payment/PAY-<n>`` (or the one a test names) and its own key per
``n``, so a test can push several. For the platform tests that pay invoices outside the
contract class (``tests/unit/test_<platform>_ledger.py``, ``…_calls.py``)."""

from __future__ import annotations

from decimal import Decimal

from syncledger.core.model import Payment
from syncledger.core.ports import LedgerAdapter, PaymentWrite
from tests.contracts.ledger_contract import key


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
