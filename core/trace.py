"""``syncledger trace <system>/<kind>/<id>``: one record's events, in order, to its ledger id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.ids import subject_token
from core.model import RecordRef
from core.store import EventStore
from core.subjects import source_subject


@dataclass(frozen=True, slots=True)
class TraceLine:
    seq: int
    recorded_at: str
    type: str
    subject: str
    summary: str
    event: dict[str, Any]


def summary_of(event: dict[str, Any]) -> str:
    """One line saying what the event ``{"type", "data"}`` did to its record."""
    d = event["data"]
    t: str = event["type"]
    if t == "SourceRecordObserved":
        return f"version {d['version']} observed, content {d['content_sha256'][:12]}"
    if t == "SourceRecordRejected":
        return "rejected: " + "; ".join(f"{r['code']}: {r['message']}" for r in d["reasons"])
    if t == "LedgerPushRequested":
        part = f", applying {d['applied']} of it" if d.get("applied") is not None else ""
        return (
            f"{d['operation']} requested on {d['ledger']} with key "
            f"{d['idempotency_key'][:16]}…, mapping {d['mapping_version']}{part}"
        )
    if t == "CustomerCreditRecorded":
        return (
            f"overpayment: {d['amount']} {d['currency']} beyond {d['invoice_ref']} stays on "
            f"the customer's account in {d['ledger']} as credit"
        )
    if t == "LedgerItemRequested":
        return (
            f"item {d['code']!r} is not in {d['ledger']}: creating it "
            f'(mapping {d["mapping_version"]}, unmatched = "create")'
        )
    if t == "LedgerItemCreated":
        how = "found after an interrupted create" if d.get("recovered") else "created"
        return f"item {d['code']!r} {how} in {d['ledger']} as {d['ledger_item_ref']}"
    if t == "LedgerStepRequested":
        return f"step {d['step']!r} requested on {d['ledger']} with key {d['step_key'][:16]}…"
    if t == "LedgerStepSucceeded":
        how = " (found after its answer was lost)" if d.get("recovered") else ""
        return f"step {d['step']!r} done in {d['ledger']}: {d['ledger_ref']}{how}"
    if t == "InvoiceDisputed":
        return f"disputed: credited in {d['ledger']} by {d['credit_note_ref']}"
    if t == "ReviewRequested":
        return f"waiting for review ({d['reason']}): {d['message']}"
    if t == "ReviewResolved":
        target = f" to {d['ledger_ref']}" if d.get("ledger_ref") else ""
        return f"review decided on {d['ledger']}: {d['decision']}{target}"
    if t == "RetryRequested":
        return f"retry requested on {d['ledger']}" + (f": {d['reason']}" if d.get("reason") else "")
    if t == "LedgerPushSucceeded":
        how = " (recovered the earlier write)" if d.get("recovered") else ""
        return f"{d['ledger']} holds it as {d['ledger_ref']}{how}"
    if t == "RecordLinked":
        return f"linked to existing {d['ledger']} record {d['ledger_ref']} ({d['matched_by']})"
    if t == "LedgerPushFailed":
        step = f" at step {d['step']!r}" if d.get("step") else ""
        return f"attempt {d['attempt']} failed{step}: {d['message']}; retry at {d.get('retry_at')}"
    if t == "LedgerPushAbandoned":
        return f"abandoned after {d['attempts']} attempts: {d['message']}"
    if t in ("MismatchDetected", "MismatchResolved"):
        return f"{t}: {d.get('mismatch_type', '')} {d['key']}"
    return t


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
            event = json.loads(stored.raw)
            lines.append(
                TraceLine(
                    stored.seq,
                    event["recorded_at"],
                    event["type"],
                    stored.subject,
                    summary_of(event),
                    event,
                )
            )
    lines.sort(key=lambda line: line.seq)
    return lines


def ledger_id_of(lines: list[TraceLine]) -> str | None:
    for line in reversed(lines):
        if line.type in ("LedgerPushSucceeded", "RecordLinked"):
            ledger_ref: str = line.event["data"]["ledger_ref"]
            return ledger_ref
    return None
