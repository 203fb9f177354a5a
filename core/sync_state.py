"""What the sync process knows about each record: a fold over the log.

The worker rebuilds it from the log when it starts (the log is the truth) and keeps it
current by applying the events it appends itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.core.events import upcast
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class StepState:
    """One write of a multi-write operation: asked for, and (once done) its result."""

    done: bool = False
    ledger_ref: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RecordState:
    source_ref: str
    kind: str = ""
    observed_sha: str | None = None
    observed_version: str | None = None
    observed_seq: int = 0
    observed_subject: str = ""
    customer_ref: str | None = None
    deleted: bool = False
    deleted_version: str | None = None
    voided: bool = False
    pushed_total: Decimal | None = None
    pushed_tax: Decimal | None = None
    #: payments, credit notes, refunds: what the push meant to apply the record to (a
    #: source ref) and how much (None: whatever the ledger allowed)
    applies_to: str | None = None
    applied_amount: Decimal | None = None
    seen_version: str | None = None  # last version back-sync observed in the ledger
    seen_status: str | None = None
    rejected_sha: str | None = None
    ledger_ref: str | None = None
    ledger_version: str | None = None
    pushed_sha: str | None = None
    pending_key: str | None = None
    pending_sha: str | None = None  # the content hash the pending push was asked for
    pending_applied: Decimal | None = None  # payments: the part the pending push applies
    attempts: int = 0
    abandoned_key: str | None = None
    waiting_on: str | None = None  # rejected until this dependency is in the ledger
    review_key: str | None = None  # waiting for a person (``syncledger review``)
    review_candidates: tuple[str, ...] = ()
    review_reason: str = ""
    review_decision: str | None = None  # "link" / "create", once decided
    review_ledger_ref: str | None = None
    dispute_ref: str | None = None  # invoices: the credit note crediting the dispute
    #: the steps of the push ``steps_key`` (a multi-write operation), by step name
    steps: dict[str, StepState] = field(default_factory=dict)
    steps_key: str | None = None

    def steps_of(self, key: str) -> dict[str, StepState]:
        """The steps logged for push ``key`` (empty for any other push)."""
        return self.steps if self.steps_key == key else {}


@dataclass
class SyncState:
    entity: str
    ledger: str
    records: dict[str, RecordState] = field(default_factory=dict)
    customer_names: dict[str, dict[str, int]] = field(default_factory=dict)  # name → ref → seq
    subject_seq: dict[str, int] = field(default_factory=dict)
    #: dependency ref → records rejected while waiting for it to reach the ledger
    waiters: dict[str, set[str]] = field(default_factory=dict)
    #: ledger item codes the sync set out to create (``LedgerItemRequested``) → the
    #: ledger item id once ``LedgerItemCreated`` (None while the create is unconfirmed)
    items: dict[str, str | None] = field(default_factory=dict)

    def get(self, ref: str) -> RecordState:
        state = self.records.get(ref)
        if state is None:
            state = self.records[ref] = RecordState(ref)
        return state

    def apply(self, seq: int, subject: str, event: dict[str, Any]) -> None:
        if seq <= self.subject_seq.get(subject, 0):
            return  # already folded (the worker loaded the log past this event)
        self.subject_seq[subject] = seq
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            return
        data = event.get("data")
        if not isinstance(data, dict):
            return
        try:  # folded as the current version of its type (upcast on the way in)
            data = upcast(event["type"], int(event.get("schema_version", 1)), data)
            if "ledger" in data and data["ledger"] not in (None, self.ledger):
                return
            handler(self, data)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            log.warning("event at sequence %d cannot be folded (%s); skipped", seq, exc)
            return
        if event["type"] == "SourceRecordObserved":
            rec = self.get(data["ref"])
            if rec.observed_sha == data["content_sha256"]:
                rec.observed_seq, rec.observed_subject = seq, subject
                self._name(rec, data, seq)

    def _name(self, rec: RecordState, data: dict[str, Any], seq: int) -> None:
        if rec.kind != "customer":
            return
        for refs in self.customer_names.values():
            refs.pop(rec.source_ref, None)
        key = name_key(data["record"].get("name"))
        if key:
            self.customer_names.setdefault(key, {})[rec.source_ref] = seq

    def same_name(self, ref: str, name: str) -> str | None:
        """Another live source customer with this (normalised) name, seen before ``ref``."""
        refs = self.customer_names.get(name_key(name) or "", {})
        mine = refs.get(ref, 0)
        earlier = [
            (seq, other)
            for other, seq in refs.items()
            if other != ref and seq < mine and not self.records[other].deleted
        ]
        return min(earlier)[1] if earlier else None

    async def load(self, store: EventStore) -> None:
        """Fold the entity's source events and this ledger's events, in stream order."""
        found = [
            stored
            for pattern in (
                entity_filter(self.entity, "source"),
                entity_filter(self.entity, "ledger", self.ledger),
            )
            async for stored in store.read(pattern)
        ]
        for stored in sorted(found, key=lambda s: s.seq):
            try:
                event = json.loads(stored.raw)
            except ValueError:
                log.warning("event at sequence %d is not JSON; skipped", stored.seq)
                continue
            if isinstance(event, dict) and "type" in event:
                self.apply(stored.seq, stored.subject, event)


def name_key(name: Any) -> str | None:
    """Names the way ledgers compare them: case and spacing do not count."""
    return " ".join(name.casefold().split()) or None if isinstance(name, str) else None


def version_key(version: str) -> tuple[int, Decimal | str]:
    """Order source versions: numbers numerically, anything else (ISO times) as text."""
    try:
        return (0, Decimal(version))
    except ArithmeticError:
        return (1, version)


def _observed(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["ref"])
    if rec.observed_version is not None and version_key(d["version"]) < version_key(
        rec.observed_version
    ):
        return  # an older version arriving late never overwrites a newer one
    rec.kind, rec.observed_sha, rec.observed_version = d["kind"], d["content_sha256"], d["version"]
    rec.customer_ref = d.get("customer_ref")
    rec.deleted = False


def _deleted(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["ref"])
    rec.deleted, rec.kind = True, d["kind"]
    rec.deleted_version = d["version"]


def _rejected(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["ref"])
    rec.rejected_sha, rec.waiting_on = d["content_sha256"], d.get("waiting_on")
    if rec.waiting_on:
        state.waiters.setdefault(rec.waiting_on, set()).add(rec.source_ref)


def _retry(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["ref"])
    rec.rejected_sha = rec.abandoned_key = None
    rec.attempts = 0


def _requested(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    if rec.pending_key != d["idempotency_key"]:
        rec.attempts = 0
    rec.pending_key = d["idempotency_key"]
    rec.pending_sha = d.get("content_sha256")
    applied = d.get("applied")
    rec.pending_applied = None if applied is None else Decimal(str(applied))


def _succeeded(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    rec.ledger_ref, rec.ledger_version = d["ledger_ref"], d.get("ledger_version")
    rec.pushed_sha = d["content_sha256"]
    rec.voided = rec.voided or d.get("operation") == "void"
    if d.get("total") is not None:
        rec.pushed_total = Decimal(str(d["total"]))
    if d.get("tax") is not None:
        rec.pushed_tax = Decimal(str(d["tax"]))
    if d.get("applies_to"):
        rec.applies_to = d["applies_to"]
        amount = d.get("applied_amount")
        rec.applied_amount = None if amount is None else Decimal(str(amount))
    rec.pending_key, rec.attempts, rec.abandoned_key = None, 0, None


def _linked(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    rec.ledger_ref, rec.pushed_sha = d["ledger_ref"], d["content_sha256"]
    rec.pending_key, rec.attempts = None, 0


def _review_requested(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    rec.review_key, rec.pending_key = d.get("idempotency_key") or "", None
    rec.review_candidates, rec.review_reason = tuple(d.get("candidates", ())), d["reason"]


def _review_resolved(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["ref"])
    rec.review_key, rec.rejected_sha, rec.abandoned_key = None, None, None
    rec.review_decision, rec.review_ledger_ref = d["decision"], d.get("ledger_ref")
    rec.attempts = 0


def _disputed(state: SyncState, d: dict[str, Any]) -> None:
    state.get(d["source_ref"]).dispute_ref = d["credit_note_ref"]


def _failed(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    rec.attempts = max(rec.attempts, int(d["attempt"]))


def _abandoned(state: SyncState, d: dict[str, Any]) -> None:
    rec = state.get(d["source_ref"])
    rec.abandoned_key, rec.pending_key = d["idempotency_key"], None


def _ledger_observed(state: SyncState, d: dict[str, Any]) -> None:
    if d.get("source_ref"):
        rec = state.get(d["source_ref"])
        rec.seen_version, rec.seen_status = d.get("ledger_version"), d.get("status")


def _step_of(state: SyncState, d: dict[str, Any]) -> StepState:
    rec = state.get(d["source_ref"])
    if rec.steps_key != d["idempotency_key"]:
        rec.steps, rec.steps_key = {}, d["idempotency_key"]
    return rec.steps.setdefault(d["step"], StepState())


def _step_requested(state: SyncState, d: dict[str, Any]) -> None:
    _step_of(state, d)


def _step_succeeded(state: SyncState, d: dict[str, Any]) -> None:
    step = _step_of(state, d)
    step.done, step.ledger_ref, step.detail = True, d["ledger_ref"], dict(d.get("detail") or {})


def _item_requested(state: SyncState, d: dict[str, Any]) -> None:
    state.items.setdefault(d["code"], None)


def _item_created(state: SyncState, d: dict[str, Any]) -> None:
    state.items[d["code"]] = d["ledger_item_ref"]


_HANDLERS = {
    "LedgerStepRequested": _step_requested,
    "LedgerStepSucceeded": _step_succeeded,
    "LedgerItemRequested": _item_requested,
    "LedgerItemCreated": _item_created,
    "LedgerRecordObserved": _ledger_observed,
    "SourceRecordObserved": _observed,
    "SourceRecordDeleted": _deleted,
    "SourceRecordRejected": _rejected,
    "RetryRequested": _retry,
    "LedgerPushRequested": _requested,
    "LedgerPushSucceeded": _succeeded,
    "RecordLinked": _linked,
    "LedgerPushFailed": _failed,
    "LedgerPushAbandoned": _abandoned,
    "ReviewRequested": _review_requested,
    "ReviewResolved": _review_resolved,
    "InvoiceDisputed": _disputed,
}
