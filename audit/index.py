"""One pass over the log that ties every event to its record and its data subject.

The subject of personal data is the customer: ``SourceRecordObserved.customer_ref`` (or the
record itself when it is a customer) ties a source record to it, ledger events reach it
through their ``source_ref``, ledger-side observations and mismatches through the link
(ledger ref → source ref) that a push or a match established.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncledger.audit.pauses import gc_paused
from syncledger.core.store import EventStore

SubjectKey = tuple[str, str]  # (entity, customer ref)

_LINKING = ("LedgerPushSucceeded", "RecordLinked")
_BY_SOURCE_REF = (
    "LedgerPushRequested",
    "LedgerPushSucceeded",
    "LedgerPushFailed",
    "LedgerPushAbandoned",
    "RecordLinked",
    "CustomerCreditRecorded",
    "InvoiceDisputed",
    "LedgerItemRequested",
    "LedgerItemCreated",
    "LedgerStepRequested",
    "LedgerStepSucceeded",
    "ReviewRequested",
    "ConflictDetected",
)
_BY_REF = (
    "SourceRecordObserved",
    "SourceRecordDeleted",
    "SourceRecordRejected",
    "RetryRequested",
    "ReviewResolved",
)


@dataclass(slots=True)
class LoggedEvent:
    """An event as stored (exact bytes) with its parsed envelope and attribution."""

    seq: int
    raw: bytes
    doc: dict[str, Any]
    ref: str | None = None
    customer: str | None = None

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
    async def build(cls, store: EventStore) -> LogIndex:
        index = cls()
        with gc_paused():
            async for stored in store.read():
                index.add(stored.seq, stored.raw)
            index.resolve_subjects()
        return index

    def add(self, seq: int, raw: bytes) -> LoggedEvent:
        event = LoggedEvent(seq, raw, json.loads(raw))
        event.ref = self._ref_of(event)
        self.events.append(event)
        return event

    def _ref_of(self, ev: LoggedEvent) -> str | None:
        t, data, ent = ev.type, ev.data, ev.entity
        if t in _BY_REF:
            ref = str(data["ref"])
            if t == "SourceRecordObserved":
                self._observe_source(ent, ref, data)
            return ref
        if t in _BY_SOURCE_REF:
            if t in _LINKING:
                self.ledger_to_source[(ent, data["ledger"], data["ledger_ref"])] = data[
                    "source_ref"
                ]
            return str(data["source_ref"])
        if t == "LedgerRecordObserved":
            return self.ledger_to_source.get((ent, data["ledger"], data["ledger_ref"]))
        if t == "MismatchDetected":
            return self._mismatch(ent, data)
        if t == "MismatchResolved":
            return self.mismatch_ref.get((ent, data["key"]))
        return None

    def _observe_source(self, entity: str, ref: str, data: dict[str, Any]) -> None:
        kind = str(data["kind"])
        customer = ref if kind == "customer" else data.get("customer_ref")
        self.kind_of_ref.setdefault((entity, ref), kind)
        if customer:
            self.customer_of_ref[(entity, ref)] = str(customer)

    def _mismatch(self, entity: str, data: dict[str, Any]) -> str | None:
        ref = data.get("source_ref")
        if ref is None and data.get("ledger_ref"):
            ref = self.ledger_to_source.get((entity, data["ledger"], data["ledger_ref"]))
        if ref is not None:
            self.mismatch_ref[(entity, data["key"])] = ref
        return None if ref is None else str(ref)

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
        return (ev for ev in self.events if ev.type in types)

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
