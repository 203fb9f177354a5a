"""The body a sender posts: records in the CSV source's shape, as JSON.

The envelope is the Standard Webhooks spec's recommended one
(standard-webhooks/standard-webhooks:spec/standard-webhooks.md, "Payload structure";
SOURCES.md §4.1): ``{"type": "<kind>.<action>", "timestamp": ..., "data": ...}`` with a
dot-separated ``type`` over ``[a-zA-Z0-9_]``. Our kinds and actions are syncledger's own:
``customer``, ``invoice``, ``credit_note``, ``payment``, ``refund`` and ``created``,
``updated``, ``deleted``. ``data`` is one record or a list of them (a batch), each with
the CSV source's column names (adapters/sources/csv_source.py, docs/csv.md); an invoice's
or credit note's lines are a ``lines`` list of objects with the line columns. A record
becomes the :class:`SourceItem` the CSV source makes of the same record.

Amounts may be JSON strings or numbers; numbers are parsed as Decimal, never float, and
carried as their text. Any other shape is refused (``malformed``) with one line saying
what to fix: the sender sees it at once, rather than a record failing validation later.
A ``<kind>.deleted`` record needs only ``id`` and ``updated_at``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from syncledger.adapters.sources.csv_source import (
    FILES,
    LINE_COLUMNS,
    LINE_REQUIRED,
    META_COLUMNS,
    CsvFile,
    parse_timestamp,
)
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import WebhookRefused

SPECS: Final[Mapping[str, CsvFile]] = {spec.kind: spec for spec in FILES}
ACTIONS: Final = ("created", "updated", "deleted")
MAX_BATCH: Final = 1000
_TYPE = re.compile(r"^([a-z_]+)\.([a-z_]+)$")
#: a record id as the CSV source takes it (docs/csv.md): 1-200 characters, no "/", no spaces
_ID = re.compile(r"^[^/\s]{1,200}$")
_DOCS: Final = "see docs/sources/webhooks.md"


def _refuse(message: str) -> WebhookRefused:
    return WebhookRefused("malformed", f"{message} ({_DOCS})")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _refuse("the body is not UTF-8 JSON") from exc


def _kind_and_action(envelope: Mapping[str, Any]) -> tuple[CsvFile, bool]:
    """The record kind's columns, and whether the records were deleted."""
    found = _TYPE.match(str(envelope.get("type", "")))
    if found is None or found[1] not in SPECS or found[2] not in ACTIONS:
        kinds, actions = "|".join(SPECS), "|".join(ACTIONS)
        raise _refuse(f"type {envelope.get('type')!r} is not one of <{kinds}>.<{actions}>")
    return SPECS[found[1]], found[2] == "deleted"


def _text(where: str, name: str, value: Any) -> str:
    """A cell as the CSV source would hold it: JSON numbers as their decimal text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _refuse(f"{where}: {name} must be a string or a number")


def _check_names(where: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise _refuse(f"{where}: unknown field(s) {', '.join(unknown)}: use {', '.join(allowed)}")


def _check_required(where: str, given: Mapping[str, Any], required: tuple[str, ...]) -> None:
    missing = [n for n in required if given.get(n) in (None, "")]
    if missing:
        raise _refuse(f"{where}: missing {', '.join(missing)}")


def _line(where: str, raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict):
        raise _refuse(f"{where}: each of lines must be an object")
    _check_names(where, raw, LINE_COLUMNS)
    absent = [n for n in LINE_REQUIRED if n not in raw]  # present, as CSV columns must be
    if absent:
        raise _refuse(f"{where}: missing {', '.join(absent)}")
    line = {k: _text(where, k, v) for k, v in raw.items()}
    return line if any(v.strip() for v in line.values()) else None


def _lines(where: str, raw: Any, deleted: bool) -> list[dict[str, str]]:
    if raw is None and deleted:
        return []
    if not isinstance(raw, list) or not raw:
        raise _refuse(f"{where}: lines must be a non-empty list")
    found = [_line(f"{where} line {n + 1}", line) for n, line in enumerate(raw)]
    return [line for line in found if line is not None]


def _columns(spec: CsvFile) -> tuple[str, ...]:
    """The record's own fields: the file's columns but the line and META ones."""
    skip = (*LINE_COLUMNS, *META_COLUMNS)
    return tuple(c for c in spec.columns if c not in skip)


def _required(spec: CsvFile, deleted: bool) -> tuple[str, ...]:
    if deleted:
        return ("id", "updated_at")
    return tuple(c for c in spec.required if c not in LINE_COLUMNS)


def _version(where: str, record: Mapping[str, Any]) -> str:
    when = parse_timestamp(_text(where, "updated_at", record["updated_at"]))
    if when is None:
        raise _refuse(f"{where}: updated_at is not an ISO 8601 timestamp")
    return when.isoformat()


def _item(spec: CsvFile, deleted: bool, record: Any, where: str, system: str) -> SourceItem:
    if not isinstance(record, dict):
        raise _refuse(f"{where}: a record must be an object")
    extra = ("lines",) if spec.has_lines else ()
    _check_names(where, record, (*_columns(spec), "updated_at", *extra))
    _check_required(where, record, _required(spec, deleted))
    fields: dict[str, Any] = {
        k: _text(where, k, v) for k, v in record.items() if k not in ("updated_at", "lines")
    }
    if not _ID.match(fields["id"]):
        raise _refuse(f"{where}: id must be 1-200 characters without '/' or spaces")
    if spec.has_lines:
        fields["lines"] = _lines(where, record.get("lines"), deleted)
    return SourceItem(system, spec.kind, fields["id"], _version(where, record), fields, deleted)


def _records(envelope: Mapping[str, Any]) -> list[Any]:
    data = envelope.get("data")
    records = data if isinstance(data, list) else [data]
    if not records or data is None:
        raise _refuse("data must be a record or a non-empty list of records")
    if len(records) > MAX_BATCH:
        raise _refuse(f"data holds {len(records)} records: send at most {MAX_BATCH} at once")
    return records


def items_of(body: bytes, system: str) -> tuple[SourceItem, ...]:
    """The records a verified body carries, as source items."""
    envelope = _json(body)
    if not isinstance(envelope, dict):
        raise _refuse('the body must be a JSON object {"type": ..., "timestamp": ..., "data": ...}')
    spec, deleted = _kind_and_action(envelope)
    records = _records(envelope)
    where = envelope["type"]
    return tuple(
        _item(spec, deleted, r, f"{where} record {n + 1}", system) for n, r in enumerate(records)
    )
