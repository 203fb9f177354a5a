"""``syncledger trace <system>/<kind>/<id>``: one record's events, in order, to its ledger id.

Every stored event is read through :func:`core.decode.decode` (typed, upcast) and worded
from its typed payload by :func:`describe`; an event that does not decode is shown as such,
never dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from core.decode import decode
from core.errors import UndecodableEvent
from core.events import (
    CustomerCreditRecorded,
    EventData,
    InvoiceDisputed,
    LedgerItemCreated,
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerStepRequested,
    LedgerStepSucceeded,
    MismatchDetected,
    MismatchResolved,
    RecordLinked,
    RetryRequested,
    ReviewRequested,
    ReviewResolved,
    SourceRecordObserved,
    SourceRecordRejected,
    registered_types,
)
from core.ids import subject_token
from core.model import RecordRef
from core.store import EventStore, StoredEvent
from core.subjects import source_subject


@dataclass(frozen=True, slots=True)
class TraceLine:
    seq: int
    recorded_at: str
    type: str
    subject: str
    summary: str
    event: EventData | None  #: None: the stored bytes do not decode (the summary says why)


def summary_of(event: dict[str, Any]) -> str:
    """One line saying what the stored event ``{"type", "data"}`` did to its record (its
    data read as its typed event; the type's name when it does not read)."""
    kind: str = event["type"]
    cls = registered_types().get(kind)
    if cls is None:
        return kind
    try:
        return describe(cls.model_validate(event["data"]))
    except ValidationError:
        return kind


def describe(event: EventData) -> str:
    """One line saying what the typed event did to its record."""
    match event:
        case SourceRecordObserved() | SourceRecordRejected() | RetryRequested():
            return _source(event)
        case ReviewRequested() | ReviewResolved():
            return _review(event)
        case LedgerItemRequested() | LedgerItemCreated():
            return _item(event)
        case LedgerStepRequested() | LedgerStepSucceeded():
            return _step(event)
        case MismatchDetected():
            return f"MismatchDetected: {event.mismatch_type} {event.key}"
        case MismatchResolved():
            return f"MismatchResolved:  {event.key}"
    return _push(event)


def _source(event: EventData) -> str:
    match event:
        case SourceRecordObserved():
            return f"version {event.version} observed, content {event.content_sha256[:12]}"
        case SourceRecordRejected():
            return "rejected: " + "; ".join(f"{r.code}: {r.message}" for r in event.reasons)
        case RetryRequested():
            reason = f": {event.reason}" if event.reason else ""
            return f"retry requested on {event.ledger}{reason}"
    return type(event).__name__


def _review(event: EventData) -> str:
    match event:
        case ReviewRequested():
            return f"waiting for review ({event.reason}): {event.message}"
        case ReviewResolved():
            target = f" to {event.ledger_ref}" if event.ledger_ref else ""
            return f"review decided on {event.ledger}: {event.decision}{target}"
    return type(event).__name__


def _item(event: EventData) -> str:
    match event:
        case LedgerItemRequested():
            return (
                f"item {event.code!r} is not in {event.ledger}: creating it "
                f'(mapping {event.mapping_version}, unmatched = "create")'
            )
        case LedgerItemCreated():
            how = "found after an interrupted create" if event.recovered else "created"
            return f"item {event.code!r} {how} in {event.ledger} as {event.ledger_item_ref}"
    return type(event).__name__


def _step(event: EventData) -> str:
    match event:
        case LedgerStepRequested():
            key = event.step_key[:16]
            return f"step {event.step!r} requested on {event.ledger} with key {key}…"
        case LedgerStepSucceeded():
            how = " (found after its answer was lost)" if event.recovered else ""
            return f"step {event.step!r} done in {event.ledger}: {event.ledger_ref}{how}"
    return type(event).__name__


def _push(event: EventData) -> str:
    match event:
        case LedgerPushRequested():
            part = f", applying {event.applied} of it" if event.applied is not None else ""
            return (
                f"{event.operation} requested on {event.ledger} with key "
                f"{event.idempotency_key[:16]}…, mapping {event.mapping_version}{part}"
            )
        case LedgerPushSucceeded():
            how = " (recovered the earlier write)" if event.recovered else ""
            return f"{event.ledger} holds it as {event.ledger_ref}{how}"
        case RecordLinked():
            return (
                f"linked to existing {event.ledger} record {event.ledger_ref} ({event.matched_by})"
            )
        case LedgerPushFailed():
            step = f" at step {event.step!r}" if event.step else ""
            when = _when(event.retry_at)
            return f"attempt {event.attempt} failed{step}: {event.message}; retry at {when}"
        case LedgerPushAbandoned():
            return f"abandoned after {event.attempts} attempts: {event.message}"
    return _money(event)


def _money(event: EventData) -> str:
    match event:
        case CustomerCreditRecorded():
            return (
                f"overpayment: {event.amount} {event.currency} beyond {event.invoice_ref} stays "
                f"on the customer's account in {event.ledger} as credit"
            )
        case InvoiceDisputed():
            return f"disputed: credited in {event.ledger} by {event.credit_note_ref}"
    return type(event).__name__


def _when(moment: datetime | None) -> str:
    """As the log holds it (ISO 8601, ``Z`` for UTC)."""
    return "None" if moment is None else moment.isoformat().replace("+00:00", "Z")


async def trace(store: EventStore, entity: str, ref: RecordRef) -> list[TraceLine]:
    """Source events of the record and its ledger events on every ledger, in stream order."""
    ledger_pattern = ".".join(
        (
            "sl",
            subject_token(entity),
            "ledger",
            "*",
            subject_token(ref.kind),
            subject_token(f"{ref.system}-{ref.id}"),
        )
    )
    lines: list[TraceLine] = []
    for pattern in (source_subject(entity, ref), ledger_pattern):
        async for stored in store.read(pattern):
            lines.append(_line(stored))
    lines.sort(key=lambda line: line.seq)
    return lines


def _line(stored: StoredEvent) -> TraceLine:
    try:
        decoded = decode(stored.raw)
    except UndecodableEvent as exc:
        return TraceLine(stored.seq, "", "?", stored.subject, f"cannot be read: {exc}", None)
    envelope, event = decoded.envelope, decoded.event
    recorded = _when(envelope.recorded_at)
    return TraceLine(stored.seq, recorded, envelope.type, stored.subject, describe(event), event)


def ledger_id_of(lines: list[TraceLine]) -> str | None:
    for line in reversed(lines):
        if isinstance(line.event, LedgerPushSucceeded | RecordLinked):
            return line.event.ledger_ref
    return None
