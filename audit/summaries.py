"""One line per event for traces: what happened, in words an auditor reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.audit.events import LegalHoldPlaced, LegalHoldReleased, SubjectKeyShredded
from syncledger.audit.index import LoggedEvent
from syncledger.core.decode import handler_for
from syncledger.core.events import (
    EventData,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    MappingVersionPublished,
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    RecordLinked,
    SourceMappingPublished,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    WebhookReceived,
)
from syncledger.core.trace import describe
from syncledger.core.words import money_or_unknown


def _short(value: object, n: int = 12) -> str:
    return str(value)[:n]


def _failure(e: LedgerPushFailed | LedgerPushAbandoned) -> str:
    code = f"{e.code} " if e.code else ""
    return f"{code}{e.message}".strip()


def _observed(e: SourceRecordObserved) -> str:
    return f"source version {e.version} observed (content {_short(e.content_sha256)})"


def _deleted(e: SourceRecordDeleted) -> str:
    return f"deleted in the source (version {e.version})"


def _rejected(e: SourceRecordRejected) -> str:
    return "validation rejected: " + ", ".join(r.code for r in e.reasons)


def _requested(e: LedgerPushRequested) -> str:
    return (
        f"{e.operation} requested on {e.ledger} with mapping {e.mapping_version}"
        f" (idempotency key {_short(e.idempotency_key)})"
    )


def _succeeded(e: LedgerPushSucceeded) -> str:
    return (
        f"pushed to {e.ledger} as {e.ledger_ref}"
        + (f" version {e.ledger_version}" if e.ledger_version else "")
        + (" (recovered after a crash)" if e.recovered else "")
    )


def _failed(e: LedgerPushFailed) -> str:
    return f"attempt {e.attempt} on {e.ledger} failed: " + _failure(e)


def _abandoned(e: LedgerPushAbandoned) -> str:
    return f"abandoned on {e.ledger} after {e.attempts} attempts: " + _failure(e)


def _linked(e: RecordLinked) -> str:
    return f"linked to existing {e.ledger_ref} on {e.ledger} (matched by {e.matched_by})"


def _ledger_observed(e: LedgerRecordObserved) -> str:
    return (
        f"{e.ledger} shows {e.ledger_ref}: status {e.status}, total "
        f"{money_or_unknown(e.total, e.currency)}, "
        f"balance {money_or_unknown(e.balance, e.currency)}"
    )


def _source_mapping(e: SourceMappingPublished) -> str:
    return f"source mapping {e.mapping_version} for {e.source} published (sha256 {e.sha256[:12]})"


def _webhook(e: WebhookReceived) -> str:
    named = f"{len(e.hints)} records named" if e.hints else f"{e.records} records carried"
    return f"webhook {e.delivery_id} from {e.source} stored before its answer: {named}"


def _mismatch(e: MismatchDetected) -> str:
    return f"{e.mismatch_type} (expected {e.expected}, actual {e.actual})"


def _mismatch_resolved(e: MismatchResolved) -> str:
    return f"mismatch {e.key} resolved in run {e.run_id}"


def _run(e: ReconciliationCompleted) -> str:
    return f"run {e.run_id} on {e.ledger}: {e.checked} checked, {e.open_mismatches} open mismatches"


def _mapping(e: MappingVersionPublished) -> str:
    return f"mapping {e.mapping_version} for {e.ledger} published (sha256 {_short(e.sha256)})"


def _shredded(e: SubjectKeyShredded) -> str:
    return f"personal data erased ({e.reason})"


def _hold(e: LegalHoldPlaced) -> str:
    return f"legal hold {e.hold_id} on {e.scope_kind}:{e.scope_value}: {e.reason}"


def _hold_released(e: LegalHoldReleased) -> str:
    return f"legal hold {e.hold_id} released: {e.reason}"


#: how the audit trace words each event type (each function takes its own type); any
#: other is worded as `syncledger trace` words it (:func:`syncledger.core.trace.describe`)
_SUMMARIES: dict[type[EventData], Callable[[Any], str]] = {
    SourceRecordObserved: _observed,
    SourceRecordDeleted: _deleted,
    SourceRecordRejected: _rejected,
    LedgerPushRequested: _requested,
    LedgerPushSucceeded: _succeeded,
    LedgerPushFailed: _failed,
    LedgerPushAbandoned: _abandoned,
    RecordLinked: _linked,
    LedgerRecordObserved: _ledger_observed,
    WebhookReceived: _webhook,
    SourceMappingPublished: _source_mapping,
    MismatchDetected: _mismatch,
    MismatchResolved: _mismatch_resolved,
    ReconciliationCompleted: _run,
    MappingVersionPublished: _mapping,
    SubjectKeyShredded: _shredded,
    LegalHoldPlaced: _hold,
    LegalHoldReleased: _hold_released,
}


def summarize(ev: LoggedEvent) -> str:
    """The event in words (its stored type's name when it does not decode)."""
    if ev.event is None:
        return ev.type
    words = handler_for(_SUMMARIES, ev.event)
    return describe(ev.event) if words is None else words(ev.event)
