"""Xero's multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A credit note applied to an invoice is two writes: ``PUT /CreditNotes``, then ``PUT
/CreditNotes/{id}/Allocations``. A payment with credit left over is two: the overpayment
(``PUT /BankTransactions``, ``RECEIVE-OVERPAYMENT``), then ``PUT
/Overpayments/{id}/Allocations`` of the part applied. A refund (``PUT /Payments`` naming the
credit), a payment applied in full, updates and voids are one request each.
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

#: the adapter sends a write up to 5 times itself (a 5xx: looked up, then resent under a
#: fresh key): 7 answers of 503 fail the step once, then let it through
_FAILS = 7

CASES: list[Case] = [
    Case(
        name="credit note allocated to an invoice",
        setup=(
            records.customer("MWXERO-C1"),
            records.invoice("MWXERO-I1", "MWXERO-C1"),
        ),
        records=(records.credit_note("MWXERO-CN1", "MWXERO-I1", "MWXERO-C1"),),
        second_write=r"^PUT /api\.xro/2\.0/CreditNotes/[^/?]+/Allocations\?",
        fails=_FAILS,
    ),
    Case(
        name="overpayment received, the applied part allocated to the invoice",
        setup=(
            records.customer("MWXERO-C2"),
            records.invoice("MWXERO-I2", "MWXERO-C2"),
        ),
        records=(records.payment("MWXERO-P2", "MWXERO-I2", "MWXERO-C2", "150.00"),),
        second_write=r"^PUT /api\.xro/2\.0/Overpayments/[^/?]+/Allocations\?",
        fails=_FAILS,
    ),
]
