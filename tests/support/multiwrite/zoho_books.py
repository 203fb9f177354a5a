"""Zoho Books' multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A credit note applied to an invoice is two writes: ``POST /creditnotes``, then ``POST
/creditnotes/{id}/invoices`` applying it. An invoice is two: ``POST /invoices`` (a
draft), then ``POST /invoices/{id}/status/sent`` (the default mapping's ``mark_sent``).
Payments, refunds, updates and voids are one request each.
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

CASES: list[Case] = [
    Case(
        name="credit note applied to an invoice",
        setup=(
            records.customer("MWZOHO-C1"),
            records.invoice("MWZOHO-I1", "MWZOHO-C1"),
        ),
        records=(records.credit_note("MWZOHO-CN1", "MWZOHO-I1", "MWZOHO-C1"),),
        second_write=r"^POST /books/v3/creditnotes/\d+/invoices\?",
    ),
    Case(
        name="invoice created as a draft, then marked as sent",
        setup=(records.customer("MWZOHO-C2"),),
        records=(records.invoice("MWZOHO-I2", "MWZOHO-C2"),),
        second_write=r"^POST /books/v3/invoices/\d+/status/sent\?",
    ),
]
