"""What the sync process knows about each record: a fold over the log.

The worker rebuilds it from the log when it starts (the log is the truth) and keeps it
current by applying the events it appends itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.core.decode import decode_wanted, handler_for, read_json
from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import (
    ALERT_EVENTS,
    ConflictDetected,
    ConflictSettled,
    CustomerCreditRecorded,
    CustomerDetailsObserved,
    CustomerDetailsWritten,
    CustomerFieldAuthorityApplied,
    EventData,
    InvoiceDisputed,
    InvoiceSendFailed,
    InvoiceSendRequested,
    InvoiceSent,
    LedgerConnected,
    LedgerItemCreated,
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    LedgerStepRequested,
    LedgerStepSucceeded,
    MappingVersionPublished,
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    RecordHeldForRollout,
    RecordLinked,
    RecordReleasedForRollout,
    ReflowRequested,
    RepushRequested,
    RetryRequested,
    ReviewRequested,
    ReviewResolved,
    RolloutScopeChanged,
    SourceCursorAdvanced,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    SourceStatusRefused,
    SourceStatusWritten,
    WebhookProcessed,
    WebhookReceived,
)
from syncledger.core.pii_names import name_key as name_key  # re-exported: older imports
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
    #: invoices and credit notes: the other fields a conflict compares, as last pushed
    #: (None: not known, e.g. pushed before ``LedgerPushSucceeded`` carried them)
    pushed_number: str | None = None
    pushed_currency: str | None = None
    pushed_due_date: date | None = None
    pushed_customer: str | None = None  # the ledger id of the customer it is booked to
    #: payments, credit notes, refunds: what the push meant to apply the record to (a
    #: source ref) and how much (None: whatever the ledger allowed)
    applies_to: str | None = None
    applied_amount: Decimal | None = None
    seen_version: str | None = None  # last version back-sync observed in the ledger
    seen_status: str | None = None
    rejected_sha: str | None = None
    #: the latest rejection: its reason codes, whether this ledger's worker made it (not
    #: the import), and the mapping version it was judged under (``core/reflow.py``)
    rejected_codes: tuple[str, ...] = ()
    rejected_here: bool = False
    rejected_mapping: str | None = None
    #: the mapping version the record was last re-flowed under (``ReflowRequested``)
    reflowed_mapping: str | None = None
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
    #: per candidate ledger id, the rules it matched by (``core/review_match.py``);
    #: absent for an item asked before they were kept
    review_matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    review_decision: str | None = None  # "link" / "create", once decided
    review_ledger_ref: str | None = None
    dispute_ref: str | None = None  # invoices: the credit note crediting the dispute
    #: a person asked for it to be created again (``RepushRequested.request_id``): the
    #: next create's idempotency key is salted with it
    repush_id: str | None = None
    #: an open conflict (``ConflictDetected(needs_review)`` not settled nor pushed over
    #: since): the ledger's version then, and its total (documents)
    conflict_open: bool = False
    conflict_version: str | None = None
    conflict_total: Decimal | None = None
    #: and the ledger's value of each other field it showed as differing (as text)
    conflict_fields: dict[str, str] = field(default_factory=dict)
    #: a person decided to overwrite the ledger's edit (``ConflictSettled.request_id``):
    #: the push is due even though the version is the one pushed, its key salted with it
    overwrite_id: str | None = None
    #: the version held out of the rollout scope (``RecordHeldForRollout``) and the
    #: scope's digest then; cleared when released (``RecordReleasedForRollout``)
    held_sha: str | None = None
    held_rule: str | None = None
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

    def apply(self, seq: int, subject: str, stored: Mapping[str, Any]) -> None:
        """Fold a stored event given as parsed JSON (decoded here: typed, upcast); one
        that does not decode counts only for its sequence (logged)."""
        if not self._first_time(seq, subject):
            return
        try:
            event = decode_wanted(stored, FOLDED)
        except UndecodableEvent as exc:
            log.warning("event at sequence %d cannot be folded (%s); skipped", seq, exc)
            return
        if event is not None:
            self._fold(seq, subject, event)

    def fold(self, seq: int, subject: str, event: EventData) -> None:
        """Fold a typed event (the current version of its type)."""
        if self._first_time(seq, subject):
            self._fold(seq, subject, event)

    def _first_time(self, seq: int, subject: str) -> bool:
        if seq <= self.subject_seq.get(subject, 0):
            return False  # already folded (the worker loaded the log past this event)
        self.subject_seq[subject] = seq
        return True

    def _fold(self, seq: int, subject: str, event: EventData) -> None:
        if getattr(event, "ledger", None) not in (None, self.ledger):
            return  # about another ledger
        handler = handler_for(_HANDLERS, event)
        if handler is not None:
            handler(self, event)
        if isinstance(event, SourceRecordObserved):
            rec = self.get(event.ref)
            if rec.observed_sha == event.content_sha256:
                rec.observed_seq, rec.observed_subject = seq, subject
                self._name(rec, event, seq)

    def _name(self, rec: RecordState, event: SourceRecordObserved, seq: int) -> None:
        if rec.kind != "customer":
            return
        for refs in self.customer_names.values():
            refs.pop(rec.source_ref, None)
        key = event.name_digest or name_key(event.record.get("name"))
        if key:
            self.customer_names.setdefault(key, {})[rec.source_ref] = seq

    def same_name(self, ref: str) -> str | None:
        """Another live source customer of the same name as ``ref``, seen before it. Names
        are filed by their keyed digest (``core/pii_names.py``: the name itself is sealed);
        an event written while names were kept in clear files its name as it reads."""
        refs = next((refs for refs in self.customer_names.values() if ref in refs), {})
        mine = refs.get(ref, 0)
        earlier = [
            (seq, other)
            for other, seq in refs.items()
            if other != ref and seq < mine and not self.records[other].deleted
        ]
        return min(earlier)[1] if earlier else None

    async def load(
        self, store: EventStore, also: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        """Fold the entity's source events and this ledger's events, in stream order;
        ``also`` is shown each parsed event after it is folded (one read for two folds)."""
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
                event = read_json(stored.raw)
            except UndecodableEvent:
                log.warning("event at sequence %d is not JSON; skipped", stored.seq)
                continue
            if isinstance(event, dict) and "type" in event:
                self.apply(stored.seq, stored.subject, event)
                if also is not None:
                    also(event)


def version_key(version: str) -> tuple[int, Decimal | str]:
    """Order source versions: numbers numerically, anything else (ISO times) as text."""
    try:
        return (0, Decimal(version))
    except ArithmeticError:
        return (1, version)


def _observed(state: SyncState, e: SourceRecordObserved) -> None:
    rec = state.get(e.ref)
    if rec.observed_version is not None and version_key(e.version) < version_key(
        rec.observed_version
    ):
        return  # an older version arriving late never overwrites a newer one
    rec.kind, rec.observed_sha, rec.observed_version = e.kind, e.content_sha256, e.version
    rec.customer_ref = e.customer_ref
    rec.deleted = False


def _deleted(state: SyncState, e: SourceRecordDeleted) -> None:
    rec = state.get(e.ref)
    rec.deleted, rec.kind = True, e.kind
    rec.deleted_version = e.version


def _rejected(state: SyncState, e: SourceRecordRejected) -> None:
    rec = state.get(e.ref)
    rec.rejected_sha, rec.waiting_on = e.content_sha256, e.waiting_on
    rec.rejected_codes = tuple(r.code for r in e.reasons)
    rec.rejected_here, rec.rejected_mapping = e.ledger is not None, e.mapping_version
    if rec.waiting_on:
        state.waiters.setdefault(rec.waiting_on, set()).add(rec.source_ref)


def _retry(state: SyncState, e: RetryRequested) -> None:
    rec = state.get(e.ref)
    rec.rejected_sha = rec.abandoned_key = None
    rec.attempts = 0


def _reflow(state: SyncState, e: ReflowRequested) -> None:
    """Like a retry, asked by the worker itself for a new mapping version (once)."""
    rec = state.get(e.ref)
    rec.rejected_sha, rec.attempts = None, 0
    rec.reflowed_mapping = e.mapping_version


def _repush(state: SyncState, e: RepushRequested) -> None:
    """Forget the ledger record that is gone: the record is pushed as new."""
    rec = state.get(e.ref)
    rec.repush_id = e.request_id
    rec.ledger_ref = rec.ledger_version = rec.pushed_sha = None
    rec.pending_key = rec.abandoned_key = rec.rejected_sha = None
    rec.voided, rec.attempts = False, 0


def _requested(state: SyncState, e: LedgerPushRequested) -> None:
    rec = state.get(e.source_ref)
    if rec.pending_key != e.idempotency_key:
        rec.attempts = 0
    rec.pending_key = e.idempotency_key
    rec.pending_sha = e.content_sha256
    rec.pending_applied = e.applied


def _succeeded(state: SyncState, e: LedgerPushSucceeded) -> None:
    rec = state.get(e.source_ref)
    rec.ledger_ref, rec.ledger_version = e.ledger_ref, e.ledger_version
    rec.pushed_sha = e.content_sha256
    rec.voided = rec.voided or e.operation == "void"
    if e.total is not None:
        rec.pushed_total = e.total
    if e.tax is not None:
        rec.pushed_tax = e.tax
    if e.operation in ("create", "update"):
        _pushed_fields(rec, e)
    if e.applies_to:
        rec.applies_to, rec.applied_amount = e.applies_to, e.applied_amount
    rec.pending_key, rec.attempts, rec.abandoned_key = None, 0, None
    rec.conflict_open, rec.overwrite_id = False, None


def _pushed_fields(rec: RecordState, e: LedgerPushSucceeded) -> None:
    """What a create/update wrote, each as the event says (None: not known, so a later
    payment-moved version is not checked on it: core/sync_updates.py)."""
    rec.pushed_number, rec.pushed_currency = e.number, e.currency
    rec.pushed_due_date, rec.pushed_customer = e.due_date, e.customer_ledger_ref


def _linked(state: SyncState, e: RecordLinked) -> None:
    rec = state.get(e.source_ref)
    rec.ledger_ref, rec.pushed_sha = e.ledger_ref, e.content_sha256
    rec.pending_key, rec.attempts = None, 0


def _review_requested(state: SyncState, e: ReviewRequested) -> None:
    rec = state.get(e.source_ref)
    rec.review_key, rec.pending_key = e.idempotency_key or "", None
    rec.review_candidates, rec.review_reason = e.candidates, e.reason
    if e.matches:  # a re-ask (link target gone) keeps what the first ask saw
        rec.review_matches = {m.ledger_id: m.rules for m in e.matches}


def _review_resolved(state: SyncState, e: ReviewResolved) -> None:
    rec = state.get(e.ref)
    rec.review_key, rec.rejected_sha, rec.abandoned_key = None, None, None
    rec.review_decision, rec.review_ledger_ref = e.decision, e.ledger_ref
    rec.attempts = 0


def _conflict(state: SyncState, e: ConflictDetected) -> None:
    """A ledger-side edit kept for a person to decide (``source_wins`` was written over)."""
    if e.resolution != "needs_review":
        return
    rec = state.get(e.source_ref)
    rec.conflict_open = True
    rec.conflict_version, rec.conflict_total = e.actual_version, e.ledger_total
    rec.conflict_fields = {d.field: d.ledger for d in e.differences if d.ledger is not None}


def _conflict_settled(state: SyncState, e: ConflictSettled) -> None:
    """Either way the ledger's version token is the one the person decided about.
    keep-ledger: its total is the one to compare with from now on, and the refused push
    stays given up (until the source changes); overwrite: the push is due again."""
    rec = state.get(e.ref)
    rec.conflict_open, rec.ledger_version = False, e.ledger_version
    if e.decision == "keep_ledger":
        if rec.conflict_total is not None:
            rec.pushed_total = rec.conflict_total
        _kept_fields(rec)
        return
    rec.overwrite_id, rec.abandoned_key, rec.attempts = e.request_id, None, 0


def _kept_fields(rec: RecordState) -> None:
    """The ledger's values a person kept count as ours from now on, like its total: a
    payment moving the version later is then no edit of them (core/sync_updates.py)."""
    kept = rec.conflict_fields
    rec.pushed_number = kept.get("number", rec.pushed_number)
    rec.pushed_currency = kept.get("currency", rec.pushed_currency)
    rec.pushed_customer = kept.get("customer", rec.pushed_customer)
    try:
        if "tax" in kept:
            rec.pushed_tax = Decimal(kept["tax"])
        if "due_date" in kept:
            rec.pushed_due_date = date.fromisoformat(kept["due_date"])
    except (ArithmeticError, ValueError):  # not our own text: that field stays as it was
        log.warning("%s: a kept conflict value does not read; left as pushed", rec.source_ref)


def _disputed(state: SyncState, e: InvoiceDisputed) -> None:
    state.get(e.source_ref).dispute_ref = e.credit_note_ref


def _failed(state: SyncState, e: LedgerPushFailed) -> None:
    rec = state.get(e.source_ref)
    rec.attempts = max(rec.attempts, e.attempt)


def _abandoned(state: SyncState, e: LedgerPushAbandoned) -> None:
    rec = state.get(e.source_ref)
    rec.abandoned_key, rec.pending_key = e.idempotency_key, None


def _ledger_observed(state: SyncState, e: LedgerRecordObserved) -> None:
    if e.source_ref:
        rec = state.get(e.source_ref)
        rec.seen_version, rec.seen_status = e.ledger_version, e.status


def _details_written(state: SyncState, e: CustomerDetailsWritten) -> None:
    """Customer details written back to the source: the ledger version they came from is
    ours from now on when nothing else of the record differed (core/customer_reverse.py),
    so the source's next version is pushed over it as our own, not met as a conflict."""
    if e.ledger_version is not None:
        state.get(e.source_ref).ledger_version = e.ledger_version


def _step_of(state: SyncState, e: LedgerStepRequested | LedgerStepSucceeded) -> StepState:
    rec = state.get(e.source_ref)
    if rec.steps_key != e.idempotency_key:
        rec.steps, rec.steps_key = {}, e.idempotency_key
    return rec.steps.setdefault(e.step, StepState())


def _step_requested(state: SyncState, e: LedgerStepRequested) -> None:
    _step_of(state, e)


def _step_succeeded(state: SyncState, e: LedgerStepSucceeded) -> None:
    step = _step_of(state, e)
    step.done, step.ledger_ref, step.detail = True, e.ledger_ref, dict(e.detail)


def _held(state: SyncState, e: RecordHeldForRollout) -> None:
    rec = state.get(e.source_ref)
    rec.held_sha, rec.held_rule = e.content_sha256, e.rule_sha256


def _released(state: SyncState, e: RecordReleasedForRollout) -> None:
    """Tried again like a retry (a version held after a refusal is refused no more)."""
    rec = state.get(e.ref)
    rec.held_sha = rec.held_rule = None
    rec.rejected_sha = rec.abandoned_key = None
    rec.attempts = 0


def _item_requested(state: SyncState, e: LedgerItemRequested) -> None:
    state.items.setdefault(e.code, None)


def _item_created(state: SyncState, e: LedgerItemCreated) -> None:
    state.items[e.code] = e.ledger_item_ref


#: how each folded event type changes the state (each function takes its own type); the
#: others are never decoded, only counted for their sequence
_HANDLERS: dict[type[EventData], Callable[[SyncState, Any], None]] = {
    SourceRecordObserved: _observed,
    SourceRecordDeleted: _deleted,
    SourceRecordRejected: _rejected,
    RetryRequested: _retry,
    ReflowRequested: _reflow,
    RepushRequested: _repush,
    ReviewResolved: _review_resolved,
    LedgerPushRequested: _requested,
    LedgerPushSucceeded: _succeeded,
    RecordLinked: _linked,
    LedgerPushFailed: _failed,
    LedgerPushAbandoned: _abandoned,
    ReviewRequested: _review_requested,
    InvoiceDisputed: _disputed,
    ConflictDetected: _conflict,
    ConflictSettled: _conflict_settled,
    LedgerRecordObserved: _ledger_observed,
    CustomerDetailsWritten: _details_written,
    LedgerStepRequested: _step_requested,
    LedgerStepSucceeded: _step_succeeded,
    LedgerItemRequested: _item_requested,
    LedgerItemCreated: _item_created,
    RecordHeldForRollout: _held,
    RecordReleasedForRollout: _released,
}
FOLDED = tuple(_HANDLERS)
#: event types the state deliberately leaves alone (a test holds every source, ledger and
#: reconciliation type to :data:`FOLDED` or this)
NOT_FOLDED: frozenset[type[EventData]] = frozenset({
    CustomerCreditRecorded,  # the payment's LedgerPushSucceeded holds what stayed unapplied
    # the reconciler's: it compares the read models with the ledger, the worker never acts
    ReconciliationCompleted, MismatchDetected, MismatchResolved,
    MappingVersionPublished,  # a push names the mapping version it used
    RolloutScopeChanged,  # the worker is given the scope in force when it starts
    LedgerConnected,  # `syncledger connect`: the credentials are in the token store
    # the source's bookkeeping (cursor, webhook receipts): records come as observations
    SourceCursorAdvanced, WebhookReceived, WebhookProcessed,
    # write-back's own progress and refusals (core/writeback.py)
    SourceStatusWritten, SourceStatusRefused,
    # customer details back to the source (core/customer_reverse.py): what to write, and
    # which authority the ledger's customers were last compared under
    CustomerDetailsObserved, CustomerFieldAuthorityApplied,
    InvoiceSendRequested, InvoiceSent, InvoiceSendFailed,  # e-mails (core/delivery.py)
    # finance alerts (core/alerts.py): told to channels, nothing the worker acts on
    *ALERT_EVENTS,
})  # fmt: skip
