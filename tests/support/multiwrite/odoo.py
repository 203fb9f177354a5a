"""Odoo's multi-write operations, for ``tests/e2e/test_multi_write_faults.py`` (served
sandbox, JSON-2: every call is ``POST /json/2/<model>/<method>``, one transaction).

An invoice is two writes: ``account.move`` ``create`` (a draft), then ``action_post``. A
credit note applied to an invoice is three: ``create``, ``action_post``, then
``js_assign_outstanding_line`` on the invoice. A payment applied to nothing (its invoice
already paid) is ``account.payment`` ``create``, then ``action_post``. An invoice update
is ``button_draft``, ``write``, ``action_post``. Payments applied to an invoice and refunds
are one write each (the register wizard's ``action_create_payments``).
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

_UPDATED_LINES = [
    {
        "description": "Service call",
        "quantity": "3",
        "unit_price": "50.00",
        "tax_amount": "15.00",
        "line_type": "service",
    }
]
_UPDATED = records.invoice("MWODOO-I4", "MWODOO-C4")

CASES: list[Case] = [
    Case(
        name="invoice created as a draft, then posted",
        setup=(records.customer("MWODOO-C1"),),
        records=(records.invoice("MWODOO-I1", "MWODOO-C1"),),
        second_write=r"^POST /json/2/account\.move/action_post\?",
    ),
    Case(
        name="credit note created, posted, then applied to its invoice",
        setup=(
            records.customer("MWODOO-C2"),
            records.invoice("MWODOO-I2", "MWODOO-C2"),
        ),
        records=(records.credit_note("MWODOO-CN2", "MWODOO-I2", "MWODOO-C2"),),
        second_write=r"^POST /json/2/account\.move/js_assign_outstanding_line\?",
    ),
    Case(
        name="payment on a paid invoice created, then posted",
        setup=(
            records.customer("MWODOO-C3"),
            records.invoice("MWODOO-I3", "MWODOO-C3"),
            records.payment("MWODOO-P3", "MWODOO-I3", "MWODOO-C3", "110.00"),
        ),
        records=(records.payment("MWODOO-P3B", "MWODOO-I3", "MWODOO-C3", "25.00"),),
        second_write=r"^POST /json/2/account\.payment/action_post\?",
    ),
    Case(
        name="invoice update: reset to draft, written, posted again",
        setup=(records.customer("MWODOO-C4"), _UPDATED),
        records=(
            records.changed(_UPDATED, "2026-01-02T01:00:00", lines=_UPDATED_LINES, total="165.00"),
        ),
        second_write=r"^POST /json/2/account\.move/write\?",
    ),
]
