"""``errors.json`` of an audit package: each record's error history, readable without us.

A digest of the package's own events (nothing that ``events.jsonl`` does not hold, no
personal value unsealed): per record, in stream order, every rejection, failed and
abandoned push, mismatch detected and resolved, conflict detected and settled, and review
requested and resolved, with the fields the event stores. Each entry names its event's
``seq``, so an auditor finds the event and its inclusion proof.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from syncledger.audit.errors import PackageInvalid
from syncledger.audit.index import LoggedEvent
from syncledger.core.events import (
    ConflictDetected,
    ConflictSettled,
    EventData,
    LedgerPushAbandoned,
    LedgerPushFailed,
    MismatchDetected,
    MismatchResolved,
    ReviewRequested,
    ReviewResolved,
    SourceRecordRejected,
)

FORMAT = "syncledger-errors/v1"
ERROR_EVENTS: tuple[type[EventData], ...] = (
    SourceRecordRejected,
    LedgerPushFailed,
    LedgerPushAbandoned,
    MismatchDetected,
    MismatchResolved,
    ConflictDetected,
    ConflictSettled,
    ReviewRequested,
    ReviewResolved,
)
NO_RECORD = "(no record)"  # a mismatch about a ledger record that no source record links to


def _entry(ev: LoggedEvent, event: EventData) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "type": type(event).__name__,
        "occurred_at": ev.doc.get("occurred_at"),
        "data": event.model_dump(mode="json"),
    }


def _still_open(entries: Sequence[dict[str, Any]]) -> list[str]:
    """Mismatch keys detected and not resolved since (within the package)."""
    open_keys: dict[str, None] = {}
    for e in entries:
        if e["type"] == "MismatchDetected":
            open_keys[e["data"]["key"]] = None
        elif e["type"] == "MismatchResolved":
            open_keys.pop(e["data"]["key"], None)
    return list(open_keys)


def errors_file(events: Sequence[LoggedEvent]) -> dict[str, Any]:
    by_record: dict[tuple[str, str], list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for ev in events:
        if isinstance(ev.event, ERROR_EVENTS):
            key = (ev.entity, ev.ref or NO_RECORD)
            by_record.setdefault(key, []).append(_entry(ev, ev.event))
            name = type(ev.event).__name__
            counts[name] = counts.get(name, 0) + 1
    records = [
        {"entity": entity, "ref": ref, "open_mismatches": _still_open(e), "events": e}
        for (entity, ref), e in sorted(by_record.items())
    ]
    return {"format": FORMAT, "counts": dict(sorted(counts.items())), "records": records}


def check_errors_file(data: bytes, seqs: set[int]) -> None:
    """Readable, and every entry names an event of the package."""
    try:
        doc = json.loads(data)
        named = [int(e["seq"]) for r in doc["records"] for e in r["events"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageInvalid("errors-corrupt", "errors.json is unreadable") from exc
    for seq in named:
        if seq not in seqs:
            raise PackageInvalid("errors-reference-unknown-event", f"event {seq} is missing")
