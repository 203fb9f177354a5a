"""NetSuite's multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A void is two writes: the mirroring credit memo applied to the invoice in full
(``PUT …/creditMemo/eid:…``), then the ``syncledger-void:`` mark in the invoice memo
(``PATCH …/invoice/{id}``). Credit memos, payments and refunds carry their application in
their own ``apply`` sublist: one request each.
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

_INVOICE = records.invoice("MWNS-I1", "MWNS-C1")

CASES: list[Case] = [
    Case(
        name="void: credit memo, then the void mark",
        setup=(records.customer("MWNS-C1"), _INVOICE),
        records=(records.changed(_INVOICE, "2026-01-09T00:00:00", status="void"),),
        second_write=r"^PATCH /services/rest/record/v1/invoice/\d+\?.*syncledger-void:",
        fails=6,  # the mark is a PATCH the HTTP layer resends in place (5 attempts)
    ),
]
