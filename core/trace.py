"""``syncledger trace <system>/<kind>/<id>``: one record's events, in order, to its ledger id.

Every stored event is read through :func:`syncledger.core.decode.decode` (typed, upcast) and worded
from its typed payload by :func:`describe`; an event that does not decode is shown as such,
never dropped. The ledger entry is named by the ledger whose events hold it
(:func:`ledger_entry_of`), never by the configured one: a record pushed by
``demo --ledger xero`` is in Xero whatever the configuration names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncledger.core.decode import decode
from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import (
    CustomerCreditRecorded,
    CustomerDetailsObserved,
    CustomerDetailsWritten,
    DataMapPublished,
    EventData,
    InvoiceDisputed,
    InvoiceSendFailed,
    InvoiceSendRequested,
    InvoiceSent,
    LedgerItemCreated,
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    LedgerStepRequested,
    LedgerStepSucceeded,
    MismatchDetected,
    MismatchResolved,
    RecordHeldForRollout,
    RecordLinked,
    RecordReleasedForRollout,
    ReflowRequested,
    RepushRequested,
    RetryRequested,
    ReviewRequested,
    ReviewResolved,
    SourceRecordObserved,
    SourceRecordRejected,
    SourceStatusRefused,
    SourceStatusWritten,
)
from syncledger.core.ids import subject_token
from syncledger.core.model import RecordRef
from syncledger.core.store import EventStore, StoredEvent
from syncledger.core.subjects import source_subject
from syncledger.core.words import money, money_or_unknown


@dataclass(frozen=True, slots=True)
class TraceLine:
    seq: int
    recorded_at: str
    type: str
    subject: str
    summary: str
    event: EventData | None  #: None: the stored bytes do not decode (the summary says why)


def describe(event: EventData) -> str:
    """One line saying what the typed event did to its record (its type's name for an
    event that says nothing about one)."""
    words = _WORDS.get(type(event))
    return type(event).__name__ if words is None else words(event)


def _observed(e: SourceRecordObserved) -> str:
    return f"version {e.version} observed, content {e.content_sha256[:12]}"


def _rejected(e: SourceRecordRejected) -> str:
    under = f" (mapping {e.mapping_version})" if e.mapping_version else ""
    return f"rejected{under}: " + "; ".join(f"{r.code}: {r.message}" for r in e.reasons)


def _reflow(e: ReflowRequested) -> str:
    was = f" (rejected under {e.rejected_under})" if e.rejected_under else ""
    return f"tried again on {e.ledger} under the new mapping {e.mapping_version}{was}"


def _retry(e: RetryRequested) -> str:
    return f"retry requested on {e.ledger}" + (f": {e.reason}" if e.reason else "")


def _repush(e: RepushRequested) -> str:
    return f"repush requested on {e.ledger} (gone from it)" + (f": {e.reason}" if e.reason else "")


def _held(e: RecordHeldForRollout) -> str:
    return (
        f"waiting for rollout on {e.ledger}: out of the [rollout] scope "
        f"{e.rule_sha256[:12]}, not pushed"
    )


def _released(e: RecordReleasedForRollout) -> str:
    return f"released for rollout on {e.ledger}: the scope {e.rule_sha256[:12]} admits it"


def _review_requested(e: ReviewRequested) -> str:
    return f"waiting for review ({e.reason}): {e.message}"


def _review_resolved(e: ReviewResolved) -> str:
    target = f" to {e.ledger_ref}" if e.ledger_ref else ""
    return f"review decided on {e.ledger}: {e.decision}{target}"


def _item_requested(e: LedgerItemRequested) -> str:
    return (
        f"item {e.code!r} is not in {e.ledger}: creating it "
        f'(mapping {e.mapping_version}, unmatched = "create")'
    )


def _item_created(e: LedgerItemCreated) -> str:
    how = "found after an interrupted create" if e.recovered else "created"
    return f"item {e.code!r} {how} in {e.ledger} as {e.ledger_item_ref}"


def _step_requested(e: LedgerStepRequested) -> str:
    return f"step {e.step!r} requested on {e.ledger} with key {e.step_key[:16]}…"


def _step_succeeded(e: LedgerStepSucceeded) -> str:
    how = " (found after its answer was lost)" if e.recovered else ""
    return f"step {e.step!r} done in {e.ledger}: {e.ledger_ref}{how}"


def _requested(e: LedgerPushRequested) -> str:
    part = f", applying {e.applied} of it" if e.applied is not None else ""
    return (
        f"{e.operation} requested on {e.ledger} with key "
        f"{e.idempotency_key[:16]}…, mapping {e.mapping_version}{part}"
    )


def _succeeded(e: LedgerPushSucceeded) -> str:
    how = " (recovered the earlier write)" if e.recovered else ""
    kept = (
        f"; {', '.join(e.ledger_owned)} not sent: the ledger owns them, its values stay"
        if e.ledger_owned
        else ""
    )
    return f"{e.ledger} holds it as {e.ledger_ref}{how}{kept}"


def _linked(e: RecordLinked) -> str:
    return f"linked to existing {e.ledger} record {e.ledger_ref} ({e.matched_by})"


def _failed(e: LedgerPushFailed) -> str:
    step = f" at step {e.step!r}" if e.step else ""
    return f"attempt {e.attempt} failed{step}: {e.message}; retry at {_when(e.retry_at)}"


def _abandoned(e: LedgerPushAbandoned) -> str:
    return f"abandoned after {e.attempts} attempts: {e.message}"


def _credit(e: CustomerCreditRecorded) -> str:
    return (
        f"overpayment: {money(e.amount, e.currency)} beyond {e.invoice_ref} stays "
        f"on the customer's account in {e.ledger} as credit"
    )


def _disputed(e: InvoiceDisputed) -> str:
    return f"disputed: credited in {e.ledger} by {e.credit_note_ref}"


def _ledger_observed(e: LedgerRecordObserved) -> str:
    balance = money_or_unknown(e.balance, e.currency)
    return f"{e.ledger} shows {e.ledger_ref}: {e.status}, balance {balance}"


def _status_written(e: SourceStatusWritten) -> str:
    balance = money_or_unknown(e.balance, None)
    return f"payment status {e.status} (balance {balance}) written back to the source"


def _status_refused(e: SourceStatusRefused) -> str:
    return (
        f"payment status {e.status} NOT written back: the source refused it ({e.code}: {e.message})"
    )


def _details_observed(e: CustomerDetailsObserved) -> str:
    return f"{e.ledger} holds other {', '.join(e.fields)} (the ledger owns them): to the source"


def _details_written(e: CustomerDetailsWritten) -> str:
    said = [f"{', '.join(e.written)} written back to the source"] if e.written else []
    said += [f"{r.field} refused by the source ({r.reason})" for r in e.refused]
    return "; ".join(said) or "nothing written back"


def _send_requested(e: InvoiceSendRequested) -> str:
    return f"{e.ledger} asked to e-mail {e.ledger_ref} to the customer"


def _sent(e: InvoiceSent) -> str:
    found = " (found sent after an interrupted send)" if e.recovered else ""
    return f"{e.ledger} e-mailed {e.ledger_ref} to the customer{found}"


def _send_failed(e: InvoiceSendFailed) -> str:
    return f"{e.ledger_ref} NOT e-mailed by {e.ledger}: {e.reason}"


def _mismatch(e: MismatchDetected) -> str:
    return f"MismatchDetected: {e.mismatch_type} {e.key}"


def _resolved(e: MismatchResolved) -> str:
    return f"MismatchResolved: {e.key}"


def _data_map(e: DataMapPublished) -> str:
    verdict = e.data_map.get("transfer", "allowed")
    return f"data map for {e.ledger} in force (sha256 {e.sha256[:12]}): transfer {verdict}"


#: how each event type is worded (each function takes its own type)
_WORDS: dict[type[EventData], Callable[[Any], str]] = {
    SourceRecordObserved: _observed,
    SourceRecordRejected: _rejected,
    RetryRequested: _retry,
    ReflowRequested: _reflow,
    RepushRequested: _repush,
    ReviewRequested: _review_requested,
    ReviewResolved: _review_resolved,
    LedgerItemRequested: _item_requested,
    LedgerItemCreated: _item_created,
    LedgerStepRequested: _step_requested,
    LedgerStepSucceeded: _step_succeeded,
    LedgerPushRequested: _requested,
    LedgerPushSucceeded: _succeeded,
    RecordLinked: _linked,
    LedgerPushFailed: _failed,
    LedgerPushAbandoned: _abandoned,
    CustomerCreditRecorded: _credit,
    InvoiceDisputed: _disputed,
    MismatchDetected: _mismatch,
    MismatchResolved: _resolved,
    LedgerRecordObserved: _ledger_observed,
    SourceStatusWritten: _status_written,
    SourceStatusRefused: _status_refused,
    CustomerDetailsObserved: _details_observed,
    CustomerDetailsWritten: _details_written,
    InvoiceSendRequested: _send_requested,
    InvoiceSent: _sent,
    InvoiceSendFailed: _send_failed,
    RecordHeldForRollout: _held,
    RecordReleasedForRollout: _released,
    DataMapPublished: _data_map,
}


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


def status_written_of(lines: list[TraceLine]) -> SourceStatusWritten | None:
    """The last payment status written back to the source record, if any."""
    for line in reversed(lines):
        if isinstance(line.event, SourceStatusWritten):
            return line.event
    return None


def ledger_entry_of(lines: list[TraceLine], kind: str) -> str | None:
    """``<ledger>/<kind>/<ledger id>`` of the last push or link on each ledger that holds
    the record (comma separated when several do, the latest last), or None."""
    held: dict[str, str] = {}
    for line in lines:
        if isinstance(line.event, LedgerPushSucceeded | RecordLinked):
            held.pop(line.event.ledger, None)
            held[line.event.ledger] = line.event.ledger_ref
    return ", ".join(f"{ledger}/{kind}/{ref}" for ledger, ref in held.items()) or None
