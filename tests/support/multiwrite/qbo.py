"""QuickBooks Online's multi-write operations, for ``tests/e2e/test_multi_write_faults.py``.

A credit note applied to an invoice is two writes: ``POST /creditmemo``, then the zero
``Payment`` linking the credit memo and the invoice (its ``PrivateNote`` says
``syncledger-applies: <credit note ref>``). A refund is two: the cheque (``POST
/purchase``), then the payment line that pays it out of the credit — a zero ``Payment``
spending a credit memo (``syncledger-applies: <refund ref>``), or a sparse update of the
overpaying ``Payment`` adding a ``Check`` line. Invoices, payments, updates and voids are
one request each.
"""

from __future__ import annotations

from tests.support import records
from tests.support.multiwrite import Case

_PAYMENT_WRITE = r"^POST /v3/company/[^/]+/payment\?"
#: every write carries a ``requestid``, so the HTTP layer retries it in place (5 attempts):
#: 7 answers of 503 fail the step once, then let it through
_FAILS = 7

CASES: list[Case] = [
    Case(
        name="credit memo applied to an invoice",
        setup=(
            records.customer("MWQBO-C1"),
            records.invoice("MWQBO-I1", "MWQBO-C1"),
        ),
        records=(records.credit_note("MWQBO-CN1", "MWQBO-I1", "MWQBO-C1"),),
        second_write=_PAYMENT_WRITE + r".*syncledger-applies: csv/credit_note/MWQBO-CN1",
        fails=_FAILS,
    ),
    Case(
        name="refund cheque paid out of a credit memo",
        setup=(
            records.customer("MWQBO-C2"),
            records.credit_note("MWQBO-CN2", None, "MWQBO-C2", amount="30.00"),
        ),
        records=(records.refund("MWQBO-R2", "MWQBO-C2", "30.00", credit_note_id="MWQBO-CN2"),),
        second_write=_PAYMENT_WRITE + r".*syncledger-applies: csv/refund/MWQBO-R2",
        fails=_FAILS,
    ),
    Case(
        name="refund cheque paid out of an overpayment",
        setup=(
            records.customer("MWQBO-C3"),
            records.invoice("MWQBO-I3", "MWQBO-C3"),
            records.payment("MWQBO-P3", "MWQBO-I3", "MWQBO-C3", "150.00"),
        ),
        records=(records.refund("MWQBO-R3", "MWQBO-C3", "40.00", payment_id="MWQBO-P3"),),
        second_write=_PAYMENT_WRITE + r'.*"sparse":true.*"TxnType":"Check"',
        fails=_FAILS,
    ),
]
