"""One line per event for traces: what happened, in words an auditor reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.audit.index import LoggedEvent
from syncledger.core.trace import summary_of

Summary = Callable[[dict[str, Any]], str]


def _short(value: object, n: int = 12) -> str:
    return str(value)[:n]


def _failure(d: dict[str, Any]) -> str:
    code = f"{d['code']} " if d.get("code") else ""
    return f"{code}{d.get('message', '')}".strip()


_SUMMARIES: dict[str, Summary] = {
    "SourceRecordObserved": lambda d: (
        f"source version {d['version']} observed (content {_short(d['content_sha256'])})"
    ),
    "SourceRecordDeleted": lambda d: f"deleted in the source (version {d['version']})",
    "SourceRecordRejected": lambda d: (
        "validation rejected: " + ", ".join(r["code"] for r in d.get("reasons", []))
    ),
    "LedgerPushRequested": lambda d: (
        f"{d['operation']} requested on {d['ledger']} with mapping {d['mapping_version']}"
        f" (idempotency key {_short(d['idempotency_key'])})"
    ),
    "LedgerPushSucceeded": lambda d: (
        f"pushed to {d['ledger']} as {d['ledger_ref']}"
        + (f" version {d['ledger_version']}" if d.get("ledger_version") else "")
        + (" (recovered after a crash)" if d.get("recovered") else "")
    ),
    "LedgerPushFailed": lambda d: f"attempt {d['attempt']} on {d['ledger']} failed: " + _failure(d),
    "LedgerPushAbandoned": lambda d: (
        f"abandoned on {d['ledger']} after {d['attempts']} attempts: " + _failure(d)
    ),
    "RecordLinked": lambda d: (
        f"linked to existing {d['ledger_ref']} on {d['ledger']} (matched by {d['matched_by']})"
    ),
    "LedgerRecordObserved": lambda d: (
        f"{d['ledger']} shows {d['ledger_ref']}: status {d.get('status')}, total "
        f"{d.get('total')}, balance {d.get('balance')} {d.get('currency') or ''}".rstrip()
    ),
    "MismatchDetected": lambda d: (
        f"{d['mismatch_type']} (expected {d.get('expected')}, actual {d.get('actual')})"
    ),
    "MismatchResolved": lambda d: f"mismatch {d['key']} resolved in run {d['run_id']}",
    "ReconciliationCompleted": lambda d: (
        f"run {d['run_id']} on {d['ledger']}: {d['checked']} checked, "
        f"{d['open_mismatches']} open mismatches"
    ),
    "MappingVersionPublished": lambda d: (
        f"mapping {d['mapping_version']} for {d['ledger']} published (sha256 {_short(d['sha256'])})"
    ),
    "SubjectKeyShredded": lambda d: f"personal data erased ({d['reason']})",
    "LegalHoldPlaced": lambda d: (
        f"legal hold {d['hold_id']} on {d['scope_kind']}:{d['scope_value']}: {d['reason']}"
    ),
    "LegalHoldReleased": lambda d: f"legal hold {d['hold_id']} released: {d['reason']}",
}


def summarize(ev: LoggedEvent) -> str:
    summary = _SUMMARIES.get(ev.type)
    if summary is None:  # the sync's own events, worded as `syncledger trace` words them
        try:
            return summary_of({"type": ev.type, "data": ev.data})
        except (KeyError, TypeError):
            return ev.type
    try:
        return summary(ev.data)
    except (KeyError, TypeError):
        return ev.type
