"""What the reconciler calls an orphan."""

from __future__ import annotations

from decimal import Decimal

from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import compare


def test_an_orphan_is_a_ledger_record_with_our_reference_the_log_does_not_link() -> None:
    """A record carrying one of our references that nothing in the log links is a push
    we lost track of; a record without one is the bookkeeper's own (a payment received
    in the ledger) and is not reported."""
    ours = LedgerRecord("invoice", "L1", "1", "csv/invoice/INV-9", total=Decimal("10"))
    theirs = LedgerRecord("payment", "L2", "1", None, total=Decimal("10"))
    labelled = LedgerRecord("payment", "L3", "1", "Deposit 14 May", total=Decimal("10"))
    found = compare([], [ours, theirs, labelled])
    assert [(m.mismatch_type, m.ledger_ref) for m in found] == [("orphan_in_ledger", "L1")]
