"""The reconciler (DESIGN §10): what the log says vs what the ledger holds.

Besides each record's presence, amount and currency, it checks applications: a payment
applied to its invoice, a credit note to its invoice, a refund to the credit it pays out,
each for the amount the push meant (``LedgerPushSucceeded.applies_to/applied_amount``),
against what the ledger says the document is applied to (``LedgerRecord.applied_to``). A
multi-write document left half done is a mismatch (``application_mismatch``) whatever
caused it.

New disagreements become ``MismatchDetected``, cleared ones ``MismatchResolved``; the
mismatch key is type + refs, so re-running is idempotent (nothing new is appended when
nothing changed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.core.events import (
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    make_envelope,
)
from syncledger.core.ids import uuid7
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerAdapter, LedgerRecord
from syncledger.core.store import EventStore
from syncledger.core.subjects import recon_subject

KINDS = ("customer", "invoice", "payment", "credit_note", "refund")


@dataclass(frozen=True, slots=True)
class Expected:
    """A record the log says is in the ledger."""

    source_ref: str
    kind: str
    ledger_ref: str
    total: Decimal | None
    currency: str | None
    #: the ledger id of what the record is applied to (an invoice, a refund's credit) and
    #: how much (None: any amount above zero)
    applied_to: str | None = None
    applied_amount: Decimal | None = None
    #: documents: the tax pushed (None: not known, not compared)
    tax: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Mismatch:
    key: str
    mismatch_type: str
    source_ref: str | None
    ledger_ref: str | None
    expected: str | None = None
    actual: str | None = None
    #: the money at stake, when there is one (``MismatchDetected.at_stake``)
    at_stake: Decimal | None = None
    currency: str | None = None


@dataclass
class ReconReport:
    run_id: str
    ledger: str
    checked: int
    open: list[Mismatch] = field(default_factory=list)
    detected: list[Mismatch] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    ledger_duplicates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ledger": self.ledger,
            "checked": self.checked,
            "open_mismatches": [_plain(m) for m in self.open],
            "detected": len(self.detected),
            "resolved": len(self.resolved),
            "ledger_duplicates": self.ledger_duplicates,
        }

    def text(self) -> str:
        lines = [
            f"Reconciliation {self.run_id} against {self.ledger}: {self.checked} records "
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


def _key(kind: str, source_ref: str | None, ledger_ref: str | None) -> str:
    return f"{kind}|{source_ref or ''}|{ledger_ref or ''}"


def compare(expected: Iterable[Expected], held: Iterable[LedgerRecord]) -> list[Mismatch]:
    """Pure comparison: missing, orphan, amount/currency mismatch, duplicates."""
    by_id = {(r.kind, r.ledger_id): r for r in held}
    linked: set[tuple[str, str]] = set()
    found: list[Mismatch] = []
    for exp in expected:
        linked.add((exp.kind, exp.ledger_ref))
        rec = by_id.get((exp.kind, exp.ledger_ref))
        if rec is None or rec.status == "deleted":
            found.append(
                Mismatch(
                    _key("missing_in_ledger", exp.source_ref, exp.ledger_ref),
                    "missing_in_ledger",
                    exp.source_ref,
                    exp.ledger_ref,
                    at_stake=exp.total,
                    currency=exp.currency,
                )
            )
            continue
        found.extend(_amounts(exp, rec))
        found.extend(_application(exp, rec))
    for (kind, ledger_id), rec in by_id.items():
        if (kind, ledger_id) in linked or rec.status in ("void", "deleted"):
            continue
        if _ours(rec.external_ref):
            found.append(
                Mismatch(
                    _key("orphan_in_ledger", rec.external_ref, ledger_id),
                    "orphan_in_ledger",
                    rec.external_ref,
                    ledger_id,
                    at_stake=rec.total,
                    currency=rec.currency,
                )
            )
    found.extend(_duplicates(by_id.values()))
    return found


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


def _amounts(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    out = []
    if exp.currency and rec.currency and exp.currency != rec.currency:
        out.append(
            Mismatch(
                _key("currency_mismatch", exp.source_ref, exp.ledger_ref),
                "currency_mismatch",
                exp.source_ref,
                exp.ledger_ref,
                exp.currency,
                rec.currency,
            )
        )
    if exp.tax is not None and rec.tax is not None and exp.tax != rec.tax:
        out.append(
            Mismatch(
                _key("tax_mismatch", exp.source_ref, exp.ledger_ref),
                "tax_mismatch",
                exp.source_ref,
                exp.ledger_ref,
                str(exp.tax),
                str(rec.tax),
                abs(exp.tax - rec.tax),
                exp.currency,
            )
        )
    if exp.total is not None and rec.total is not None and exp.total != rec.total:
        out.append(
            Mismatch(
                _key("amount_mismatch", exp.source_ref, exp.ledger_ref),
                "amount_mismatch",
                exp.source_ref,
                exp.ledger_ref,
                str(exp.total),
                str(rec.total),
                abs(exp.total - rec.total),
                exp.currency,
            )
        )
    return out


def _application(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    if exp.applied_to is None or exp.applied_amount == 0 or rec.status in ("void", "deleted"):
        return []
    held = sum(
        (amount for target, amount in rec.applied_to if target == exp.applied_to), Decimal(0)
    )
    wanted = exp.applied_amount
    if (held == wanted) if wanted is not None else held > 0:
        return []
    return [
        Mismatch(
            _key("application_mismatch", exp.source_ref, exp.ledger_ref),
            "application_mismatch",
            exp.source_ref,
            exp.ledger_ref,
            f"{wanted if wanted is not None else 'some'} applied to {exp.applied_to}",
            f"{held} applied to {exp.applied_to}",
            abs(wanted - held) if wanted is not None else None,
            exp.currency,
        )
    ]


def _duplicates(held: Iterable[LedgerRecord]) -> list[Mismatch]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rec in held:
        if rec.external_ref and rec.status not in ("void", "deleted"):
            groups[(rec.kind, rec.external_ref)].append(rec.ledger_id)
    return [
        Mismatch(
            _key("duplicate_in_ledger", ref, ",".join(sorted(ids))),
            "duplicate_in_ledger",
            ref,
            ",".join(sorted(ids)),
            "1",
            str(len(ids)),
        )
        for (_, ref), ids in sorted(groups.items())
        if len(ids) > 1
    ]


async def fetch_ledger(ledger: LedgerAdapter, kinds: Iterable[str] = KINDS) -> list[LedgerRecord]:
    return [rec for kind in kinds async for rec in ledger.list_all(kind)]


class Reconciler:
    def __init__(
        self, store: EventStore, ledger: LedgerAdapter, *, entity: str, actor: str
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._entity = entity
        self._actor = actor

    async def run(
        self, expected: list[Expected], open_before: Mapping[str, Mismatch]
    ) -> ReconReport:
        """Compare, then append what changed since the last run (``open_before``)."""
        held = await fetch_ledger(self._ledger)
        now = {m.key: m for m in compare(expected, held)}
        report = ReconReport(uuid7(), self._ledger.ledger, len(expected), list(now.values()))
        report.detected = [m for k, m in now.items() if k not in open_before]
        report.resolved = [k for k in open_before if k not in now]
        report.ledger_duplicates = sum(
            int(m.actual or 0) - 1 for m in now.values() if m.mismatch_type == "duplicate_in_ledger"
        )
        await self._record(report)
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
