"""The sync process (DESIGN §6): one source event in, ledger effects + outcome events out.

Exactly-once effect at the ledger: every write carries an idempotency key derived from
(source ref, content hash, ledger); ``LedgerPushRequested`` is appended *before* the
call, so after a crash between the ledger's commit and our outcome event the retry
knows a write may exist and looks it up before writing again.

What each source event becomes:

============================  ===========================================================
new record                    create (customers: match before create → ``RecordLinked``)
changed, already linked       update with the ledger's version token (customers,
                              invoices); an invoice whose source status is ``void`` → void
changed payment/credit note   rejected: posted money is not edited, it is reversed
source delete of an invoice   void (never a hard delete)
``RetryRequested``            the record's latest version is tried again
``ReflowRequested``           the same, asked by the worker itself when a new mapping
                              version is in force (``core/reflow.py``)
``ConflictSettled``           ``overwrite``: the latest version is pushed over the
                              ledger's edit with the version token the person saw
                              (``keep_ledger`` needs no push: the fold settles it)
out of the rollout scope      held (``RecordHeldForRollout``), not pushed; released by
                              ``RecordReleasedForRollout`` once a wider scope admits it
                              (``core/rollout_gate.py``), then tried as a retry
============================  ===========================================================

Field authority (configurable per kind, ``SYNCLEDGER_FIELD_AUTHORITY``): by default the
source owns contact details (a ledger-side edit of a customer is logged as
``ConflictDetected(source_wins)`` and overwritten); the ledger owns documents once posted
(a ledger-side edit of an invoice is logged as ``ConflictDetected(needs_review)`` and the
push is abandoned for a person to decide). Payment status always comes from the ledger.

The main flow is this module (observe → validate → match → intend → push → settle); each
concern beside it is its own module: ``sync_log`` (appends), ``sync_outcomes`` (how a push
ends), ``sync_claims`` (push intents), ``sync_batches``, ``sync_prepare`` (dependencies and
the ledger's figures), ``sync_items``, ``sync_disputes``, ``sync_reviews``,
``sync_creates``, ``sync_updates`` (updates, voids and conflicts).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from syncledger.core.customer_details import ledger_owned
from syncledger.core.decode import Decoded, decode, decode_json, is_wanted
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    SubjectErased,
    TransientLedgerError,
    UndecodableEvent,
)
from syncledger.core.events import (
    ConflictSettled,
    Envelope,
    RecordLinked,
    RecordReleasedForRollout,
    ReflowRequested,
    RejectionReason,
    RepushRequested,
    RetryRequested,
    ReviewResolved,
    SourceRecordDeleted,
    SourceRecordObserved,
)
from syncledger.core.keystore import KeyStore, PiiSealer
from syncledger.core.logs import log_context
from syncledger.core.mapping import Mapping
from syncledger.core.model import Customer, Invoice, Record, RecordRef
from syncledger.core.ports import BatchCreator, LedgerAdapter, SourceItem
from syncledger.core.rollout import RolloutRule
from syncledger.core.rollout_gate import RolloutGate
from syncledger.core.store import EventStore
from syncledger.core.sync_batches import Batch
from syncledger.core.sync_claims import Claims
from syncledger.core.sync_context import (
    DEFAULT_AUTHORITY,
    Operation,
    Outcome,
    Status,
    SyncContext,
    Work,
    backoff,
    idempotency_key,
)
from syncledger.core.sync_creates import Creates
from syncledger.core.sync_disputes import Disputes, dispute_credit_note
from syncledger.core.sync_items import Items
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_matches import new_customers
from syncledger.core.sync_outcomes import Outcomes
from syncledger.core.sync_prefetch import prefetch
from syncledger.core.sync_prepare import Prepare
from syncledger.core.sync_reviews import Reviews
from syncledger.core.sync_state import RecordState, SyncState
from syncledger.core.sync_updates import Updates
from syncledger.core.validation import LedgerRules, Rejected, default_rules, validate

__all__ = [
    "DEFAULT_AUTHORITY",
    "Operation",
    "Outcome",
    "Readable",
    "Status",
    "SyncService",
    "backoff",
    "dispute_credit_note",
    "idempotency_key",
    "readable",
]

log = logging.getLogger(__name__)


class SyncService:
    def __init__(
        self,
        store: EventStore,
        ledger: LedgerAdapter,
        keys: KeyStore,
        state: SyncState,
        *,
        entity: str,
        actor: str,
        mapping_version: str,
        mapping: Mapping | None = None,
        authority: dict[str, str] | None = None,
        home_currency: str = "USD",
        max_attempts: int = 8,
        base_delay: float = 1.0,
        rules: LedgerRules | None = None,
        rollout: RolloutRule | None = None,
        customer_fields: dict[str, str] | None = None,
    ) -> None:
        ctx = SyncContext(
            store=store,
            ledger=ledger,
            state=state,
            entity=entity,
            actor=actor,
            mapping_version=mapping.version if mapping is not None else mapping_version,
            mapping=mapping,
            authority=authority or DEFAULT_AUTHORITY,
            home_currency=home_currency,
            max_attempts=max_attempts,
            base_delay=base_delay,
            rules=rules or default_rules(ledger.ledger),
            ledger_owned=ledger_owned(customer_fields or {}),
        )
        self._ctx, self.state, self._sealer = ctx, state, PiiSealer(keys)
        self._log = SyncLog(ctx)
        self._outcomes = Outcomes(ctx, self._log)
        self._claims = Claims(ctx, self._log)
        self._batch = Batch(ctx, self._log, self._claims, self._outcomes)
        self._prepare = Prepare(ctx, Items(ctx, self._log), self._batch)
        self._disputes = Disputes(ctx, self._log, self._outcomes, self._push)
        self._reviews = Reviews(ctx, self._log, self._outcomes, self._retry)
        self._creates = Creates(ctx, self._log, self._outcomes, self._reviews)
        self._updates = Updates(ctx, self._log, self._outcomes, self._sealer)
        #: the rollout scope in force (None: everything is pushed)
        self.rollout = RolloutGate(rollout, self._log, state, self._fields)

    @property
    def ledger_name(self) -> str:
        """The ledger's id (``qbo``, ``xero``, …)."""
        return self._ctx.name

    @property
    def mapping_version(self) -> str:
        """The ledger mapping version this service judges records under."""
        return self._ctx.mapping_version

    @property
    def guard(self) -> Callable[[], None] | None:
        """Called right before every ledger write (and every push intent); raises
        ``OwnershipLost`` once this process no longer holds the entity+ledger lease."""
        return self._ctx.guard

    @guard.setter
    def guard(self, check: Callable[[], None] | None) -> None:
        self._ctx.guard = check

    # ------------------------------------------------------------------ entry

    async def handle_many(self, items: Sequence[tuple[int, str, bytes]]) -> list[Outcome]:
        """Handle events in stream order, creating documents through the ledger's batch
        endpoint where it has one (one request, one fsync for many records), after reading
        the records it updates in bulk where the ledger can (``sync_prefetch``) and
        matching its new customers at once where the ledger can (``sync_matches``)."""
        await prefetch(self._ctx.ledger, items, self.state)
        customers = new_customers(items, self.state, self._customer)
        await self._ctx.matches.read(self._ctx.ledger, customers)
        try:
            return await self._handle_all(items)
        finally:
            self._ctx.matches.clear()

    async def _handle_all(self, items: Sequence[tuple[int, str, bytes]]) -> list[Outcome]:
        if not isinstance(self._ctx.ledger, BatchCreator):
            return [await self.handle(seq, subject, raw) for seq, subject, raw in items]
        self._batch.open()
        try:
            for seq, subject, raw in items:
                self._batch.results.append(await self.handle(seq, subject, raw))
                if self._batch.full:
                    await self._batch.flush()
            await self._batch.flush()
            return self._batch.results
        finally:
            self._batch.close()

    async def handle(self, seq: int, subject: str, raw: bytes) -> Outcome:
        event = readable(seq, raw)
        if event is None:
            return Outcome("ignored")  # listed by `syncledger errors` (unfoldable)
        self.state.apply(seq, subject, event.fold)
        if event.decoded is None:
            return Outcome("ignored")
        return await self._dispatch(event.decoded)

    async def _dispatch(self, decoded: Decoded) -> Outcome:
        ref = getattr(decoded.event, "ref", None)
        with log_context(ref=ref if isinstance(ref, str) else ""):  # each log line names it
            return await self._dispatch_event(decoded)

    async def _dispatch_event(self, decoded: Decoded) -> Outcome:
        envelope, event, ours = decoded.envelope, decoded.event, self._ctx.name
        if isinstance(event, SourceRecordObserved):
            return await self._observed(envelope, event)
        if isinstance(event, SourceRecordDeleted):
            return await self._deleted(envelope, event)
        if isinstance(event, RetryRequested | ReflowRequested) and event.ledger == ours:
            return await self._retry(event.ref)
        if isinstance(event, RepushRequested) and event.ledger == ours:
            return await self._repush(envelope, event)
        if isinstance(event, ReviewResolved) and event.ledger == ours:
            return await self._reviews.resolved(envelope, event)
        if isinstance(event, ConflictSettled) and event.ledger == ours:
            return await self._settled_conflict(event)
        if isinstance(event, RecordReleasedForRollout) and event.ledger == ours:
            return await self._retry(event.ref)  # the scope was widened to admit it
        return Outcome("ignored")

    async def _settled_conflict(self, event: ConflictSettled) -> Outcome:
        """Overwrite: the record's latest version again, as an update with the version
        token of the decision (the fold set it); keep-ledger: nothing to push."""
        if event.decision != "overwrite":
            return Outcome("skipped", event.ref)
        return await self._retry(event.ref)

    async def _retry(self, ref: str) -> Outcome:
        """Handle the record's latest observed version again (its rejection or
        abandonment was cleared by the fold)."""
        rec = self.state.records.get(ref)
        if rec is None or not rec.observed_seq:
            return Outcome("ignored", ref)
        async for stored in self._ctx.store.read(rec.observed_subject, rec.observed_seq):
            if stored.seq == rec.observed_seq:
                return await self._observed_again(stored.seq, stored.raw, ref)
        return Outcome("ignored", ref)

    async def _repush(self, envelope: Envelope, event: RepushRequested) -> Outcome:
        """Create a record that is gone from the ledger again; if the ledger still holds
        one with our reference, link that one instead (never a duplicate)."""
        ref = RecordRef.parse(event.ref)
        rec = self.state.records.get(event.ref)
        if rec is None or rec.observed_sha is None:
            return Outcome("ignored", event.ref)
        try:
            found = await self._ctx.ledger.find(ref.kind, event.ref)
        except TransientLedgerError as exc:
            return Outcome("retry", event.ref, exc.retry_after or self._ctx.base_delay)
        if found is None:
            return await self._retry(event.ref)
        key = idempotency_key(event.ref, rec.observed_sha, self._ctx.name)
        work = Work(ref, rec, None, rec.observed_sha, key, envelope.id, envelope.correlation_id)
        await self._outcomes.link(work, found, matched_by="repush: our reference is on it")
        return Outcome("linked", event.ref)

    async def _observed_again(self, seq: int, raw: bytes, ref: str) -> Outcome:
        try:
            decoded = decode(raw)
        except UndecodableEvent as exc:
            log.warning("event at sequence %d cannot be acted on (%s); skipped", seq, exc)
            return Outcome("ignored", ref)
        if not isinstance(decoded.event, SourceRecordObserved):
            return Outcome("ignored", ref)
        return await self._observed(decoded.envelope, decoded.event)

    # ------------------------------------------------------------------ observe, validate

    async def _observed(self, envelope: Envelope, event: SourceRecordObserved) -> Outcome:
        ref, sha = RecordRef.parse(event.ref), event.content_sha256
        rec = self.state.get(str(ref))
        key = idempotency_key(str(ref), _salted(sha, rec), self._ctx.name)
        if self._settled(rec, sha, key):
            return Outcome("skipped", str(ref))
        if await self.rollout.holds(envelope, event):  # out of the rollout scope
            return Outcome("held", str(ref))
        record = await self._validated(ref, envelope, event)
        if isinstance(record, Outcome):
            return record
        work = Work(ref, rec, record, sha, key, envelope.id, envelope.correlation_id)
        return await self._route(work, envelope)

    def _settled(self, rec: RecordState, sha: str, key: str) -> bool:
        """Superseded, refused or deleted since; done; given up, or waiting for a person."""
        if sha != rec.observed_sha or sha == rec.rejected_sha or rec.deleted:
            return True
        if sha == rec.pushed_sha and not self._disputes.open(rec) and rec.overwrite_id is None:
            return True
        return key in (rec.abandoned_key, rec.review_key)

    async def _validated(
        self, ref: RecordRef, envelope: Envelope, event: SourceRecordObserved
    ) -> Record | Outcome:
        """The record as the ledger takes it (the mapping's transforms applied, every
        rule checked), or the rejection's outcome."""
        sha = event.content_sha256
        try:
            judged = self._judged(ref, envelope, event)
        except SubjectErased:
            message = "personal data was erased under retention; the record cannot be pushed"
            return await self._outcomes.reject(ref, sha, envelope, [("subject_erased", message)])
        if isinstance(judged, tuple):
            return await self._outcomes.reject_reasons(ref, sha, envelope, judged)
        return judged

    def _judged(
        self, ref: RecordRef, envelope: Envelope, event: SourceRecordObserved
    ) -> Record | tuple[RejectionReason, ...]:
        """The record as the ledger takes it, or why not (nothing logged here)."""
        fields = self._fields(envelope, event)
        mapped: tuple[RejectionReason, ...] = ()
        if self._ctx.mapping is not None:  # the ledger's declared transforms and item policy
            fields, mapped = self._ctx.mapping.apply(ref.kind, fields)
        item = SourceItem(ref.system, ref.kind, ref.id, event.version, fields)
        result = validate(item, self._ctx.rules, home_currency=self._ctx.home_currency)
        reasons = (*mapped, *(result.reasons if isinstance(result, Rejected) else ()))
        if reasons or isinstance(result, Rejected):
            return reasons
        return result.record

    def _customer(self, decoded: Decoded) -> Customer | None:
        """A batch's new customer as its handler will match it (``sync_matches``)."""
        event = decoded.event
        assert isinstance(event, SourceRecordObserved)
        judged = self._judged(RecordRef.parse(event.ref), decoded.envelope, event)
        return judged if isinstance(judged, Customer) else None

    def _fields(self, envelope: Envelope, event: SourceRecordObserved) -> dict[str, Any]:
        fields = dict(event.record)
        if envelope.pii:
            fields.update(self._sealer.open(envelope.pii, envelope.id))
        return fields

    # ------------------------------------------------------------------ route, match

    async def _route(self, work: Work, cause: Envelope) -> Outcome:
        record, linked = work.record, work.state.ledger_ref is not None
        if isinstance(record, Invoice) and linked and self._disputes.credited(work.state):
            return await self._disputes.refuse_change(work, cause)
        if isinstance(record, Invoice) and record.status == "disputed":
            return await self._disputes.disputed(work, record, cause)
        if isinstance(record, Invoice) and record.status == "void":
            if not linked or work.state.voided:
                return Outcome("skipped", str(work.ref))  # nothing in the ledger to void
            return await self._push(replace(work, operation="void"), cause)
        if not linked and isinstance(record, Customer):
            twin = self.state.same_name(str(work.ref))
            if twin is not None:
                return await self._reject(work, cause, "duplicate_name", _twin(twin))
        if not linked:
            return await self._push(work, cause)
        if isinstance(record, Customer | Invoice):
            return await self._push(replace(work, operation="update"), cause)
        message = (
            f"this {work.ref.kind} is already posted in {self._ctx.name} as "
            f"{work.state.ledger_ref}; posted money is not edited: reverse it in the "
            "ledger and record a new one"
        )
        return await self._reject(work, cause, f"{work.ref.kind}_changed", message)

    async def _reject(self, work: Work, cause: Envelope, code: str, message: str) -> Outcome:
        return await self._outcomes.reject(work.ref, work.content_sha, cause, [(code, message)])

    async def _deleted(self, envelope: Envelope, event: SourceRecordDeleted) -> Outcome:
        ref = RecordRef.parse(event.ref)
        rec = self.state.get(str(ref))
        if ref.kind != "invoice" or rec.ledger_ref is None or rec.voided or not rec.deleted:
            return Outcome("ignored", str(ref))  # only posted invoices are undone (voided)
        marker = f"deleted:{event.version}"
        key = idempotency_key(str(ref), marker, self._ctx.name)
        if rec.abandoned_key == key:
            return Outcome("skipped", str(ref))
        cause = (envelope.id, envelope.correlation_id)
        work = Work(ref, rec, None, marker, key, *cause, operation="void")
        return await self._push(work, envelope)

    # ------------------------------------------------------------------ intend, push, settle

    async def _push(self, work: Work, cause: Envelope) -> Outcome:
        blocked = await self._blocked(work, cause)
        if blocked is not None:
            return blocked
        if work.operation == "create" and work.state.pending_key not in (None, work.key):
            adopted = await self._adopt_interrupted(work, cause)
            if adopted is not None:
                return adopted
        try:
            return await self._intend_and_write(work, cause)
        except TransientLedgerError as exc:
            return await self._outcomes.failed(work, exc, exc.retry_after)
        except AuthExpiredError as exc:
            return await self._outcomes.failed(work, exc, 60.0)
        except LedgerError as exc:
            attempts = work.state.attempts + 1
            return await self._outcomes.abandon(work, exc.code, str(exc), attempts)

    async def _blocked(self, work: Work, cause: Envelope) -> Outcome | None:
        """Not yet (a record it needs is on its way), or never as it stands (a record it
        needs is missing or refused); None: go."""
        missing = self._prepare.missing_dependency(work)
        if missing == "wait" and self._batch.holds_dependency_of(work):
            await self._batch.flush()
            missing = self._prepare.missing_dependency(work)
        if missing == "wait":
            return Outcome("retry", str(work.ref), self._ctx.base_delay)
        if missing is None:
            return None
        dep, code, message = missing
        return await self._outcomes.reject(
            work.ref, work.content_sha, cause, [(code, message)], dep
        )

    async def _intend_and_write(self, work: Work, cause: Envelope) -> Outcome:
        if work.state.pending_key == work.key:  # ask exactly what the interrupted one asked
            return await self._write(replace(work, applied=work.state.pending_applied), True)
        prepared = await self._prepare.prepare(work)
        if isinstance(prepared, tuple):
            return await self._outcomes.reject(work.ref, work.content_sha, cause, [prepared])
        if self._batch.takes(prepared):
            return self._batch.hold(prepared)
        if not await self._claims.claim(prepared):
            return self._claims.elsewhere(prepared)
        return await self._write(prepared, False)

    async def _write(self, work: Work, recovering: bool) -> Outcome:
        if work.operation == "create":
            return await self._creates.write(work, recovering)
        return await self._updates.write(work, recovering)

    async def _adopt_interrupted(self, work: Work, cause: Envelope) -> Outcome | None:
        """An earlier version's create was asked for and never settled (a crash, then the
        source changed): if that write landed, the ledger record carries our reference.
        Link it (as that version) and go on as an update, never as a second create."""
        rec = work.state
        try:
            found = await self._ctx.ledger.find(work.ref.kind, str(work.ref))
        except TransientLedgerError as exc:
            return Outcome("retry", str(work.ref), exc.retry_after or self._ctx.base_delay)
        if found is None:
            return None
        await self._log.emit(
            work,
            RecordLinked(
                source_ref=str(work.ref),
                ledger=self._ctx.name,
                ledger_ref=found.ledger_id,
                matched_by="our reference, written by an earlier version's interrupted push",
                content_sha256=rec.pending_sha or "",
                idempotency_key=rec.pending_key,
            ),
        )
        return await self._route(work, cause)


def _salted(sha: str, rec: RecordState) -> str:
    """The content hash as the idempotency key takes it: after a repush, salted with the
    request so the ledger never answers the new create with the deleted record; during an
    overwrite, with the decision, so the ledger never answers with the refused update."""
    salted = sha if rec.repush_id is None else f"{sha}:repush:{rec.repush_id}"
    return salted if rec.overwrite_id is None else f"{salted}:overwrite:{rec.overwrite_id}"


def _twin(twin: str) -> str:
    """The refusal names the other record, never the name (personal data: it is sealed)."""
    return (
        f"the customer's name is already used by {twin}; ledgers keep customer names "
        "unique: rename one, or merge the two in the source"
    )


#: the events the worker acts on: they must read as their typed event before it does
_ACTED_ON = (
    SourceRecordObserved,
    SourceRecordDeleted,
    RetryRequested,
    ReflowRequested,
    ReviewResolved,
    RepushRequested,
    ConflictSettled,
    RecordReleasedForRollout,
)


@dataclass(frozen=True, slots=True)
class Readable:
    fold: dict[str, Any]  #: the stored event as ``SyncState`` folds it
    decoded: Decoded | None  #: typed and upcast: the events the worker acts on


def readable(seq: int, raw: bytes) -> Readable | None:
    """The stored event, or None (logged) when it cannot be acted on: bytes that are not
    an event, or an event the worker uses that does not decode as its type (written by a
    buggy or older version without an upcaster). Skipping it never bricks the worker; the
    read models list it as unfoldable."""
    try:
        event: dict[str, Any] = json.loads(raw)
        kind = event["type"]
        decoded = decode_json(event, raw) if is_wanted(kind, _ACTED_ON) else None
    except (UndecodableEvent, ValueError, KeyError, TypeError) as exc:
        log.warning("event at sequence %d cannot be acted on (%s); skipped", seq, exc)
        return None
    return Readable(event, decoded)
