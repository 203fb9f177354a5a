"""One pass over the log that ties every event to its record and its data subject.

The subject of personal data is the customer: ``SourceRecordObserved.customer_ref`` (or the
record itself when it is a customer) ties a source record to it, ledger events reach it
through their ``source_ref``, ledger-side observations and mismatches through the link
(ledger ref → source ref) that a push or a match established.

Every event is read through :func:`syncledger.core.decode.decode_payload` (typed, upcast)
and attributed by its class: each source, ledger and reconciliation type is in exactly one
of :data:`BY_REF`, :data:`BY_SOURCE_REF`, :data:`BY_LINK` or :data:`NOT_ABOUT_A_RECORD`
(a test holds the registry to that). An event that does not decode (a type this code does
not know, data no upcaster reads) stays in the index with its exact bytes and in the
record its stored data names (``ref`` or ``source_ref``), so its trace still shows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import syncledger.audit.events  # noqa: F401 - the audit module's own types decode too
from syncledger.audit.pauses import gc_paused
from syncledger.core.decode import decode_payload, read_json
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
    SourceMappingPublished,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    SourceStatusRefused,
    SourceStatusWritten,
    WebhookProcessed,
    WebhookReceived,
)
from syncledger.core.progress import Meter, silent
from syncledger.core.store import EventStore

SubjectKey = tuple[str, str]  # (entity, customer ref)
E = TypeVar("E", bound=EventData)
#: events read between two progress updates (a bar redrawn per event would cost more than the read)
_PROGRESS_STEP = 500

#: events about the source record they name in ``ref``
BY_REF = (
    SourceRecordObserved,
    SourceRecordDeleted,
    SourceRecordRejected,
    RetryRequested,
    ReflowRequested,
    RepushRequested,
    ReviewResolved,
    ConflictSettled,
    RecordReleasedForRollout,
)
#: events about the source record they name in ``source_ref``
BY_SOURCE_REF = (
    InvoiceSendRequested,
    InvoiceSent,
    InvoiceSendFailed,
    SourceStatusWritten,
    SourceStatusRefused,
    CustomerDetailsObserved,
    CustomerDetailsWritten,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerPushFailed,
    LedgerPushAbandoned,
    RecordLinked,
    CustomerCreditRecorded,
    InvoiceDisputed,
    LedgerItemRequested,
    LedgerItemCreated,
    LedgerStepRequested,
    LedgerStepSucceeded,
    ReviewRequested,
    ConflictDetected,
    RecordHeldForRollout,
)
#: these tie a ledger record to the source record
LINKING = (LedgerPushSucceeded, RecordLinked)
#: events about a ledger record, tied to ours by the link (mismatches by theirs or the link)
BY_LINK = (LedgerRecordObserved, MismatchDetected, MismatchResolved)
#: events about no one record (the audit module's own types, category ``audit``, neither)
NOT_ABOUT_A_RECORD = (
    ReconciliationCompleted,
    MappingVersionPublished,
    SourceMappingPublished,
    LedgerConnected,  # `syncledger connect`: about the ledger account, not a record
    RolloutScopeChanged,  # the scope in force: about a ledger's rollout, not a record
    CustomerFieldAuthorityApplied,  # the customer details a ledger owns: not a record
    SourceCursorAdvanced,
    WebhookReceived,
    WebhookProcessed,
    # finance alerts: about a mismatch or a hold, told to a channel (`syncledger alerts`)
    *ALERT_EVENTS,
)


@dataclass(slots=True)
class LoggedEvent:
    """An event as stored (exact bytes) with its parsed envelope and attribution."""

    seq: int
    raw: bytes
    doc: dict[str, Any]
    ref: str | None = None
    customer: str | None = None
    event: EventData | None = None  #: typed, upcast; None when the event does not decode

    @property
    def type(self) -> str:
        return str(self.doc["type"])

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def entity(self) -> str:
        return str(self.doc["entity"])

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc["data"]
        return data

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.doc["occurred_at"])

    @property
    def pii_key_id(self) -> str | None:
        pii = self.doc.get("pii")
        return str(pii["key_id"]) if pii else None

    @property
    def subject(self) -> SubjectKey | None:
        return (self.entity, self.customer) if self.customer else None


@dataclass
class LogIndex:
    events: list[LoggedEvent] = field(default_factory=list)
    customer_of_ref: dict[tuple[str, str], str] = field(default_factory=dict)
    kind_of_ref: dict[tuple[str, str], str] = field(default_factory=dict)
    ledger_to_source: dict[tuple[str, str, str], str] = field(default_factory=dict)
    mismatch_ref: dict[tuple[str, str], str] = field(default_factory=dict)
    customer_of_key: dict[str, SubjectKey] = field(default_factory=dict)

    @classmethod
    async def build(cls, store: EventStore, meter: Meter = silent) -> LogIndex:
        """Every event of the log, read once; ``meter`` shows the reading on a terminal."""
        index = cls()
        total = await store.last_seq()
        with gc_paused(), meter("reading the log", total or None) as advance:
            pending = 0
            async for stored in store.read():
                index.add(stored.seq, stored.raw)
                pending += 1
                if pending == _PROGRESS_STEP:
                    advance(pending)
                    pending = 0
            advance(pending)
            index.resolve_subjects()
        return index

    def add(self, seq: int, raw: bytes) -> LoggedEvent:
        doc = read_json(raw)
        logged = LoggedEvent(seq, raw, doc, event=_typed(doc))
        event = logged.event
        logged.ref = _named_ref(doc) if event is None else self._ref_of(logged.entity, event)
        self.events.append(logged)
        return logged

    def _ref_of(self, entity: str, event: EventData) -> str | None:
        if isinstance(event, SourceRecordObserved):
            self._observe_source(entity, event)
        if isinstance(event, LINKING):
            self.ledger_to_source[(entity, event.ledger, event.ledger_ref)] = event.source_ref
        if isinstance(event, BY_REF):
            return event.ref
        if isinstance(event, BY_SOURCE_REF):
            return event.source_ref
        if isinstance(event, LedgerRecordObserved):
            return self.ledger_to_source.get((entity, event.ledger, event.ledger_ref))
        if isinstance(event, MismatchDetected):
            return self._mismatch(entity, event)
        if isinstance(event, MismatchResolved):
            return self.mismatch_ref.get((entity, event.key))
        return None

    def _observe_source(self, entity: str, event: SourceRecordObserved) -> None:
        ref, kind = event.ref, event.kind
        customer = ref if kind == "customer" else event.customer_ref
        self.kind_of_ref.setdefault((entity, ref), kind)
        if customer:
            self.customer_of_ref[(entity, ref)] = customer

    def _mismatch(self, entity: str, event: MismatchDetected) -> str | None:
        ref = event.source_ref
        if ref is None and event.ledger_ref:
            ref = self.ledger_to_source.get((entity, event.ledger, event.ledger_ref))
        if ref is not None:
            self.mismatch_ref[(entity, event.key)] = ref
        return ref

    def resolve_subjects(self) -> None:
        """Give every event its customer, once all links are known."""
        for ev in self.events:
            if ev.ref is not None:
                ev.customer = self.customer_of_ref.get((ev.entity, ev.ref))
            key = ev.pii_key_id
            if key and ev.customer:
                self.customer_of_key.setdefault(key, (ev.entity, ev.customer))
        for ev in self.events:
            key = ev.pii_key_id
            if ev.customer is None and key in self.customer_of_key:
                ev.customer = self.customer_of_key[key][1]

    # ------------------------------------------------------------------ queries

    def of_type(self, *types: str) -> Iterator[LoggedEvent]:
        """The events stored under these type names (:meth:`of_class` reads them typed)."""
        return (ev for ev in self.events if ev.type in types)

    def of_class(self, cls: type[E]) -> Iterator[tuple[LoggedEvent, E]]:
        """The events of class ``cls`` (or a subclass), each with its typed payload."""
        for ev in self.events:
            if isinstance(ev.event, cls):
                yield ev, ev.event

    def by_subject(self) -> dict[SubjectKey, list[LoggedEvent]]:
        result: dict[SubjectKey, list[LoggedEvent]] = defaultdict(list)
        for ev in self.events:
            subject = ev.subject
            if subject is not None:
                result[subject].append(ev)
        return dict(result)

    def by_ref(self) -> dict[tuple[str, str], list[LoggedEvent]]:
        result: dict[tuple[str, str], list[LoggedEvent]] = defaultdict(list)
        for ev in self.events:
            if ev.ref is not None:
                result[(ev.entity, ev.ref)].append(ev)
        return dict(result)

    def record_kind(self, entity: str, ref: str) -> str:
        return self.kind_of_ref.get((entity, ref), "unknown")


def logged(seq: int, raw: bytes) -> LoggedEvent:
    """One stored event, parsed and typed (``event`` None when it does not decode)."""
    doc = read_json(raw)
    return LoggedEvent(seq, raw, doc, event=_typed(doc))


def _typed(doc: Any) -> EventData | None:
    try:
        return decode_payload(doc)
    except UndecodableEvent:
        return None


def _named_ref(doc: Any) -> str | None:
    """The source record the stored data of an event that does not decode names."""
    data = doc.get("data") if isinstance(doc, dict) else None
    ref = data.get("ref", data.get("source_ref")) if isinstance(data, dict) else None
    return ref if isinstance(ref, str) else None
