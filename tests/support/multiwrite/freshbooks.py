"""FreshBooks' multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A credit note applied to an invoice is two writes: ``POST .../credit_notes/credit_notes``,
then ``POST .../payments/payments`` of a payment of type Credit on the invoice (it draws on
the client's credit; ``creditid`` is not written). Invoices, payments (FreshBooks keeps an
overpayment's excess as a credit itself), updates and voids are one request each;
refunds are refused.
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

CASES: list[Case] = [
    Case(
        name="credit note applied to an invoice",
        setup=(
            records.customer("MWFB-C1", email="mwfb-c1@example.com"),
            records.invoice("MWFB-I1", "MWFB-C1"),
        ),
        records=(records.credit_note("MWFB-CN1", "MWFB-I1", "MWFB-C1"),),
        second_write=r'^POST /accounting/account/[^/]+/payments/payments\?.*"type":"Credit"',
    ),
]
