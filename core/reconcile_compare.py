"""The whole-book comparison (DESIGN §10): every expected record against the ledger record
the log links it to (``core/reconcile_checks.py``), then what only the whole book shows —
orphans (records carrying our reference the log does not link), duplicates, and the AR
balance per customer and currency (``core/reconcile_ar.py``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile_ar import ar_balances, explained
from syncledger.core.reconcile_checks import check_record
from syncledger.core.reconcile_model import Expected, Mismatch, key

_GONE = ("void", "deleted")


def compare(expected: Iterable[Expected], held: Iterable[LedgerRecord]) -> list[Mismatch]:
    """Pure comparison of the whole book: per record, orphans, duplicates, AR."""
    expected = list(expected)
    by_id = {(r.kind, r.ledger_id): r for r in held}
    found = [m for exp in expected for m in check_one(exp, by_id.get((exp.kind, exp.ledger_ref)))]
    linked = {(exp.kind, exp.ledger_ref) for exp in expected}
    found.extend(orphans(by_id.values(), linked))
    found.extend(duplicates(by_id.values()))
    invoices = [r for r in by_id.values() if r.kind == "invoice"]
    found.extend(ar_balances(expected, invoices, explained_refs=explained(found)))
    return found


def check_one(exp: Expected, rec: LedgerRecord | None) -> list[Mismatch]:
    """``exp`` against the ledger record it is linked to (None: the ledger has none)."""
    if rec is None or rec.status == "deleted":
        return [
            Mismatch(
                key("missing_in_ledger", exp.source_ref, exp.ledger_ref),
                "missing_in_ledger",
                exp.source_ref,
                exp.ledger_ref,
                at_stake=exp.total,
                currency=exp.currency,
            )
        ]
    return check_record(exp, rec)


def orphans(held: Iterable[LedgerRecord], linked: set[tuple[str, str]]) -> list[Mismatch]:
    """Ledger records carrying our reference that nothing in the log links."""
    return [
        Mismatch(
            key("orphan_in_ledger", rec.external_ref, rec.ledger_id),
            "orphan_in_ledger",
            rec.external_ref,
            rec.ledger_id,
            at_stake=rec.total,
            currency=rec.currency,
        )
        for rec in held
        if (rec.kind, rec.ledger_id) not in linked
        and rec.status not in _GONE
        and _ours(rec.external_ref)
    ]


def _ours(external_ref: str | None) -> bool:
    """The ledger record carries one of our references (``system/kind/id``): pushed for a
    source record. One without is the bookkeeper's own (a payment received, an invoice
    raised in the ledger) and is none of the reconciler's business."""
    if not external_ref:
        return False
    try:
        RecordRef.parse(external_ref)
    except ValueError:
        return False
    return True


def duplicates(held: Iterable[LedgerRecord]) -> list[Mismatch]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rec in held:
        if rec.external_ref and rec.status not in _GONE:
            groups[(rec.kind, rec.external_ref)].append(rec.ledger_id)
    return [
        Mismatch(
            key("duplicate_in_ledger", ref, ",".join(sorted(ids))),
            "duplicate_in_ledger",
            ref,
            ",".join(sorted(ids)),
            "1",
            str(len(ids)),
        )
        for (_, ref), ids in sorted(groups.items())
        if len(ids) > 1
    ]
