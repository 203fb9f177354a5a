"""The reconciler (DESIGN §10): what the log says vs what the ledger holds.

Per record (``core/reconcile_checks.py``): presence, amount, tax, currency, each
application (a payment to its invoice, a credit note to its invoice, a refund to the
credit it pays out, for the amount the push meant), a credit note the log meant to apply
that the ledger holds unapplied, an invoice's status and amount paid/open, due date, line
item codes and a customer's name. Over the book: records carrying our reference that the
log does not link (orphans), duplicates, and the AR balance per customer and currency
(``core/reconcile_ar.py``). docs/reconciliation.md lists every type.

A run is *full* (every record of every kind read from the ledger) or *incremental*
(``core/reconcile_incremental.py``: only what the ledger's delta read says changed since
the last run, against the mirror of ``core/reconcile_mirror.py``, and only the records
those changes — or changes in the log — touch are compared again). Both give the same
mismatches under the same keys (type + refs), so re-running is idempotent: new
disagreements become ``MismatchDetected``, cleared ones ``MismatchResolved``, nothing is
appended when nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from syncledger.core.events import (
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    make_envelope,
)
from syncledger.core.ids import uuid7
from syncledger.core.pii_names import NameDigest
from syncledger.core.ports import LedgerAdapter, LedgerRecord
from syncledger.core.reconcile_compare import compare
from syncledger.core.reconcile_incremental import Overlay, carried, changed_refs, recheck, scope_of
from syncledger.core.reconcile_mirror import Compared, LedgerMirror, digest
from syncledger.core.reconcile_model import Expected, Mismatch
from syncledger.core.store import EventStore
from syncledger.core.subjects import recon_subject

__all__ = ["KINDS", "Expected", "Mismatch", "ReconReport", "Reconciler", "compare"]

KINDS = ("customer", "invoice", "payment", "credit_note", "refund")


@dataclass
class ReconReport:
    run_id: str
    ledger: str
    checked: int
    open: list[Mismatch] = field(default_factory=list)
    detected: list[Mismatch] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    ledger_duplicates: int = 0
    #: "full": every ledger record read; "incremental": only the delta since the last run
    mode: Literal["full", "incremental"] = "full"
    #: ledger records read, and expected records compared again, by this run
    read: int = 0
    compared: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ledger": self.ledger,
            "checked": self.checked,
            "mode": self.mode,
            "ledger_records_read": self.read,
            "compared": self.compared,
            "open_mismatches": [_plain(m) for m in self.open],
            "detected": len(self.detected),
            "resolved": len(self.resolved),
            "ledger_duplicates": self.ledger_duplicates,
        }

    def text(self) -> str:
        lines = [
            f"Reconciliation {self.run_id} against {self.ledger} ({self.mode}, "
            f"{self.read} ledger records read): {self.checked} records "
            f"checked, {len(self.open)} open mismatches ({len(self.detected)} new, "
            f"{len(self.resolved)} resolved), {self.ledger_duplicates} ledger duplicates"
        ]
        for m in self.open:
            detail = f" expected {m.expected}, ledger has {m.actual}" if m.expected else ""
            lines.append(
                f"  {m.mismatch_type:<18} {m.source_ref or '-'} -> {m.ledger_ref or '-'}{detail}"
            )
        return "\n".join(lines)


def _plain(m: Mismatch) -> dict[str, Any]:
    """A mismatch as JSON-able values (money as a string, never a float)."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(m).items()}


def _compared(exp: Expected) -> Compared:
    return Compared(digest(exp), exp.ledger_ref, exp.customer_ledger_ref)


async def fetch_ledger(ledger: LedgerAdapter, kinds: Iterable[str] = KINDS) -> list[LedgerRecord]:
    return [rec for kind in kinds async for rec in ledger.list_all(kind)]


#: a delta read starts this long before the last read did (by our clock): a ledger whose
#: clock runs behind ours, or that stamps a change before it is visible, is read again
#: rather than missed (reading a record twice changes nothing); the daily full sweep
#: catches what a delta read cannot tell (a record deleted without a trace)
OVERLAP = timedelta(minutes=5)
#: how often a full sweep runs (``SYNCLEDGER_RECONCILE_FULL_EVERY_S``'s default: daily)
FULL_EVERY_S = 86_400.0


class Reconciler:
    """Compares the log's expectations with the ledger and records what changed.

    Without a ``mirror`` every run is full. With one, a run is full when asked
    (``full=True``, ``syncledger reconcile --full``), when the mirror has never been
    filled, or when the last full sweep is ``full_every_s`` old; otherwise incremental.

    ``names``: the entity's name digest (``core/pii_names.py``); customers' names read from
    the ledger are turned into it as soon as they are read, so they are compared with the
    source's (sealed) names by digest and the mirror keeps no name. Without it, customer
    names are compared only against names an old event kept in clear."""

    def __init__(
        self,
        store: EventStore,
        ledger: LedgerAdapter,
        *,
        entity: str,
        actor: str,
        mirror: LedgerMirror | None = None,
        full_every_s: float = FULL_EVERY_S,
        names: NameDigest | None = None,
    ) -> None:
        self._names = names
        self._store = store
        self._ledger = ledger
        self._entity = entity
        self._actor = actor
        self._mirror = mirror
        self._full_every = timedelta(seconds=full_every_s)

    async def run(
        self, expected: list[Expected], open_before: Mapping[str, Mismatch], *, full: bool = False
    ) -> ReconReport:
        """Compare, then append what changed since the last run (``open_before``)."""
        mirror, started = self._mirror, datetime.now(UTC)
        if mirror is not None and not (full or self._full_due(mirror, started)):
            return await self._incremental(mirror, expected, open_before)
        held = self._private(await fetch_ledger(self._ledger))
        report = self._report(expected, open_before, compare(expected, held), len(held))
        report.compared = len(expected)
        await self._record(report)
        if mirror is not None:
            compared = {e.source_ref: _compared(e) for e in expected}
            marks = {"cursor": started.isoformat(), "full_at": started.isoformat()}
            mirror.save_full(held, compared, marks)
        return report

    def _private(self, records: list[LedgerRecord]) -> list[LedgerRecord]:
        """Customers' names as their keyed digests (documents keep their numbers)."""
        names = self._names
        if names is None:
            return records
        return [
            replace(r, name=names(r.name)) if r.kind == "customer" and r.name else r
            for r in records
        ]

    def _full_due(self, mirror: LedgerMirror, now: datetime) -> bool:
        last = mirror.mark("full_at")
        return last is None or mirror.mark("cursor") is None or now - last >= self._full_every

    async def _incremental(
        self, mirror: LedgerMirror, expected: list[Expected], open_before: Mapping[str, Mismatch]
    ) -> ReconReport:
        cursor, started = mirror.mark("cursor"), datetime.now(UTC)
        assert cursor is not None  # else the run is full
        changed = self._private([rec async for rec in self._ledger.changes(cursor - OVERLAP)])
        overlay = Overlay(mirror, changed)
        digests = {e.source_ref: digest(e) for e in expected}
        moved = changed_refs(digests, mirror.digests())
        scope = scope_of(expected, moved, mirror.compared(moved), overlay)
        kept = list(carried(open_before, scope).values())
        found = [*kept, *recheck(expected, scope, overlay, kept)]
        report = self._report(expected, open_before, found, len(changed))
        report.mode, report.compared = "incremental", len(scope.refs & digests.keys())
        await self._record(report)
        by_ref = {e.source_ref: e for e in expected}
        mirror.save_delta(
            changed,
            {ref: _compared(by_ref[ref]) if ref in by_ref else None for ref in moved},
            {"cursor": started.isoformat()},
        )
        return report

    def _report(
        self,
        expected: list[Expected],
        open_before: Mapping[str, Mismatch],
        found: list[Mismatch],
        read: int,
    ) -> ReconReport:
        now = {m.key: m for m in found}
        report = ReconReport(uuid7(), self._ledger.ledger, len(expected), list(now.values()))
        report.detected = [m for k, m in now.items() if k not in open_before]
        report.resolved = [k for k in open_before if k not in now]
        report.ledger_duplicates = sum(
            int(m.actual or 0) - 1 for m in now.values() if m.mismatch_type == "duplicate_in_ledger"
        )
        report.read = read
        return report

    async def _record(self, report: ReconReport) -> None:
        ledger = self._ledger.ledger
        events = [
            make_envelope(
                MismatchDetected(
                    key=m.key,
                    mismatch_type=m.mismatch_type,
                    ledger=ledger,
                    source_ref=m.source_ref,
                    ledger_ref=m.ledger_ref,
                    expected=m.expected,
                    actual=m.actual,
                    run_id=report.run_id,
                    at_stake=m.at_stake,
                    currency=m.currency,
                ),
                entity=self._entity,
                subject=recon_subject(self._entity, ledger, "mismatch", m.key),
                actor=self._actor,
                correlation_id=report.run_id,
            )
            for m in report.detected
        ] + [
            make_envelope(
                MismatchResolved(key=k, ledger=ledger, run_id=report.run_id),
                entity=self._entity,
                subject=recon_subject(self._entity, ledger, "mismatch", k),
                actor=self._actor,
                correlation_id=report.run_id,
            )
            for k in report.resolved
        ]
        events.append(
            make_envelope(
                ReconciliationCompleted(
                    run_id=report.run_id,
                    ledger=ledger,
                    checked=report.checked,
                    open_mismatches=len(report.open),
                    detected=len(report.detected),
                    resolved=len(report.resolved),
                ),
                entity=self._entity,
                subject=recon_subject(self._entity, ledger, "run", report.run_id),
                actor=self._actor,
                correlation_id=report.run_id,
            )
        )
        for start in range(0, len(events), 500):
            await self._store.append(events[start : start + 500])
