"""Sage Accounting's multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A credit note applied to an invoice is two writes: ``POST /sales_credit_notes``, then
``POST /contact_allocations`` allocating it to the invoice. Receipts, refunds, voids and
invoice updates are one request each (their allocations travel in their own body).
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

CASES: list[Case] = [
    Case(
        name="credit note allocated to an invoice",
        setup=(
            records.customer("MWSAGE-C1"),
            records.invoice("MWSAGE-I1", "MWSAGE-C1"),
        ),
        records=(records.credit_note("MWSAGE-CN1", "MWSAGE-I1", "MWSAGE-C1"),),
        second_write=r"^POST /v3\.1/contact_allocations\?",
        fails=6,  # the allocation carries an idempotency_id: the HTTP layer retries it 5 times
    ),
]
