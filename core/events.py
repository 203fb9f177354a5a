"""Event envelope and event types (DESIGN §4).

An :class:`Envelope` is what is stored: canonical JSON, ``Nats-Msg-Id`` = ``id``. Its
``data`` holds the non-personal fields of a typed payload (:class:`EventData` subclass);
personal fields travel sealed in ``pii`` under the data subject's key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from syncledger.core.ids import canonical_json, sha256_hex, subject_token, uuid7

Category = Literal["source", "ledger", "recon", "audit", "alert"]
CATEGORIES: tuple[Category, ...] = ("source", "ledger", "recon", "audit", "alert")
SUBJECT_PREFIX = "sl"


def subject_for(entity: str, category: Category, system: str, kind: str, raw_id: str) -> str:
    """``sl.<entity>.<category>.<system>.<kind>.<id-token>``."""
    return ".".join(
        (
            SUBJECT_PREFIX,
            subject_token(entity),
            category,
            subject_token(system),
            subject_token(kind),
            subject_token(raw_id),
        )
    )


class SealedPii(BaseModel):
    """Personal fields, AES-256-GCM encrypted under a per-data-subject key."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    nonce: str  # base64
    ciphertext: str  # base64


class EventData(BaseModel):
    """Base of every typed event payload. Subclasses are named in the past tense."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: ClassVar[Category]
    schema_version: ClassVar[int] = 1


_REGISTRY: dict[str, type[EventData]] = {}
E = TypeVar("E", bound=type[EventData])


def event_type(cls: E) -> E:
    """Register an :class:`EventData` subclass under its class name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def registered_types() -> Mapping[str, type[EventData]]:
    return dict(_REGISTRY)


def event_class(type_name: str) -> type[EventData] | None:
    """The class registered under a stored ``type`` (None: a type this code does not know)."""
    return _REGISTRY.get(type_name)


# ---- upcasters: (type, from_version) -> function(data) -> data at from_version + 1
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def upcast(type_name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    target = _REGISTRY[type_name].schema_version if type_name in _REGISTRY else version
    while version < target:
        fn = _UPCASTERS.get((type_name, version))
        if fn is None:
            raise ValueError(f"no upcaster for {type_name} v{version} -> v{version + 1}")
        data = fn(data)
        version += 1
    return data


class Envelope(BaseModel):
    """The stored form of every event."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    schema_version: int
    entity: str
    subject: str
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: str
    causation_id: str | None = None
    actor: str
    data: dict[str, Any]
    pii: SealedPii | None = None
    data_sha256: str

    _raw: bytes | None = PrivateAttr(default=None)

    def to_bytes(self) -> bytes:
        """The canonical bytes, computed once: an envelope is immutable."""
        private = self.__pydantic_private__  # direct: this is on the append hot path
        raw: bytes | None = private.get("_raw") if private else None
        if raw is None:
            raw = canonical_json(self.model_dump(mode="json"))
            self._raw = raw
        return raw

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        envelope = cls.model_validate(json.loads(raw))
        envelope._raw = bytes(raw)  # exactly what the log holds
        return envelope

    def payload(self) -> EventData:
        """The typed payload, upcast to the current schema version."""
        cls = _REGISTRY.get(self.type)
        if cls is None:
            raise ValueError(f"unknown event type {self.type!r}")
        return cls.model_validate(upcast(self.type, self.schema_version, dict(self.data)))


def data_digest(data: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(data))


def make_envelope(
    payload: EventData,
    *,
    entity: str,
    subject: str,
    actor: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    pii: SealedPii | None = None,
    event_id: str | None = None,
) -> Envelope:
    data = payload.model_dump(mode="json")
    now = datetime.now(UTC)
    eid = event_id or uuid7()
    envelope = Envelope(
        id=eid,
        type=type(payload).__name__,
        schema_version=type(payload).schema_version,
        entity=entity,
        subject=subject,
        occurred_at=occurred_at or now,
        recorded_at=now,
        correlation_id=correlation_id or eid,
        causation_id=causation_id,
        actor=actor,
        data=data,
        pii=pii,
        data_sha256=data_digest(data),
    )
    envelope.to_bytes()  # serialize once, where the event is made
    return envelope


# --------------------------------------------------------------------------- source


class RejectionReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    field: str | None = None


@event_type
class SourceRecordObserved(EventData):
    """A new version of a source record (personal fields sealed in the envelope)."""

    category: ClassVar[Category] = "source"
    ref: str
    kind: str
    version: str
    content_sha256: str
    record: dict[str, Any]
    customer_ref: str | None = None
    #: the source mapping version that shaped ``record`` (``SourceMappingPublished``);
    #: None for a source whose shape is fixed (a CSV folder, a signed webhook)
    source_mapping: str | None = None
    #: customers: the keyed digest of the name (``core/pii_names.py``), which is sealed
    #: with the other personal fields; None in events written while the name was kept in
    #: ``record`` in clear (those are read as before)
    name_digest: str | None = None


@event_type
class SourceRecordDeleted(EventData):
    category: ClassVar[Category] = "source"
    ref: str
    kind: str
    version: str


@event_type
class SourceRecordRejected(EventData):
    category: ClassVar[Category] = "source"
    ref: str
    kind: str
    content_sha256: str
    reasons: tuple[RejectionReason, ...]
    ledger: str | None = None
    #: the record it depends on (its customer, invoice or credit) when that one is not in
    #: the ledger yet: once it is, the worker retries this record by itself
    waiting_on: str | None = None
    #: the ledger mapping version the worker judged the record under (None: a rejection
    #: made before versions were named here, or one the import made); a newer version
    #: re-flows it by itself (``core/reflow.py``)
    mapping_version: str | None = None


class RecordHintData(BaseModel):
    """A record a webhook named (``core.source_ports.RecordHint``), as the log keeps it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    id: str
    deleted: bool = False


@event_type
class SourceCursorAdvanced(EventData):
    """A source's delta reads go on from ``cursor``: appended after the records the read
    returned, so a restart re-reads at most what the log already holds."""

    category: ClassVar[Category] = "source"
    source: str
    cursor: str
    records: int


@event_type
class WebhookReceived(EventData):
    """A verified webhook delivery, stored before its answer. ``hints`` name records to
    re-read through the source's API; ``records`` counts those its signed body carried,
    which were appended before this receipt."""

    category: ClassVar[Category] = "source"
    source: str
    delivery_id: str
    hints: tuple[RecordHintData, ...] = ()
    records: int = 0


@event_type
class WebhookProcessed(EventData):
    """The records a delivery's hints named were re-read and their versions appended."""

    category: ClassVar[Category] = "source"
    source: str
    delivery_id: str
    records: int


@event_type
class RetryRequested(EventData):
    """A person asked for an abandoned or rejected record to be tried again."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    reason: str = ""


@event_type
class ReflowRequested(EventData):
    """A new mapping version is in force: the worker tries again, by itself, a record it
    rejected under an earlier version for a reason the mapping can change
    (``core/reflow.py``); once per record and version."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    mapping_version: str  #: the version now in force, which the record is tried under
    rejected_under: str | None = None  #: the version it was rejected under (None: unnamed)
    codes: tuple[str, ...] = ()  #: the reason codes of that rejection


@event_type
class ReviewResolved(EventData):
    """A person decided a review item: ``link`` the record to the ledger record
    ``ledger_ref``, or ``create`` a new one (the candidates are different customers)."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    decision: Literal["link", "create"]
    ledger_ref: str | None = None
    note: str = ""


@event_type
class ConflictSettled(EventData):
    """A person decided an open conflict (``syncledger conflicts REF --keep-ledger |
    --overwrite`` or the console): ``keep_ledger`` accepts the ledger's version (no push;
    the record is not flagged again until the source changes); ``overwrite`` has the
    worker push our latest version over the ledger's edit, with the version token
    ``ledger_version`` the person saw (a newer edit makes a new conflict).
    ``request_id`` keeps the overwrite's idempotency key apart from the refused push's."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    decision: Literal["keep_ledger", "overwrite"]
    ledger_version: str | None = None
    request_id: str
    note: str = ""


@event_type
class RepushRequested(EventData):
    """A person asked for a synced record that is gone from the ledger (deleted there) to
    be created again (``syncledger repush``). The worker looks for it by our reference
    first: still there, it is linked, never duplicated. ``request_id`` makes the new
    create's idempotency key differ from the first push's."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    request_id: str
    reason: str = ""


@event_type
class RecordReleasedForRollout(EventData):
    """The rollout scope was widened: the worker tries again, by itself, a record it held
    out of scope (``RecordHeldForRollout``) that the scope in force now admits; once per
    hold, in dependency order (``core/rollout_gate.py``)."""

    category: ClassVar[Category] = "source"
    ref: str
    ledger: str
    rule_sha256: str  #: the digest of the scope that admits it (``RolloutScopeChanged``)


# --------------------------------------------------------------------------- ledger


@event_type
class LedgerPushRequested(EventData):
    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    operation: Literal["create", "update", "void", "apply"]
    idempotency_key: str
    mapping_version: str
    content_sha256: str
    #: payments: the part applied to the invoice when it is less than the amount (an
    #: overpayment); decided before the call, so a retry after a crash asks the same
    applied: Decimal | None = None


@event_type
class LedgerPushSucceeded(EventData):
    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    ledger_version: str | None = None
    idempotency_key: str
    content_sha256: str
    mapping_version: str
    recovered: bool = False  # found the first write after a crash/timeout
    operation: Literal["create", "update", "void", "apply"] = "create"
    total: Decimal | None = None  # the document total as pushed (documents only)
    tax: Decimal | None = None  # the document's tax as pushed (documents only)
    unapplied: Decimal | None = None  # payments: what stayed on account as customer credit
    #: payments, credit notes, refunds: the source record this one is applied to (an
    #: invoice; a refund's credit) and how much of it the push meant to apply there (None:
    #: what the ledger lets apply, e.g. a credit note's credit up to the invoice's balance).
    #: From the intent, not the ledger's answer: the reconciler checks the ledger holds it
    applies_to: str | None = None
    applied_amount: Decimal | None = None
    #: customer updates: the details the ledger owns (``customer_field_authority``),
    #: kept out of the update so that the ledger's values stay (core/sync_updates.py)
    ledger_owned: tuple[str, ...] = ()
    #: invoices and credit notes: the other fields a conflict compares, as pushed (the
    #: number, currency, due date, and the ledger id of the customer it is booked to), so
    #: that a ledger version moved by our own payments is told from a person's edit
    #: (core/sync_updates.py). None: not pushed, or logged before they were kept (no new
    #: schema version: optional fields read as None from older events)
    number: str | None = None
    currency: str | None = None
    due_date: date | None = None
    customer_ledger_ref: str | None = None


@event_type
class LedgerPushFailed(EventData):
    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    idempotency_key: str
    attempt: int
    code: str | None = None
    message: str
    retry_at: datetime | None = None
    step: str | None = None  # the write of a multi-write operation that failed


@event_type
class LedgerStepRequested(EventData):
    """One write of a multi-write operation is about to be sent (a credit note's
    application, a refund's link, a document's posting): appended before the call, so a
    crash or a failure after it resumes at this step."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    idempotency_key: str  # the record's push
    step: str
    step_key: str  # the idempotency key the step's write carries


@event_type
class LedgerStepSucceeded(EventData):
    """The step's write is in the ledger (``recovered``: found there after its answer was
    lost); ``detail`` holds what later steps need."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    idempotency_key: str
    step: str
    ledger_ref: str
    detail: dict[str, str] = Field(default_factory=dict)
    recovered: bool = False


@event_type
class LedgerPushAbandoned(EventData):
    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    idempotency_key: str
    attempts: int
    code: str | None = None
    message: str
    #: the attempts ran out on transient failures (unreachable, timeouts, 5xx, throttling):
    #: an outage, not a refusal, so the record is tried again by itself once the ledger
    #: answers (core/outage.py); False: the ledger refused it and a person must act
    transient: bool = False


@event_type
class RecordLinked(EventData):
    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    matched_by: str
    content_sha256: str
    idempotency_key: str | None = None  # of the push request this link settled


@event_type
class RecordHeldForRollout(EventData):
    """The record's version is out of the rollout scope in force (``[rollout]``,
    ``core/rollout.py``): logged, not pushed; it waits until the scope admits it. No
    personal data: the rule is named by its digest."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    kind: str
    content_sha256: str  #: the version held
    rule_sha256: str  #: the digest of the scope in force (``RolloutScopeChanged``)


@event_type
class CustomerCreditRecorded(EventData):
    """An overpayment: the part of a payment beyond the invoice's open balance stayed on
    the customer's account in the ledger as credit (to apply later or refund)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str  # the payment
    ledger: str
    ledger_ref: str
    invoice_ref: str
    amount: Decimal
    currency: str


@event_type
class LedgerItemRequested(EventData):
    """A line of ``source_ref`` names item ``code``, which the ledger does not have, and the
    mapping's item policy is ``unmatched = "create"``: the sync is about to create it
    (appended first, so a crash before ``LedgerItemCreated`` is finished on redelivery)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    code: str
    mapping_version: str


@event_type
class LedgerItemCreated(EventData):
    """The ledger item ``code`` exists now, made by the sync for ``source_ref``'s lines
    (``recovered``: found in the ledger after a crash cut the create short)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    code: str
    ledger_item_ref: str
    recovered: bool = False


@event_type
class InvoiceDisputed(EventData):
    """The source marked a posted invoice disputed: the sync credits its open balance
    with the credit note ``credit_note_ref`` (appended before that credit note is made)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    credit_note_ref: str


class CandidateMatch(BaseModel):
    """Why a ledger candidate matched one of ours: the rules (``name``, ``email``,
    ``tax_id``) whose values it shares, never the values themselves."""

    model_config = ConfigDict(frozen=True)

    ledger_id: str
    rules: tuple[str, ...] = ()


@event_type
class ReviewRequested(EventData):
    """The sync would have had to guess (several ledger customers match one of ours): the
    record waits for a person (``syncledger review``) instead."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    reason: str
    candidates: tuple[str, ...] = ()
    message: str = ""
    idempotency_key: str | None = None
    #: per candidate, the rules it matched by (empty in events written before they were)
    matches: tuple[CandidateMatch, ...] = ()


class FieldDifference(BaseModel):
    """One field a conflict is about: the ledger's value and ours, as text. A personal or
    name field (``personal``) carries no values here: they are sealed in the event's
    ``pii`` under the data subject's key (``{"differences": {field: [ledger, ours]}}``)."""

    model_config = ConfigDict(frozen=True)

    field: str
    ledger: str | None = None
    ours: str | None = None
    personal: bool = False


@event_type
class ConflictDetected(EventData):
    """The ledger record changed since we last wrote it (someone edited it there).

    ``resolution``: ``source_wins`` where the source owns the fields (we wrote anyway, and
    say so here), ``needs_review`` where the ledger's edit must not be overwritten."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    expected_version: str | None = None
    actual_version: str | None = None
    resolution: Literal["source_wins", "needs_review"]
    detail: str = ""
    #: what differs between the ledger record read and the version we meant to push
    differences: tuple[FieldDifference, ...] = ()
    #: documents: the total the ledger held (what ``keep_ledger`` accepts)
    ledger_total: Decimal | None = None


@event_type
class LedgerRecordObserved(EventData):
    """A change seen in the ledger (paid, voided, edited by a person) by back-sync."""

    category: ClassVar[Category] = "ledger"
    ledger: str
    ledger_ref: str
    kind: str
    source_ref: str | None = None  # ours, when the ledger record carries our reference
    ledger_version: str | None = None
    status: str | None = None
    total: Decimal | None = None
    balance: Decimal | None = None
    currency: str | None = None
    number: str | None = None  # the ledger's document number, where it has one


@event_type
class SourceStatusWritten(EventData):
    """Payment status written back to the source record, as the ledger observation at
    ``observed_seq`` said it. Appended after the source took it: a crash in between writes
    it again (write-back is idempotent), never not at all."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    observed_seq: int
    status: str
    balance: Decimal | None = None


@event_type
class SourceStatusRefused(EventData):
    """The source refused the payment status of the ledger observation at
    ``observed_seq`` for a reason sending it again would not change (``code``: the record
    is gone from the source, the documents disagree; ``message``: one line naming the
    record, no secret, no personal data). Logged once: that observation is settled, and
    the status is written again only with a newer observation of the invoice."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    observed_seq: int
    status: str
    code: str
    message: str


class FieldRefused(BaseModel):
    """A customer detail the source would not take (``reason`` is a code, no value)."""

    model_config = ConfigDict(frozen=True)

    field: str
    reason: str


@event_type
class CustomerDetailsObserved(EventData):
    """Customer details the ledger owns (``customer_field_authority``) that a bookkeeper
    changed there and the source record does not hold yet: to be written to the source.
    The values are sealed in the envelope's ``pii`` (``{field: value}``) under the
    customer's key; ``fields`` names them. ``adopt_version``: nothing else of the ledger
    record differs from the source, so once written back its version counts as ours."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    ledger_version: str | None = None
    fields: tuple[str, ...]
    adopt_version: bool = False


@event_type
class CustomerDetailsWritten(EventData):
    """The observation at ``observed_seq`` was written to the source record (``written``)
    or refused there (``refused``, with reason codes). Appended after the source took it:
    a crash in between writes it again (the write is idempotent), never not at all.
    ``ledger_version``: the ledger record's version the worker takes as its own from now
    on (None: it keeps the one it had, and a later push meets the edit as a conflict)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    observed_seq: int
    written: tuple[str, ...] = ()
    refused: tuple[FieldRefused, ...] = ()
    ledger_version: str | None = None


@event_type
class CustomerFieldAuthorityApplied(EventData):
    """Back-sync compared every customer of ours in the ledger with the source under this
    ``customer_field_authority`` (the ledger-owned fields); a different one (the reverse
    turned on later, a field added) is compared again once, without a re-import."""

    category: ClassVar[Category] = "ledger"
    ledger: str
    ledger_fields: tuple[str, ...]
    customers: int = 0


@event_type
class InvoiceSendRequested(EventData):
    """The ledger is about to be asked to e-mail the invoice (written before asking)."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str


@event_type
class InvoiceSent(EventData):
    """The ledger e-mailed the invoice to the customer. ``recovered``: found sent when an
    interrupted send was checked."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    recovered: bool = False


@event_type
class InvoiceSendFailed(EventData):
    """The invoice was not e-mailed, and will not be tried again: ``reason`` says why."""

    category: ClassVar[Category] = "ledger"
    source_ref: str
    ledger: str
    ledger_ref: str
    reason: str


# --------------------------------------------------------------------------- recon


@event_type
class ReconciliationCompleted(EventData):
    category: ClassVar[Category] = "recon"
    run_id: str
    ledger: str
    checked: int
    open_mismatches: int
    detected: int
    resolved: int


@event_type
class MismatchDetected(EventData):
    category: ClassVar[Category] = "recon"
    key: str
    mismatch_type: Literal[
        "missing_in_ledger",
        "orphan_in_ledger",
        "amount_mismatch",
        "currency_mismatch",
        "status_mismatch",
        "duplicate_in_ledger",
        "tax_mismatch",
        "application_mismatch",
        "balance_mismatch",
        "credit_unapplied",
        "due_date_mismatch",
        "line_items_mismatch",
        "ar_balance_mismatch",
        "customer_name_mismatch",
    ]
    ledger: str
    source_ref: str | None = None
    ledger_ref: str | None = None
    expected: str | None = None
    actual: str | None = None
    run_id: str
    #: the money this mismatch puts at stake, when there is one: the record's total when
    #: it is missing from the ledger, the difference when amounts or tax differ (alert
    #: thresholds are per currency: no exchange rate is assumed)
    at_stake: Decimal | None = None
    currency: str | None = None


@event_type
class MismatchResolved(EventData):
    category: ClassVar[Category] = "recon"
    key: str
    ledger: str
    run_id: str


# --------------------------------------------------------------------------- alert
# One alert to one channel lives on its own subject (``core/alerts.py``): raised once
# (the subject's first event), then attempts and their outcomes, until delivered, parked
# or withdrawn; a replay starts the attempts again with the same ``alert_id``.


class AlertLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    value: str


@event_type
class AlertRaised(EventData):
    """Something a channel's rules say finance must hear about (``core/alerts.py``)."""

    category: ClassVar[Category] = "alert"
    alert_id: str = Field(description="stable across retries: webhook-id, Message-ID")
    channel: str
    topic: str
    event_type: str = Field(description="mismatch.detected, push.abandoned, ...")
    title: str
    severity: Literal["info", "warning", "critical"]
    fields: tuple[AlertLine, ...] = ()
    data: dict[str, Any] = Field(default_factory=dict)
    about_event: str | None = Field(default=None, description="the id of the event it tells")
    about_at: datetime = Field(description="when what it tells happened")
    ledger: str | None = None
    mismatch_key: str | None = None
    not_before: datetime | None = Field(
        default=None, description="open_longer_than: told only if still open at this time"
    )
    in_digest: bool = Field(default=False, description="waits for the channel's daily digest")
    members: tuple[str, ...] = Field(default=(), description="a digest: the alerts it tells")


@event_type
class AlertAttemptStarted(EventData):
    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str
    attempt: int


@event_type
class AlertDelivered(EventData):
    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str
    attempt: int


@event_type
class AlertAttemptFailed(EventData):
    """The receiver did not take it; tried again at ``retry_at`` (None: parked)."""

    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str
    attempt: int
    reason: str
    retry_at: datetime | None = None


@event_type
class AlertParked(EventData):
    """Dead-lettered: kept, listed by ``syncledger alerts``, sent again on ``replay``."""

    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str
    reason: str


@event_type
class AlertWithdrawn(EventData):
    """Not told after all: ``reason`` says why (the mismatch cleared before it was due)."""

    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str
    reason: str


@event_type
class AlertReplayRequested(EventData):
    """A person asked for a parked alert again: attempts start over, same ``alert_id``."""

    category: ClassVar[Category] = "alert"
    alert_id: str
    channel: str


@event_type
class AlertChannelParked(EventData):
    """The endpoint said it is gone (HTTP 410, a revoked webhook): nothing more is tried
    on it until ``syncledger alerts replay --channel`` resumes it."""

    category: ClassVar[Category] = "alert"
    channel: str
    reason: str


@event_type
class AlertChannelResumed(EventData):
    category: ClassVar[Category] = "alert"
    channel: str


#: every event of a finance alert's life: the readers that leave them alone name this
ALERT_EVENTS: tuple[type[EventData], ...] = (
    AlertRaised,
    AlertAttemptStarted,
    AlertDelivered,
    AlertAttemptFailed,
    AlertParked,
    AlertWithdrawn,
    AlertReplayRequested,
    AlertChannelParked,
    AlertChannelResumed,
)


@event_type
class LedgerConnected(EventData):
    """A person connected a ledger account (``syncledger connect``): which ledger, the
    tenant / realm / organisation chosen (``tenant_name`` as the ledger names it), the
    scopes granted, how (``oauth2``: the authorization-code grant; ``credentials``: a
    token or API key checked with one read), and when. Never a token or a secret."""

    category: ClassVar[Category] = "ledger"
    ledger: str
    tenant: str | None = None
    tenant_name: str | None = None
    scopes: tuple[str, ...] = ()
    method: Literal["oauth2", "credentials"] = "oauth2"
    connected_at: datetime


# --------------------------------------------------------------------------- audit


@event_type
class SourceMappingPublished(EventData):
    """The source-side mapping (source fields → canonical records) in force for a source,
    published once per version before records shaped by it are appended."""

    category: ClassVar[Category] = "audit"
    source: str
    mapping_version: str
    sha256: str
    content: str = Field(description="the mapping file as published")


@event_type
class MappingVersionPublished(EventData):
    category: ClassVar[Category] = "audit"
    ledger: str
    mapping_version: str
    sha256: str
    content: str = Field(description="the mapping file as published")


@event_type
class DataMapPublished(EventData):
    """Where the entity's personal data goes (``core/data_map.py``): the fields, the
    connections' regions and the transfer rules with their approval, as in force from now."""

    category: ClassVar[Category] = "audit"
    ledger: str
    sha256: str
    data_map: dict[str, Any] = Field(description="the map as `syncledger audit data-map --json`")


@event_type
class RolloutScopeChanged(EventData):
    """The rollout scope in force for a ledger changed (``[rollout]`` in syncledger.toml):
    the rule as written (``None``: no rule, everything in scope) and its digest; appended
    once per change, before the worker holds or releases records under it."""

    category: ClassVar[Category] = "audit"
    ledger: str
    rule: dict[str, Any] | None = None
    rule_sha256: str
