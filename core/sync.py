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
============================  ===========================================================

Field authority (configurable per kind, ``SYNCLEDGER_FIELD_AUTHORITY``): by default the
source owns contact details (a ledger-side edit of a customer is logged as
``ConflictDetected(source_wins)`` and overwritten); the ledger owns documents once posted
(a ledger-side edit of an invoice is logged as ``ConflictDetected(needs_review)`` and the
push is abandoned for a person to decide). Payment status always comes from the ledger.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from adapters.ports import (
    BatchCreator,
    CreateRequest,
    LedgerAdapter,
    LedgerRecord,
    PushResult,
    SourceItem,
    WriteSteps,
)
from core.errors import (
    AuthExpiredError,
    ConcurrencyError,
    LedgerError,
    StaleVersionError,
    SubjectErased,
    TransientLedgerError,
)
from core.events import (
    ConflictDetected,
    CustomerCreditRecorded,
    EventData,
    InvoiceDisputed,
    LedgerItemCreated,
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    RecordLinked,
    RejectionReason,
    RetryRequested,
    ReviewRequested,
    SealedPii,
    SourceRecordRejected,
    make_envelope,
    registered_types,
    upcast,
)
from core.keystore import KeyStore, PiiSealer
from core.mapping import Mapping
from core.model import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    Record,
    RecordRef,
    Refund,
)
from core.steps import StepJournal
from core.store import EventStore
from core.subjects import ledger_subject, source_subject
from core.sync_state import RecordState, SyncState
from core.validation import (
    CUSTOMER_NOT_FOUND,
    DISPUTE_ALREADY_CREDITED,
    DISPUTE_ON_PAID_INVOICE,
    LEDGER_ITEM_MISSING,
    REFUND_EXCEEDS_CREDIT,
    Rejected,
    validate,
)

log = logging.getLogger(__name__)

Status = Literal[
    "pushed",
    "linked",
    "recovered",
    "rejected",
    "skipped",
    "retry",
    "abandoned",
    "ignored",
    "review",  # waiting for a person to decide (``syncledger review``)
    "deferred",  # held for a batch; replaced by the batch's outcome in handle_many
]
Operation = Literal["create", "update", "void"]
#: who wins a conflicting ledger-side edit, per kind (the source owns contact details; the
#: ledger owns posted documents and everything about money)
DEFAULT_AUTHORITY: dict[str, str] = {
    "customer": "source",
    "invoice": "ledger",
    "credit_note": "ledger",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    source_ref: str | None = None
    retry_after: float | None = None


def idempotency_key(source_ref: str, content_sha: str, ledger: str) -> str:
    return hashlib.sha256(f"{source_ref}\x00{content_sha}\x00{ledger}".encode()).hexdigest()


def backoff(attempt: int, retry_after: float | None, base: float, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter, never sooner than the ledger asked."""
    delay: float = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class _Work:
    ref: RecordRef
    state: RecordState
    record: Record | None  # None: a source delete
    content_sha: str
    key: str
    causation: str
    correlation: str
    operation: Operation = "create"
    applied: Decimal | None = None  # payments: the part applied (None: all of it)


#: a dependency's reference and why the dependent cannot go yet
Missing = tuple[str, str, str]


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
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._sealer = PiiSealer(keys)
        self.state = state
        self._entity = entity
        self._actor = actor
        self._mapping_version = mapping.version if mapping is not None else mapping_version
        self._mapping = mapping
        self._authority = authority or DEFAULT_AUTHORITY
        self._home_currency = home_currency
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._batch: list[tuple[int, _Work]] | None = None  # (result index, work)
        self._results: list[Outcome] = []
        self.batch_limit = 30
        #: called right before every ledger write (and every push intent); raises
        #: ``OwnershipLost`` once this process no longer holds the entity+ledger lease
        self.guard: Callable[[], None] | None = None

    def _check_owner(self) -> None:
        if self.guard is not None:
            self.guard()

    def _journal(self, work: _Work) -> WriteSteps:
        async def emit(payload: EventData) -> None:
            await self._emit(work, payload)

        return StepJournal(
            source_ref=str(work.ref),
            ledger=self._ledger.ledger,
            key=work.key,
            state=work.state,
            emit=emit,
            guard=self.guard,
        )

    # ------------------------------------------------------------------ entry

    async def handle_many(self, items: Sequence[tuple[int, str, bytes]]) -> list[Outcome]:
        """Handle events in stream order, creating documents through the ledger's batch
        endpoint where it has one (one request, one fsync for many records)."""
        if not isinstance(self._ledger, BatchCreator):
            return [await self.handle(seq, subject, raw) for seq, subject, raw in items]
        self._batch, self._results = [], []
        try:
            for seq, subject, raw in items:
                self._results.append(await self.handle(seq, subject, raw))
                if len(self._batch) >= self.batch_limit:
                    await self._flush_batch()
            await self._flush_batch()
            return self._results
        finally:
            self._batch = None

    async def handle(self, seq: int, subject: str, raw: bytes) -> Outcome:
        event = readable(seq, raw)
        if event is None:
            return Outcome("ignored")  # listed by `syncledger errors` (unfoldable)
        self.state.apply(seq, subject, event)
        kind = event["type"]
        if kind == "SourceRecordObserved":
            return await self._observed(event)
        if kind == "SourceRecordDeleted":
            return await self._deleted(event)
        if kind == "RetryRequested" and event["data"]["ledger"] == self._ledger.ledger:
            return await self._retry(event["data"]["ref"])
        if kind == "ReviewResolved" and event["data"]["ledger"] == self._ledger.ledger:
            return await self._resolved(event)
        return Outcome("ignored")

    async def _retry(self, ref: str) -> Outcome:
        """Handle the record's latest observed version again (its rejection or
        abandonment was cleared by the fold)."""
        rec = self.state.records.get(ref)
        if rec is None or not rec.observed_seq:
            return Outcome("ignored", ref)
        async for stored in self._store.read(rec.observed_subject, rec.observed_seq):
            if stored.seq == rec.observed_seq:
                return await self._observed(json.loads(stored.raw))
        return Outcome("ignored", ref)

    async def _observed(self, event: dict[str, Any]) -> Outcome:
        data = event["data"]
        ref = RecordRef.parse(data["ref"])
        rec = self.state.get(str(ref))
        sha = data["content_sha256"]
        if sha != rec.observed_sha or sha == rec.rejected_sha or rec.deleted:
            return Outcome("skipped", str(ref))  # superseded, refused, or deleted since
        if sha == rec.pushed_sha and not self._dispute_open(rec):
            return Outcome("skipped", str(ref))  # done
        key = idempotency_key(str(ref), sha, self._ledger.ledger)
        if key in (rec.abandoned_key, rec.review_key):
            return Outcome("skipped", str(ref))  # given up, or waiting for a person
        try:
            fields = self._fields(event)
        except SubjectErased:
            return await self._reject(
                ref,
                sha,
                event,
                [
                    (
                        "subject_erased",
                        "personal data was erased under retention; the record cannot be pushed",
                    )
                ],
            )
        if self._mapping is not None:  # the ledger's declared transforms and item policy
            fields, mapped = self._mapping.apply(ref.kind, fields)
        else:
            mapped = ()
        item = SourceItem(ref.system, ref.kind, ref.id, data["version"], fields)
        result = validate(item, self._ledger.ledger, home_currency=self._home_currency)
        reasons = (*mapped, *(result.reasons if isinstance(result, Rejected) else ()))
        if reasons or isinstance(result, Rejected):
            return await self._reject_reasons(ref, sha, event, reasons)
        work = _Work(ref, rec, result.record, sha, key, event["id"], event["correlation_id"])
        return await self._route(work, event)

    def _fields(self, event: dict[str, Any]) -> dict[str, Any]:
        fields = dict(event["data"]["record"])
        if event.get("pii"):
            fields.update(self._sealer.open(SealedPii.model_validate(event["pii"]), event["id"]))
        return fields

    async def _route(self, work: _Work, event: dict[str, Any]) -> Outcome:
        record, linked = work.record, work.state.ledger_ref is not None
        if isinstance(record, Invoice) and linked and self._credited(work.state):
            return await self._reject(
                work.ref,
                work.content_sha,
                event,
                [
                    (
                        DISPUTE_ALREADY_CREDITED,
                        f"{work.ref} was disputed and credited in full by "
                        f"{work.state.dispute_ref}; it stays credited: bill what was agreed "
                        "on a new invoice",
                    )
                ],
            )
        if isinstance(record, Invoice) and record.status == "disputed":
            return await self._disputed(work, record, event)
        if isinstance(record, Invoice) and record.status == "void":
            if not linked or work.state.voided:
                return Outcome("skipped", str(work.ref))  # nothing in the ledger to void
            return await self._push(replace(work, operation="void"), event)
        if not linked and isinstance(record, Customer):
            twin = self.state.same_name(str(work.ref), record.name)
            if twin is not None:
                return await self._reject(
                    work.ref,
                    work.content_sha,
                    event,
                    [
                        (
                            "duplicate_name",
                            f"customer name {record.name!r} is already used by {twin}; "
                            "ledgers keep customer names unique: rename one, or merge the two "
                            "in the source",
                        )
                    ],
                )
        if not linked:
            return await self._push(work, event)
        if isinstance(record, Customer | Invoice):
            return await self._push(replace(work, operation="update"), event)
        return await self._reject(
            work.ref,
            work.content_sha,
            event,
            [
                (
                    f"{work.ref.kind}_changed",
                    f"this {work.ref.kind} is already posted in {self._ledger.ledger} as "
                    f"{work.state.ledger_ref}; posted money is not edited: reverse it in the "
                    "ledger and record a new one",
                )
            ],
        )

    # ------------------------------------------------------------------ disputes

    def _dispute_open(self, rec: RecordState) -> bool:
        """A disputed invoice whose credit note is not in the ledger yet (a crash came
        between the invoice's push and its credit)."""
        if rec.dispute_ref is None:
            return False
        credit = self.state.records.get(rec.dispute_ref)
        return credit is None or (credit.ledger_ref is None and credit.abandoned_key is None)

    def _credited(self, rec: RecordState) -> bool:
        if rec.dispute_ref is None:
            return False
        credit = self.state.records.get(rec.dispute_ref)
        return credit is not None and credit.ledger_ref is not None

    async def _disputed(self, work: _Work, invoice: Invoice, event: dict[str, Any]) -> Outcome:
        """The credit-note workflow: the invoice is posted as it stands (never edited away
        or deleted), and a credit note applied to it credits its open balance."""
        credit_ref = RecordRef(
            system=work.ref.system, kind="credit_note", id=f"{work.ref.id}~dispute"
        )
        if work.state.dispute_ref is None:
            await self._emit(
                work,
                InvoiceDisputed(
                    source_ref=str(work.ref),
                    ledger=self._ledger.ledger,
                    credit_note_ref=str(credit_ref),
                ),
            )
        if work.state.pushed_sha != work.content_sha:
            linked = work.state.ledger_ref is not None
            posted = await self._push(
                replace(work, operation="update" if linked else "create"), event
            )
            if posted.status not in ("pushed", "recovered"):
                return posted
        return await self._credit_dispute(work, invoice, credit_ref, event)

    async def _credit_dispute(
        self, work: _Work, invoice: Invoice, credit_ref: RecordRef, event: dict[str, Any]
    ) -> Outcome:
        credit = self.state.get(str(credit_ref))
        if credit.ledger_ref is not None:
            return Outcome("skipped", str(credit_ref))  # credited already
        key = idempotency_key(str(credit_ref), work.content_sha, self._ledger.ledger)
        if credit.abandoned_key == key:
            return Outcome("skipped", str(credit_ref))
        ledger_id = self.state.get(str(work.ref)).ledger_ref
        assert ledger_id is not None
        try:
            posted = await self._ledger.get("invoice", ledger_id)
        except TransientLedgerError as exc:
            return Outcome("retry", str(work.ref), exc.retry_after or self._base_delay)
        balance = posted.balance if posted is not None else None
        recovering = credit.pending_key == key
        if not recovering and (balance is None or balance <= 0):
            return await self._reject(
                work.ref,
                work.content_sha,
                event,
                [
                    (
                        DISPUTE_ON_PAID_INVOICE,
                        f"{work.ref} is disputed but has no open balance in "
                        f"{self._ledger.ledger} (it is paid or credited already); settle the "
                        "dispute with a credit note and a refund in the source",
                    )
                ],
            )
        note = dispute_credit_note(invoice, credit_ref.id, balance or invoice.total)
        state = self.state.get(str(credit_ref))
        cwork = _Work(
            credit_ref, state, note, work.content_sha, key, work.causation, work.correlation
        )
        return await self._push(cwork, event)

    # ------------------------------------------------------------------ reviews

    async def _resolved(self, event: dict[str, Any]) -> Outcome:
        """A person decided a review item: link the record, or create it after all."""
        data = event["data"]
        ref = RecordRef.parse(data["ref"])
        rec = self.state.records.get(str(ref))
        if rec is None or rec.ledger_ref is not None or rec.observed_sha is None:
            return Outcome("ignored", str(ref))
        if data["decision"] == "create":
            return await self._retry(str(ref))
        key = idempotency_key(str(ref), rec.observed_sha, self._ledger.ledger)
        work = _Work(ref, rec, None, rec.observed_sha, key, event["id"], event["correlation_id"])
        try:
            found = await self._ledger.get(ref.kind, data["ledger_ref"])
        except TransientLedgerError as exc:
            return Outcome("retry", str(ref), exc.retry_after or self._base_delay)
        if found is None:
            await self._emit(
                work,
                ReviewRequested(
                    source_ref=str(ref),
                    ledger=self._ledger.ledger,
                    reason="link_target_missing",
                    candidates=rec.review_candidates,
                    message=f"{self._ledger.ledger} has no {ref.kind} {data['ledger_ref']} "
                    "to link to: choose another, or create",
                    idempotency_key=key,
                ),
            )
            return Outcome("review", str(ref))
        await self._link(work, found, matched_by=f"review: {data.get('note') or 'by hand'}")
        return Outcome("linked", str(ref))

    async def _deleted(self, event: dict[str, Any]) -> Outcome:
        data = event["data"]
        ref = RecordRef.parse(data["ref"])
        rec = self.state.get(str(ref))
        if ref.kind != "invoice" or rec.ledger_ref is None or rec.voided or not rec.deleted:
            return Outcome("ignored", str(ref))  # only posted invoices are undone (voided)
        marker = f"deleted:{data['version']}"
        key = idempotency_key(str(ref), marker, self._ledger.ledger)
        if rec.abandoned_key == key:
            return Outcome("skipped", str(ref))
        work = _Work(ref, rec, None, marker, key, event["id"], event["correlation_id"], "void")
        return await self._push(work, event)

    # ------------------------------------------------------------------ push

    async def _push(self, work: _Work, event: dict[str, Any]) -> Outcome:
        missing = self._missing_dependency(work)
        if missing == "wait" and self._waits_on_batch(work):
            await self._flush_batch()
            missing = self._missing_dependency(work)
        if missing == "wait":
            return Outcome("retry", str(work.ref), self._base_delay)
        if missing is not None:
            dep, code, message = missing
            return await self._reject(work.ref, work.content_sha, event, [(code, message)], dep)
        if work.operation == "create" and work.state.pending_key not in (None, work.key):
            adopted = await self._adopt_interrupted(work, event)
            if adopted is not None:
                return adopted
        recovering = work.state.pending_key == work.key
        try:
            if recovering:  # ask exactly what the interrupted attempt asked
                work = replace(work, applied=work.state.pending_applied)
            else:
                prepared = await self._prepare(work)
                if isinstance(prepared, tuple):
                    return await self._reject(work.ref, work.content_sha, event, [prepared])
                work = prepared
            if self._batch is not None and not recovering and self._batchable(work):
                self._batch.append((len(self._results), work))
                return Outcome("deferred", str(work.ref))
            if not recovering and not await self._claim(work):
                return self._claimed_elsewhere(work)
            return await self._write(work, recovering)
        except TransientLedgerError as exc:
            return await self._failed(work, exc, exc.retry_after)
        except AuthExpiredError as exc:
            return await self._failed(work, exc, 60.0)
        except LedgerError as exc:
            return await self._abandon(work, exc.code, str(exc), work.state.attempts + 1)

    # ------------------------------------------------------------------ claims

    async def _claim(self, work: _Work) -> bool:
        """Append the push's intent, checked against the record's ledger subject as this
        process last saw it. When another writer appended there first and its events show
        this push asked for (or done) already, the intent is not ours: False, and the
        record is tried again later as a recovery (a lookup by our reference before any
        write), so two processes never both write one intent."""
        subject = ledger_subject(self._entity, self._ledger.ledger, work.ref)
        for _ in range(3):
            self._check_owner()
            try:
                await self._append_once(subject, self._requested(work), work)
                return True
            except ConcurrencyError:
                await self._refresh(subject)
                if self._taken(work):
                    return False
        return False

    async def _claim_many(self, works: list[_Work]) -> list[bool]:
        """Claim many intents in one atomic append; on a conflict, one by one."""
        try:
            await self._append_many([(w, self._requested(w)) for w in works], fallback=False)
        except ConcurrencyError:
            return [await self._claim(w) for w in works]
        return [True] * len(works)

    def _taken(self, work: _Work) -> bool:
        rec = work.state
        if rec.pending_key == work.key or rec.pushed_sha == work.content_sha:
            return True
        return work.operation == "create" and rec.ledger_ref is not None

    def _claimed_elsewhere(self, work: _Work) -> Outcome:
        log.warning(
            "%s: another process asked the ledger for this push first; checking again later",
            work.ref,
        )
        return Outcome("retry", str(work.ref), max(self._base_delay, 10.0))

    async def _adopt_interrupted(self, work: _Work, event: dict[str, Any]) -> Outcome | None:
        """An earlier version's create was asked for and never settled (a crash, then the
        source changed): if that write landed, the ledger record carries our reference.
        Link it (as that version) and go on as an update, never as a second create."""
        rec = work.state
        try:
            found = await self._ledger.find(work.ref.kind, str(work.ref))
        except TransientLedgerError as exc:
            return Outcome("retry", str(work.ref), exc.retry_after or self._base_delay)
        if found is None:
            return None
        await self._emit(
            work,
            RecordLinked(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                ledger_ref=found.ledger_id,
                matched_by="our reference, written by an earlier version's interrupted push",
                content_sha256=rec.pending_sha or "",
                idempotency_key=rec.pending_key,
            ),
        )
        return await self._route(work, event)

    # ------------------------------------------------------------------ batches

    @staticmethod
    def _batchable(work: _Work) -> bool:
        if isinstance(work.record, Invoice) and work.record.status == "disputed":
            return False  # its credit note needs the invoice's ledger id straight away
        return work.operation == "create" and isinstance(
            work.record, Invoice | Payment | CreditNote
        )

    def _waits_on_batch(self, work: _Work) -> bool:
        held = {str(w.ref) for _, w in self._batch or ()}
        if work.record is None or not held:
            return False
        deps = {f"{work.ref.system}/{kind}/{rid}" for kind, rid in _needs(work.record)}
        return bool(deps & held)

    def _held_against(self, invoice_ledger_id: str) -> Decimal:
        """What batched, not yet sent payments and credit notes will apply to an invoice."""
        held = Decimal(0)
        for _, w in self._batch or ():
            rec = w.record
            if not isinstance(rec, Payment | CreditNote) or rec.invoice_id is None:
                continue
            if self._link_of(f"{w.ref.system}/invoice/{rec.invoice_id}") != invoice_ledger_id:
                continue
            if isinstance(rec, Payment):
                held += rec.amount if w.applied is None else w.applied
            else:
                held += rec.total if w.applied is None else w.applied
        return held

    async def _prepare(self, work: _Work) -> _Work | tuple[str, str]:
        """Decisions that need the ledger's current figures, made before the intent is
        logged: the items a document's lines name exist in the ledger, how much of a
        payment its invoice can take (the rest is customer credit), and whether the credit
        a refund draws on still holds the amount."""
        rec = work.record
        if isinstance(rec, Invoice | CreditNote) and work.operation != "void":
            missing = await self._ensure_items(work, rec)
            if missing is not None:
                return missing
        if work.operation != "create":
            return work
        if isinstance(rec, Payment):
            invoice_id = self._link_of(f"{work.ref.system}/invoice/{rec.invoice_id}")
            invoice = await self._ledger.get("invoice", invoice_id)
            if invoice is None or invoice.balance is None:
                return work  # the ledger will say what is wrong
            open_balance = Decimal(0) if invoice.status == "void" else invoice.balance
            open_balance -= self._held_against(invoice_id)
            if rec.amount <= open_balance:
                return work
            return replace(work, applied=max(open_balance, Decimal(0)))
        if isinstance(rec, CreditNote) and rec.invoice_id:
            return await self._credit_to_apply(work, rec)
        if isinstance(rec, Refund):
            credit_ref = f"{work.ref.system}/{rec.credit_kind}/{rec.credit_id}"
            credit = await self._ledger.get(rec.credit_kind, self._link_of(credit_ref))
            left = None if credit is None else credit.balance
            if left is not None and rec.amount > left:
                return (
                    REFUND_EXCEEDS_CREDIT,
                    f"the refund of {rec.amount} {rec.currency} is more than the {left} "
                    f"{rec.currency} of credit {credit_ref} still holds in "
                    f"{self._ledger.ledger}",
                )
        return work

    async def _credit_to_apply(self, work: _Work, note: CreditNote) -> _Work:
        """How much of a credit note its invoice takes: what the invoice still owes, at most
        the credit (the rest stays with the customer). Logged with the intent, so the
        reconciler can check the ledger applied exactly that."""
        invoice_id = self._link_of(f"{work.ref.system}/invoice/{note.invoice_id}")
        invoice = await self._ledger.get("invoice", invoice_id)
        if invoice is None or invoice.balance is None:
            return work
        open_balance = Decimal(0) if invoice.status == "void" else invoice.balance
        open_balance -= self._held_against(invoice_id)
        return replace(work, applied=min(note.total, max(open_balance, Decimal(0))))

    async def _ensure_items(
        self, work: _Work, document: Invoice | CreditNote
    ) -> tuple[str, str] | None:
        """Every item the document's lines name is in the ledger before the document goes
        (the adapter books each line to it). A code the mapping sends to a ledger item must
        name one; an unlisted code is created only under ``unmatched = "create"`` (with no
        mapping file, nothing is created). A refusal is a reason to reject the record."""
        for code in dict.fromkeys(line.item_code for line in document.lines if line.item_code):
            item = await self._ledger.find_item(code)
            if item is not None:
                if code in self.state.items and self.state.items[code] is None:
                    await self._item_created(work, code, item.ledger_id, recovered=True)
                continue
            if self._mapping is None or not self._mapping.items.creates(code):
                return LEDGER_ITEM_MISSING, self._item_missing(code)
            if code not in self.state.items:
                await self._emit(
                    work,
                    LedgerItemRequested(
                        source_ref=str(work.ref),
                        ledger=self._ledger.ledger,
                        code=code,
                        mapping_version=self._mapping_version,
                    ),
                )
            key = hashlib.sha256(f"item\x00{code}\x00{self._ledger.ledger}".encode()).hexdigest()
            self._check_owner()
            made = await self._ledger.create_item(code, idempotency_key=key)
            await self._item_created(work, code, made.ledger_id, recovered=False)
        return None

    async def _item_created(self, work: _Work, code: str, item_id: str, *, recovered: bool) -> None:
        await self._emit(
            work,
            LedgerItemCreated(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                code=code,
                ledger_item_ref=item_id,
                recovered=recovered,
            ),
        )

    def _item_missing(self, code: str) -> str:
        ledger = self._ledger.ledger
        if self._mapping is None:
            return (
                f"a line is booked to item {code!r}, which {ledger} does not have, and with no "
                f"mapping file the sync creates no items: create {code!r} in {ledger} or map "
                "the code in [items.map]"
            )
        if code in self._mapping.items.items.values():
            sources = sorted(k for k, v in self._mapping.items.items.items() if v == code)
            return (
                f"[items.map] of {self._mapping.source} sends {', '.join(map(repr, sources))} "
                f"to item {code!r}, which {ledger} does not have: create it in {ledger} or "
                "correct the entry"
            )
        return (
            f"a line is booked to item {code!r}, which {ledger} does not have, and the item "
            f'policy of {self._mapping.source} is unmatched = "{self._mapping.items.unmatched}"'
            f": create {code!r} in {ledger} or map the code in [items.map]"
        )

    def _request(self, work: _Work) -> CreateRequest:
        rec = work.record
        assert isinstance(rec, Invoice | Payment | CreditNote)
        invoice_id = getattr(rec, "invoice_id", None)
        return CreateRequest(
            record=rec,
            customer_ledger_id=self._link_of(f"{work.ref.system}/customer/{rec.customer_key()}"),
            invoice_ledger_id=(
                self._link_of(f"{work.ref.system}/invoice/{invoice_id}") if invoice_id else None
            ),
            external_ref=str(work.ref),
            idempotency_key=work.key,
            applied=work.applied,
            steps=self._journal(work),
        )

    async def _flush_batch(self) -> None:
        """Requested events (one append), one batch call, outcome events (one append)."""
        held, self._batch = self._batch or [], [] if self._batch is not None else None
        if not held:
            return
        self._check_owner()
        claims = await self._claim_many([w for _, w in held])
        for (index, work), claimed in zip(held, claims, strict=True):
            if not claimed:
                self._results[index] = self._claimed_elsewhere(work)
        held = [h for h, claimed in zip(held, claims, strict=True) if claimed]
        if not held:
            return
        works = [w for _, w in held]
        self._check_owner()
        assert isinstance(self._ledger, BatchCreator)
        batch_key = hashlib.sha256("".join(w.key for w in works).encode()).hexdigest()
        try:
            answers = await self._ledger.create_many(
                [self._request(w) for w in works], batch_key=batch_key
            )
        except LedgerError as exc:  # the whole call failed: every item is retried alone
            answers = [exc] * len(works)
        settled = [self._settle(w, a) for w, a in zip(works, answers, strict=True)]
        await self._append_many(
            [(w, payload) for w, (payload, _) in zip(works, settled, strict=True)]
        )
        for (index, _), (_, outcome) in zip(held, settled, strict=True):
            self._results[index] = outcome
        for work, (payload, _) in zip(works, settled, strict=True):
            if isinstance(payload, LedgerPushSucceeded):
                await self._after_success(work, payload)

    def _settle(self, work: _Work, answer: PushResult | LedgerError) -> tuple[EventData, Outcome]:
        ref, name = str(work.ref), self._ledger.ledger
        if isinstance(answer, PushResult):
            return self._success(work, answer), Outcome("pushed", ref)
        attempt = work.state.attempts + 1
        transient = isinstance(answer, TransientLedgerError | AuthExpiredError)
        if not transient or attempt >= self._max_attempts:
            return LedgerPushAbandoned(
                source_ref=ref,
                ledger=name,
                idempotency_key=work.key,
                attempts=attempt,
                code=answer.code,
                message=str(answer),
                transient=isinstance(answer, TransientLedgerError),
            ), Outcome("abandoned", ref)
        hint = answer.retry_after if isinstance(answer, TransientLedgerError) else 60.0
        delay = backoff(attempt, hint, self._base_delay)
        return LedgerPushFailed(
            source_ref=ref,
            ledger=name,
            idempotency_key=work.key,
            attempt=attempt,
            code=answer.code,
            message=str(answer),
            retry_at=datetime.now(UTC) + timedelta(seconds=delay),
            step=answer.step,
        ), Outcome("retry", ref, delay)

    def _requested(self, work: _Work) -> LedgerPushRequested:
        return LedgerPushRequested(
            source_ref=str(work.ref),
            ledger=self._ledger.ledger,
            operation=work.operation,
            idempotency_key=work.key,
            mapping_version=self._mapping_version,
            content_sha256=work.content_sha,
            applied=work.applied,
        )

    async def _write(self, work: _Work, recovering: bool) -> Outcome:
        if work.operation == "create":
            return await self._create_once(work, recovering)
        resuming = bool(work.state.steps_of(work.key))  # the journal finishes what began
        if recovering and not resuming and await self._already_applied(work):
            return Outcome("recovered", str(work.ref))
        try:
            result = await self._change(work, work.state.ledger_version)
        except StaleVersionError as exc:
            return await self._conflict(work, exc)
        await self._succeeded(work, result)
        return Outcome("pushed", str(work.ref))

    async def _create_once(self, work: _Work, recovering: bool) -> Outcome:
        if recovering and not work.state.steps_of(work.key):
            found = await self._ledger.find(work.ref.kind, str(work.ref))
            if found is not None:
                await self._succeeded(work, PushResult(found.ledger_id, found.version, True))
                return Outcome("recovered", str(work.ref))
        if isinstance(work.record, Customer) and work.state.review_decision != "create":
            matched = await self._match(work, work.record)
            if matched is not None:
                return matched
        result = await self._create(work)
        await self._succeeded(work, result)
        return Outcome("recovered" if result.recovered else "pushed", str(work.ref))

    async def _already_applied(self, work: _Work) -> bool:
        """After a crash during an update/void: did our write land? (The ledger's version
        moved and its content is what we meant to write.)"""
        current = await self._current(work)
        if current is None or current.version == work.state.ledger_version:
            return False
        if work.operation == "void":
            landed = current.status == "void"
        elif isinstance(work.record, Customer):
            landed = current.name == work.record.name
        else:
            landed = isinstance(work.record, Invoice) and current.total == work.record.total
        if landed:
            await self._succeeded(work, PushResult(current.ledger_id, current.version, True))
        return landed

    async def _current(self, work: _Work) -> LedgerRecord | None:
        assert work.state.ledger_ref is not None
        return await self._ledger.get(work.ref.kind, work.state.ledger_ref)

    async def _change(self, work: _Work, version: str | None) -> PushResult:
        ledger_id = work.state.ledger_ref
        assert ledger_id is not None
        rec, ref, key = work.record, str(work.ref), work.key
        self._check_owner()
        steps = self._journal(work)
        if work.operation == "void":
            return await self._ledger.void_invoice(
                ledger_id, version=version, idempotency_key=key, steps=steps
            )
        if isinstance(rec, Customer):
            return await self._ledger.update_customer(
                rec, ledger_id=ledger_id, version=version, external_ref=ref, idempotency_key=key
            )
        assert isinstance(rec, Invoice)
        return await self._ledger.update_invoice(
            rec,
            ledger_id=ledger_id,
            version=version,
            customer_ledger_id=self._link_of(f"{work.ref.system}/customer/{rec.customer_id}"),
            external_ref=ref,
            idempotency_key=key,
            steps=steps,
        )

    async def _conflict(self, work: _Work, exc: StaleVersionError) -> Outcome:
        current = await self._current(work)
        actual = current.version if current is not None else None
        if current is not None and self._only_money_moved(work, current):
            await self._succeeded(work, await self._change(work, actual))
            return Outcome("pushed", str(work.ref))
        source_wins = self._authority.get(work.ref.kind, "ledger") == "source"
        await self._emit(
            work,
            ConflictDetected(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                ledger_ref=work.state.ledger_ref or "",
                expected_version=work.state.ledger_version,
                actual_version=actual,
                resolution="source_wins" if source_wins else "needs_review",
                detail=str(exc),
            ),
        )
        if not source_wins or current is None:
            return await self._abandon(
                work,
                "conflict",
                f"{work.ref} was edited in {self._ledger.ledger} since we last wrote it "
                f"(version {work.state.ledger_version} → {actual}); the ledger owns posted "
                "documents: review the change, then `syncledger retry`",
                work.state.attempts + 1,
            )
        await self._succeeded(work, await self._change(work, actual))
        return Outcome("pushed", str(work.ref))

    @staticmethod
    def _only_money_moved(work: _Work, current: LedgerRecord) -> bool:
        """Our own payments and credit notes move an invoice's version too: a new version
        whose total is still the one we pushed is not someone's edit."""
        return (
            work.ref.kind == "invoice"
            and work.state.pushed_total is not None
            and current.total == work.state.pushed_total
            and current.status != "void"
        )

    async def _match(self, work: _Work, customer: Customer) -> Outcome | None:
        candidates = await self._ledger.match_customer(customer)
        ours = [c for c in candidates if c.external_ref == str(work.ref)]
        if ours:
            await self._succeeded(work, PushResult(ours[0].ledger_id, ours[0].version, True))
            return Outcome("recovered", str(work.ref))
        # a ledger customer that carries another of our references is a different record
        candidates = [c for c in candidates if c.external_ref is None]
        if len(candidates) == 1:
            await self._link(work, candidates[0])
            return Outcome("linked", str(work.ref))
        if len(candidates) > 1:
            ids = tuple(c.ledger_id for c in candidates)
            await self._emit(
                work,
                ReviewRequested(
                    source_ref=str(work.ref),
                    ledger=self._ledger.ledger,
                    reason="ambiguous_match",
                    candidates=ids,
                    message=(
                        f"{len(ids)} {self._ledger.ledger} customers match {work.ref} "
                        f"({', '.join(ids[:5])}): link it to one of them, or create a new "
                        "customer if none is it"
                    ),
                    idempotency_key=work.key,
                ),
            )
            return Outcome("review", str(work.ref))
        return None

    async def _create(self, work: _Work) -> PushResult:
        rec, ref, key = work.record, str(work.ref), work.key
        self._check_owner()
        steps = self._journal(work)
        if isinstance(rec, Customer):
            return await self._ledger.create_customer(rec, external_ref=ref, idempotency_key=key)
        assert rec is not None
        customer_id = self._link_of(f"{work.ref.system}/customer/{rec.customer_key()}")
        if isinstance(rec, Invoice):
            return await self._ledger.create_invoice(
                rec,
                customer_ledger_id=customer_id,
                external_ref=ref,
                idempotency_key=key,
                steps=steps,
            )
        if isinstance(rec, Payment):
            return await self._ledger.apply_payment(
                rec,
                customer_ledger_id=customer_id,
                invoice_ledger_id=self._link_of(f"{work.ref.system}/invoice/{rec.invoice_id}"),
                external_ref=ref,
                idempotency_key=key,
                steps=steps,
                applied=work.applied,
            )
        if isinstance(rec, Refund):
            return await self._ledger.create_refund(
                rec,
                customer_ledger_id=customer_id,
                credit_kind=rec.credit_kind,
                credit_ledger_id=self._link_of(
                    f"{work.ref.system}/{rec.credit_kind}/{rec.credit_id}"
                ),
                external_ref=ref,
                idempotency_key=key,
                steps=steps,
            )
        assert isinstance(rec, CreditNote)
        invoice = f"{work.ref.system}/invoice/{rec.invoice_id}" if rec.invoice_id else None
        return await self._ledger.create_credit_note(
            rec,
            customer_ledger_id=customer_id,
            invoice_ledger_id=self._link_of(invoice) if invoice else None,
            external_ref=ref,
            idempotency_key=key,
            steps=steps,
        )

    def _link_of(self, ref: str) -> str:
        linked = self.state.get(ref).ledger_ref
        assert linked is not None, f"dependency {ref} checked before the push"
        return linked

    def _missing_dependency(self, work: _Work) -> Missing | Literal["wait"] | None:
        """A reason to reject, "wait" while a dependency is still on its way, or None."""
        rec = work.record
        if rec is None or isinstance(rec, Customer) or work.operation == "void":
            return None
        for kind, rid in _needs(rec):
            verdict = self._dependency(work.ref.system, kind, rid)
            if verdict is not None:
                return verdict
        return None

    def _dependency(self, system: str, kind: str, rid: str) -> Missing | Literal["wait"] | None:
        ref = f"{system}/{kind}/{rid}"
        dep = self.state.records.get(ref)
        if dep is None or dep.observed_sha is None:
            code = CUSTOMER_NOT_FOUND if kind == "customer" else f"{kind}_not_found"
            return ref, code, f"{kind} {rid!r} does not exist in {system} (yet)"
        if dep.ledger_ref is not None:
            return None
        if dep.review_key is not None:
            return (
                ref,
                f"{kind}_not_synced",
                f"{kind} {rid!r} waits for a person to decide which ledger record it is "
                "(`syncledger review`); this record follows by itself once that is done",
            )
        if dep.observed_sha == dep.rejected_sha or dep.abandoned_key is not None:
            return (
                ref,
                f"{kind}_not_synced",
                f"{kind} {rid!r} could not be pushed (see `syncledger errors`): fix it "
                "first; this record follows by itself once it is in the ledger",
            )
        return "wait"  # observed and not yet pushed (retrying or not processed yet)

    # ------------------------------------------------------------------ outcomes

    async def _succeeded(self, work: _Work, result: PushResult) -> None:
        success = self._success(work, result)
        await self._emit(work, success)
        await self._after_success(work, success)

    async def _after_success(self, work: _Work, success: LedgerPushSucceeded) -> None:
        """What follows a record reaching the ledger: an overpayment's credit is said out
        loud, and records that were waiting for this one are tried again."""
        rec = work.record
        if isinstance(rec, Payment) and success.unapplied:
            await self._emit(
                work,
                CustomerCreditRecorded(
                    source_ref=str(work.ref),
                    ledger=self._ledger.ledger,
                    ledger_ref=success.ledger_ref,
                    invoice_ref=f"{work.ref.system}/invoice/{rec.invoice_id}",
                    amount=success.unapplied,
                    currency=rec.currency,
                ),
            )
        await self._release(work)

    async def _release(self, work: _Work) -> None:
        """Ask again for the records rejected because this one was not in the ledger."""
        dep = str(work.ref)
        for ref in sorted(self.state.waiters.pop(dep, ())):
            waiting = self.state.records.get(ref)
            if waiting is None or waiting.waiting_on != dep or waiting.deleted:
                continue
            if waiting.rejected_sha != waiting.observed_sha:
                continue
            await self._append(
                source_subject(self._entity, RecordRef.parse(ref)),
                RetryRequested(
                    ref=ref, ledger=self._ledger.ledger, reason=f"{dep} is now in the ledger"
                ),
                work.causation,
                work.correlation,
            )

    def _success(self, work: _Work, result: PushResult) -> LedgerPushSucceeded:
        return LedgerPushSucceeded(
            source_ref=str(work.ref),
            ledger=self._ledger.ledger,
            ledger_ref=result.ledger_id,
            ledger_version=result.version,
            idempotency_key=work.key,
            content_sha256=work.content_sha,
            mapping_version=self._mapping_version,
            recovered=result.recovered,
            operation=work.operation,
            total=work.record.total if isinstance(work.record, Invoice | CreditNote) else None,
            tax=(work.record.tax_total if isinstance(work.record, Invoice | CreditNote) else None),
            unapplied=(
                work.record.amount - work.applied
                if isinstance(work.record, Payment) and work.applied is not None
                else None
            ),
            **self._application(work),
        )

    @staticmethod
    def _application(work: _Work) -> dict[str, Any]:
        """What the record was meant to be applied to (the reconciler checks the ledger
        holds it): a payment to its invoice, a credit note to its invoice, a refund to the
        credit it pays out."""
        rec, system = work.record, work.ref.system
        if work.operation != "create" or rec is None:
            return {}
        if isinstance(rec, Payment):
            amount = rec.amount if work.applied is None else work.applied
            return {"applies_to": f"{system}/invoice/{rec.invoice_id}", "applied_amount": amount}
        if isinstance(rec, CreditNote) and rec.invoice_id:
            return {
                "applies_to": f"{system}/invoice/{rec.invoice_id}",
                "applied_amount": work.applied,
            }
        if isinstance(rec, Refund):
            target = f"{system}/{rec.credit_kind}/{rec.credit_id}"
            return {"applies_to": target, "applied_amount": rec.amount}
        return {}

    async def _link(
        self, work: _Work, found: LedgerRecord, matched_by: str = "customer match"
    ) -> None:
        await self._emit(
            work,
            RecordLinked(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                ledger_ref=found.ledger_id,
                matched_by=matched_by,
                content_sha256=work.content_sha,
                idempotency_key=work.key,
            ),
        )
        await self._release(work)

    async def _failed(self, work: _Work, exc: LedgerError, retry_after: float | None) -> Outcome:
        attempt = work.state.attempts + 1
        if attempt >= self._max_attempts:
            outage = isinstance(exc, TransientLedgerError)
            return await self._abandon(work, exc.code, str(exc), attempt, transient=outage)
        delay = backoff(attempt, retry_after, self._base_delay)
        await self._emit(
            work,
            LedgerPushFailed(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                idempotency_key=work.key,
                attempt=attempt,
                code=exc.code,
                message=str(exc),
                retry_at=datetime.now(UTC) + timedelta(seconds=delay),
                step=exc.step,
            ),
        )
        return Outcome("retry", str(work.ref), delay)

    async def _abandon(
        self, work: _Work, code: str | None, message: str, n: int, *, transient: bool = False
    ) -> Outcome:
        """Give up on the push (``transient``: the attempts ran out on an outage, so
        ``core.outage`` asks again by itself once the ledger answers)."""
        await self._emit(
            work,
            LedgerPushAbandoned(
                source_ref=str(work.ref),
                ledger=self._ledger.ledger,
                idempotency_key=work.key,
                attempts=n,
                code=code,
                message=message,
                transient=transient,
            ),
        )
        return Outcome("abandoned", str(work.ref))

    async def _reject(
        self,
        ref: RecordRef,
        sha: str,
        event: dict[str, Any],
        reasons: list[tuple[str, str]],
        waiting_on: str | None = None,
    ) -> Outcome:
        return await self._reject_reasons(
            ref,
            sha,
            event,
            tuple(RejectionReason(code=c, message=m) for c, m in reasons),
            waiting_on,
        )

    async def _reject_reasons(
        self,
        ref: RecordRef,
        sha: str,
        event: dict[str, Any],
        reasons: tuple[RejectionReason, ...],
        waiting_on: str | None = None,
    ) -> Outcome:
        payload = SourceRecordRejected(
            ref=str(ref),
            kind=ref.kind,
            content_sha256=sha,
            reasons=reasons,
            ledger=self._ledger.ledger,
            waiting_on=waiting_on,
        )
        await self._append(
            source_subject(self._entity, ref), payload, event["id"], event["correlation_id"]
        )
        return Outcome("rejected", str(ref))

    async def _emit(self, work: _Work, payload: EventData) -> None:
        subject = ledger_subject(self._entity, self._ledger.ledger, work.ref)
        await self._append(subject, payload, work.causation, work.correlation)

    async def _append_once(self, subject: str, payload: EventData, work: _Work) -> None:
        """Append once, expecting the subject as this process last saw it
        (``ConcurrencyError`` when another writer got there first)."""
        envelope = make_envelope(
            payload,
            entity=self._entity,
            subject=subject,
            actor=self._actor,
            causation_id=work.causation,
            correlation_id=work.correlation,
        )
        expected = self.state.subject_seq.get(subject, 0)
        [seq] = await self._store.append([envelope], expect={subject: expected})
        self.state.apply(seq, subject, envelope.model_dump(mode="json"))

    async def _append(
        self, subject: str, payload: EventData, causation: str, correlation: str
    ) -> None:
        envelope = make_envelope(
            payload,
            entity=self._entity,
            subject=subject,
            actor=self._actor,
            causation_id=causation,
            correlation_id=correlation,
        )
        for _ in range(3):
            expected = self.state.subject_seq.get(subject, 0)
            try:
                [seq] = await self._store.append([envelope], expect={subject: expected})
            except ConcurrencyError:
                await self._refresh(subject)
                continue
            self.state.apply(seq, subject, envelope.model_dump(mode="json"))
            return
        raise ConcurrencyError(subject, self.state.subject_seq.get(subject, 0))

    async def _append_many(
        self, items: list[tuple[_Work, EventData]], *, fallback: bool = True
    ) -> None:
        """One atomic append for many records' events (each subject's version checked);
        on a conflict, fall back to appending them one by one (or, without ``fallback``,
        raise ``ConcurrencyError``)."""
        subjects = [ledger_subject(self._entity, self._ledger.ledger, w.ref) for w, _ in items]
        envelopes = [
            make_envelope(
                payload,
                entity=self._entity,
                subject=subject,
                actor=self._actor,
                causation_id=w.causation,
                correlation_id=w.correlation,
            )
            for (w, payload), subject in zip(items, subjects, strict=True)
        ]
        expect = {subject: self.state.subject_seq.get(subject, 0) for subject in subjects}
        try:
            seqs = await self._store.append(envelopes, expect=expect)
        except ConcurrencyError:
            if not fallback:
                raise
            for w, payload in items:
                await self._emit(w, payload)
            return
        for seq, envelope in zip(seqs, envelopes, strict=True):
            self.state.apply(seq, envelope.subject, envelope.model_dump(mode="json"))

    async def _refresh(self, subject: str) -> None:
        """Another writer touched this subject: fold what it wrote."""
        start = self.state.subject_seq.get(subject, 0) + 1
        async for stored in self._store.read(subject, start):
            self.state.apply(stored.seq, stored.subject, json.loads(stored.raw))


#: the events the worker acts on: they must read as their typed event before it does
_ACTED_ON = frozenset(
    {"SourceRecordObserved", "SourceRecordDeleted", "RetryRequested", "ReviewResolved"}
)


def readable(seq: int, raw: bytes) -> dict[str, Any] | None:
    """The stored event as a dict, or None (logged) when it cannot be acted on: bytes
    that are not an event, or an event the worker uses whose data does not read as its
    type (written by a buggy or older version). Skipping it never bricks the worker; the
    read models list it as unfoldable."""
    try:
        event: dict[str, Any] = json.loads(raw)
        kind = event["type"]
        if kind in _ACTED_ON:
            data = upcast(kind, int(event.get("schema_version", 1)), event["data"])
            registered_types()[kind].model_validate(data)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("event at sequence %d cannot be acted on (%s); skipped", seq, exc)
        return None
    return event


def _needs(rec: Record) -> list[tuple[str, str]]:
    """The records ``rec`` refers to, which must be in the ledger before it."""
    if isinstance(rec, Customer):
        return []
    needed = [("customer", rec.customer_key())]
    if isinstance(rec, Payment):
        needed.append(("invoice", rec.invoice_id))
    if isinstance(rec, CreditNote) and rec.invoice_id:
        needed.append(("invoice", rec.invoice_id))
    if isinstance(rec, Refund):
        needed.append((rec.credit_kind, rec.credit_id))
    return needed


def dispute_credit_note(invoice: Invoice, credit_id: str, balance: Decimal) -> CreditNote:
    """The credit note that settles a dispute: the invoice's own lines (so its tax is
    reversed line by line) when nothing was paid yet, else one line for the open balance."""
    number = f"{invoice.number}-CR"
    if len(number) > 21:  # the shortest document-number limit among the ledgers (QBO)
        number = f"{invoice.number[: 21 - 3]}-CR"
    whole = balance == invoice.total
    lines = (
        invoice.lines
        if whole
        else (
            InvoiceLine(
                description=f"Credit for disputed invoice {invoice.number}",
                quantity=Decimal(1),
                unit_price=balance,
                line_type="service",
            ),
        )
    )
    return CreditNote(
        id=credit_id,
        number=number,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        issue_date=datetime.now(UTC).date(),
        currency=invoice.currency,
        lines=lines,
        discount=invoice.discount if whole else Decimal(0),
        total=balance,
        exchange_rate=invoice.exchange_rate,
    )
