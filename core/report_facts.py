"""What the reports are made of, read from the log in one pass (DESIGN §10).

Each source document becomes a :class:`RecordFact` for one ledger: its document date (the
invoice's/credit note's ``issue_date``, a payment's ``paid_on``, a refund's
``refunded_on`` — the fiscal period, never the sync time), amount and currency as the
source gives them, where it stands with the ledger (synced, rejected with reason codes,
pending), when its latest version was observed and when the push of that version
succeeded, and the amount the ledger holds as far as the log knows. Each mismatch
episode (detected … resolved) becomes a :class:`MismatchFact`.

The ledger's amount of a document is what the log saw, without asking the ledger again:
the value an open ``amount_mismatch`` reported, nothing while ``missing_in_ledger`` is
open, else what back-sync last observed (``LedgerRecordObserved.total``), else the total
the push wrote. Records that exist only in the ledger (orphans, a bookkeeper's own
entries) are not in it: their amounts are not in the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.core.decode import decode_wanted, read_json
from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import (
    EventData,
    LedgerPushAbandoned,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    MismatchDetected,
    MismatchResolved,
    RecordLinked,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
)
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter

SYNCED, REJECTED, PENDING = "synced", "rejected", "pending"
DOCUMENT_KINDS = ("invoice", "credit_note", "payment", "refund")
DATE_FIELD = {
    "invoice": "issue_date",
    "credit_note": "issue_date",
    "payment": "paid_on",
    "refund": "refunded_on",
}
AMOUNT_FIELD = {"invoice": "total", "credit_note": "total", "payment": "amount", "refund": "amount"}
_WANTED: tuple[type[EventData], ...] = (
    SourceRecordObserved,
    SourceRecordDeleted,
    SourceRecordRejected,
    LedgerPushSucceeded,
    RecordLinked,
    LedgerPushAbandoned,
    LedgerRecordObserved,
    MismatchDetected,
    MismatchResolved,
)


@dataclass(frozen=True, slots=True)
class RecordFact:
    ref: str
    kind: str
    document_date: date | None
    customer_ref: str | None
    currency: str | None
    amount: Decimal | None  # the source's, latest version
    status: str  # synced | rejected | pending
    reasons: tuple[str, ...]  # reason codes of a rejection
    observed_at: datetime | None  # the latest version, first observed
    pushed_at: datetime | None  # that version's push succeeded
    ledger_ref: str | None
    ledger_amount: Decimal | None  # what the ledger holds, as far as the log knows
    void: bool

    @property
    def latency_s(self) -> float | None:
        """Seconds from observed to pushed (a figure for charts, not money)."""
        if self.observed_at is None or self.pushed_at is None:
            return None
        return max((self.pushed_at - self.observed_at).total_seconds(), 0.0)

    @property
    def counts(self) -> bool:
        """Whether it adds to totals and balances (a voided document does not)."""
        return not self.void and self.amount is not None and self.currency is not None


@dataclass(frozen=True, slots=True)
class MismatchFact:
    key: str
    mismatch_type: str
    source_ref: str | None
    ledger_ref: str | None
    expected: str | None
    actual: str | None
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Facts:
    records: tuple[RecordFact, ...]
    mismatches: tuple[MismatchFact, ...]
    customer_names: dict[str, str]

    def open_mismatches(self) -> list[MismatchFact]:
        return sorted((m for m in self.mismatches if m.closed_at is None), key=_opened)


def _opened(m: MismatchFact) -> tuple[datetime, str]:
    return m.opened_at, m.key


@dataclass
class _Record:
    kind: str
    sha: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    customer_ref: str | None = None
    deleted: bool = False
    status: str = PENDING
    reasons: tuple[str, ...] = ()
    observed_at: datetime | None = None
    pushed_at: datetime | None = None
    ledger_ref: str | None = None
    pushed_total: Decimal | None = None


class FactFold:
    """The one pass over an entity's log for one ledger."""

    def __init__(self, ledger: str) -> None:
        self.ledger = ledger
        self._records: dict[str, _Record] = {}
        self._open: dict[str, MismatchFact] = {}
        self._closed: list[MismatchFact] = []
        self._ledger_totals: dict[str, Decimal] = {}
        self._handlers: dict[type[EventData], Callable[[Any, datetime], None]] = {
            SourceRecordObserved: self._observed,
            SourceRecordDeleted: self._deleted,
            SourceRecordRejected: self._rejected,
            LedgerPushSucceeded: self._pushed,
            RecordLinked: self._pushed,
            LedgerPushAbandoned: self._abandoned,
            LedgerRecordObserved: self._ledger_observed,
            MismatchDetected: self._detected,
            MismatchResolved: self._resolved,
        }

    def take(self, raw: bytes) -> None:
        """Fold one stored event; one this fold cannot read is passed over (the read
        models list those: `syncledger errors`)."""
        try:
            stored = read_json(raw)
            event = decode_wanted(stored, _WANTED)
        except UndecodableEvent:
            return
        if event is None:
            return
        at = datetime.fromisoformat(str(stored["recorded_at"]))
        self._handlers[type(event)](event, at)

    def _observed(self, e: SourceRecordObserved, at: datetime) -> None:
        rec = self._records.setdefault(e.ref, _Record(e.kind))
        if rec.sha == e.content_sha256 and not rec.deleted:
            return
        rec.sha, rec.fields, rec.customer_ref, rec.deleted = (
            e.content_sha256,
            e.record,
            e.customer_ref,
            False,
        )
        rec.status, rec.reasons, rec.observed_at, rec.pushed_at = PENDING, (), at, None

    def _deleted(self, e: SourceRecordDeleted, _: datetime) -> None:
        self._records.setdefault(e.ref, _Record(e.kind)).deleted = True

    def _rejected(self, e: SourceRecordRejected, _: datetime) -> None:
        rec = self._records.get(e.ref)
        if rec is None or rec.sha != e.content_sha256 or e.ledger not in (None, self.ledger):
            return  # refused at import (never observed: no document date) or another ledger
        rec.status, rec.reasons = REJECTED, tuple(r.code for r in e.reasons)

    def _pushed(self, e: LedgerPushSucceeded | RecordLinked, at: datetime) -> None:
        rec = self._records.get(e.source_ref)
        if rec is None or e.ledger != self.ledger:
            return
        rec.ledger_ref = e.ledger_ref
        if isinstance(e, LedgerPushSucceeded) and e.total is not None:
            rec.pushed_total = e.total
        if rec.sha == e.content_sha256 and rec.status != SYNCED:
            rec.status, rec.reasons, rec.pushed_at = SYNCED, (), at

    def _abandoned(self, e: LedgerPushAbandoned, _: datetime) -> None:
        rec = self._records.get(e.source_ref)
        if rec is None or e.ledger != self.ledger or rec.status == SYNCED:
            return
        if not e.transient:  # an outage's abandon is tried again by itself: still pending
            rec.status, rec.reasons = REJECTED, (e.code or "abandoned",)

    def _ledger_observed(self, e: LedgerRecordObserved, _: datetime) -> None:
        if e.ledger == self.ledger and e.total is not None:
            self._ledger_totals[e.ledger_ref] = e.total

    def _detected(self, e: MismatchDetected, at: datetime) -> None:
        if e.ledger != self.ledger:
            return
        before = self._open.get(e.key)
        opened = before.opened_at if before is not None else at
        self._open[e.key] = MismatchFact(
            e.key, e.mismatch_type, e.source_ref, e.ledger_ref, e.expected, e.actual, opened, None
        )

    def _resolved(self, e: MismatchResolved, at: datetime) -> None:
        m = self._open.pop(e.key, None) if e.ledger == self.ledger else None
        if m is not None:
            self._closed.append(MismatchFact(
                m.key, m.mismatch_type, m.source_ref, m.ledger_ref, m.expected, m.actual,
                m.opened_at, at,
            ))  # fmt: skip

    def facts(self) -> Facts:
        names = {
            ref: str(r.fields.get("name"))
            for ref, r in self._records.items()
            if r.kind == "customer" and r.fields.get("name")
        }
        open_by_ref: dict[str, dict[str, MismatchFact]] = {}
        for m in self._open.values():
            if m.source_ref:
                open_by_ref.setdefault(m.source_ref, {})[m.mismatch_type] = m
        records = tuple(
            self._fact(ref, rec, open_by_ref.get(ref, {}))
            for ref, rec in sorted(self._records.items())
            if rec.kind in DOCUMENT_KINDS and not rec.deleted and rec.sha is not None
        )
        return Facts(records, (*self._closed, *self._open.values()), names)

    def _fact(self, ref: str, rec: _Record, mismatches: dict[str, MismatchFact]) -> RecordFact:
        amount = _decimal(rec.fields.get(AMOUNT_FIELD[rec.kind]))
        return RecordFact(
            ref, rec.kind, _date(rec.fields.get(DATE_FIELD[rec.kind])), rec.customer_ref,
            _text(rec.fields.get("currency")), amount, rec.status, rec.reasons,
            rec.observed_at, rec.pushed_at, rec.ledger_ref,
            self._ledger_amount(rec, amount, mismatches), rec.fields.get("status") == "void",
        )  # fmt: skip

    def _ledger_amount(
        self, rec: _Record, amount: Decimal | None, mismatches: dict[str, MismatchFact]
    ) -> Decimal | None:
        if rec.ledger_ref is None or "missing_in_ledger" in mismatches:
            return None
        if "amount_mismatch" in mismatches:
            return _decimal(mismatches["amount_mismatch"].actual)
        seen = self._ledger_totals.get(rec.ledger_ref)
        if seen is not None:
            return seen
        return rec.pushed_total if rec.pushed_total is not None else amount


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value).strip()[:10]) if value else None
    except ValueError:
        return None


async def read_facts(store: EventStore, entity: str, ledger: str) -> Facts:
    """Every event of ``entity`` folded into the report's facts for ``ledger``."""
    fold = FactFold(ledger)
    events: AsyncIterator[Any] = store.read(entity_filter(entity))
    async for stored in events:
        fold.take(stored.raw)
    return fold.facts()
