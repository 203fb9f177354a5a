"""An incremental reconciliation: only what changed since the last run is compared again.

What changed comes from two sides:

- the **ledger**: the records its delta read (``LedgerAdapter.changes``) returns since the
  mirror's cursor (``core/reconcile_mirror.py``);
- the **log**: the expected records whose digest differs from the one the mirror kept
  when they were last compared (new, changed — a payment pushed since changes its
  invoice's paid amount — or no longer expected).

From those, a :class:`Scope`: the source refs compared again, the ledger ids whose orphan
status is checked again, the references whose duplicates are counted again and the
customers whose AR is summed again — each exactly the inputs the corresponding check of a
full run reads. Every open mismatch outside the scope stays open as it was; inside it,
what the checks find now replaces it. The result is what a full run over the same mirror
finds, under the same keys (tests/unit/test_reconcile_incremental.py holds both to that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile_ar import TYPE as AR_TYPE
from syncledger.core.reconcile_ar import ar_balances, explained
from syncledger.core.reconcile_compare import check_one, duplicates, orphans
from syncledger.core.reconcile_mirror import Compared, LedgerMirror
from syncledger.core.reconcile_model import Expected, Mismatch

Key = tuple[str, str]


@dataclass
class Scope:
    """What an incremental run compares again."""

    refs: set[str] = field(default_factory=set)
    ledger_ids: set[str] = field(default_factory=set)
    external_refs: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)

    def covers(self, m: Mismatch) -> bool:
        """The check that found ``m`` runs again in this scope."""
        if m.mismatch_type == "orphan_in_ledger":
            return (m.ledger_ref or "") in self.ledger_ids
        if m.mismatch_type == "duplicate_in_ledger":
            return (m.source_ref or "") in self.external_refs
        if m.mismatch_type == AR_TYPE:
            return (m.ledger_ref or "") in self.customers
        return (m.source_ref or "") in self.refs


class Overlay:
    """The mirror as it is after this run's delta (committed only at the end)."""

    def __init__(self, mirror: LedgerMirror, changed: Sequence[LedgerRecord]) -> None:
        self._mirror = mirror
        self.changed = {(r.kind, r.ledger_id): r for r in changed}
        self.before = mirror.get(self.changed)

    def get(self, keys: Iterable[Key]) -> dict[Key, LedgerRecord]:
        wanted = set(keys)
        found = self._mirror.get(wanted - self.changed.keys())
        found.update({k: r for k, r in self.changed.items() if k in wanted})
        return found

    def with_ids(self, ids: set[str]) -> list[LedgerRecord]:
        return self._merge(self._mirror.with_ids(ids), lambda r: r.ledger_id in ids)

    def with_refs(self, refs: set[str]) -> list[LedgerRecord]:
        return self._merge(self._mirror.with_refs(refs), lambda r: r.external_ref in refs)

    def invoices_of(self, customers: set[str]) -> list[LedgerRecord]:
        return self._merge(
            self._mirror.invoices_of(customers),
            lambda r: r.kind == "invoice" and r.customer_ledger_id in customers,
        )

    def _merge(
        self, stored: list[LedgerRecord], wanted: Callable[[LedgerRecord], bool]
    ) -> list[LedgerRecord]:
        out = {(r.kind, r.ledger_id): r for r in stored}
        for k, rec in self.changed.items():
            if wanted(rec):
                out[k] = rec
            else:
                out.pop(k, None)
        return list(out.values())


def changed_refs(digests: Mapping[str, str], before: Mapping[str, str]) -> set[str]:
    """Source refs whose expectation is new, changed or gone since the last comparison
    (``before``: the digests the mirror kept)."""
    moved = {ref for ref, d in digests.items() if before.get(ref) != d}
    return moved | (before.keys() - digests.keys())


def scope_of(
    expected: Sequence[Expected],
    moved: set[str],
    before: Mapping[str, Compared],
    overlay: Overlay,
) -> Scope:
    scope = Scope(refs=set(moved))
    by_ledger: dict[Key, list[str]] = {}
    for exp in expected:
        by_ledger.setdefault((exp.kind, exp.ledger_ref), []).append(exp.source_ref)
    for k in overlay.changed:
        scope.refs.update(by_ledger.get(k, ()))
    for ref in moved:
        old = before.get(ref)
        if old is not None:
            scope.ledger_ids.add(old.ledger_ref or "")
            scope.customers.add(old.customer_ledger_ref or "")
    for exp in expected:
        if exp.source_ref in scope.refs:
            scope.ledger_ids.add(exp.ledger_ref)
            scope.customers.add(exp.customer_ledger_ref or "")
    for rec in [*overlay.changed.values(), *overlay.before.values()]:
        scope.ledger_ids.add(rec.ledger_id)
        scope.external_refs.add(rec.external_ref or "")
        if rec.kind == "invoice":
            scope.customers.add(rec.customer_ledger_id or "")
    for bucket in (scope.ledger_ids, scope.external_refs, scope.customers):
        bucket.discard("")
    return scope


def recheck(
    expected: Sequence[Expected], scope: Scope, overlay: Overlay, kept: Iterable[Mismatch] = ()
) -> list[Mismatch]:
    """The mismatches a full run would find within ``scope``; ``kept``: the open ones
    outside it (the document mismatches that explain an AR difference are either)."""
    mine = [exp for exp in expected if exp.source_ref in scope.refs]
    held = overlay.get((exp.kind, exp.ledger_ref) for exp in mine)
    found = [m for exp in mine for m in check_one(exp, held.get((exp.kind, exp.ledger_ref)))]
    linked = {(exp.kind, exp.ledger_ref) for exp in expected}
    found.extend(orphans(overlay.with_ids(scope.ledger_ids), linked))
    found.extend(duplicates(overlay.with_refs(scope.external_refs)))
    invoices = overlay.invoices_of(scope.customers)
    why = explained([*found, *kept])
    found.extend(ar_balances(expected, invoices, only=scope.customers, explained_refs=why))
    return found


def carried(open_before: Mapping[str, Mismatch], scope: Scope) -> dict[str, Mismatch]:
    """The open mismatches no check of this run looks at again: still open."""
    return {k: m for k, m in open_before.items() if not scope.covers(m)}
