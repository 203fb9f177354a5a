"""CSV files as a source system (columns and examples: docs/csv.md).

A directory holds ``customers.csv``, ``invoices.csv``, ``payments.csv`` and optionally
``credit_notes.csv`` and ``refunds.csv``. Invoices and credit notes have one row per
*line*, the document's own columns repeated on each of its rows. Items come out in
dependency order: customers, invoices, credit notes, payments, refunds.

Two kinds of trouble, kept apart:

* a bad **file** (missing, unreadable, missing a required column, an unknown column,
  broken quoting) raises :class:`~syncledger.core.errors.SourceError` naming the file, the line and
  what to fix, before any item is produced;
* a bad **row** (wrong number of cells, text that is not valid in the file's encoding, a
  timestamp that does not parse, an invoice whose repeated columns disagree) still
  becomes a :class:`~syncledger.core.ports.SourceItem` carrying what could be read, plus the list
  of problems under :data:`core.validation.MALFORMED_FIELD`, so validation rejects it with
  reason ``malformed_row`` and the rest of the file flows on.

Problems name the file, the line and the column, never a cell's value: a row whose cells
shifted may hold a name or an address in any column, and problems reach the immutable log
(docs/audit.md, erasure). For the same reason a row whose ``updated_at`` does not parse
gets the version ``<file> line <n>``, not the cell's text.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from syncledger.core.errors import ConfigurationError, SourceError
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import SourceChanges, StatusUpdate, WriteBackOutcome
from syncledger.core.validation import MALFORMED_FIELD

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

META_COLUMNS: Final = ("updated_at", "deleted")
LINE_REQUIRED: Final = ("description", "quantity", "unit_price")
LINE_OPTIONAL: Final = ("tax_amount", "item_code", "line_type")
LINE_COLUMNS: Final = LINE_REQUIRED + LINE_OPTIONAL
_DOCUMENT_REQUIRED: Final = ("id", "number", "customer_id", "issue_date", "currency", "total")
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"", "false", "no", "0"})
_REF_PART = re.compile(r"^[^/\s]{1,200}$")


@dataclass(frozen=True, slots=True)
class CsvFile:
    """One file of the directory: its record kind and its columns."""

    name: str
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    has_lines: bool = False
    optional_file: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


CUSTOMERS: Final = CsvFile(
    "customers.csv",
    "customer",
    required=("id", "name", "currency", "updated_at"),
    optional=(
        "contact_name",
        "email",
        "phone",
        "tax_id",
        "billing_address",
        "tags",
        "region",
        "deleted",
    ),
)
INVOICES: Final = CsvFile(
    "invoices.csv",
    "invoice",
    required=(*_DOCUMENT_REQUIRED, "updated_at", *LINE_REQUIRED),
    optional=(
        "due_date",
        "exchange_rate",
        "discount",
        "status",
        "amount_paid",
        "send",
        "deleted",
        *LINE_OPTIONAL,
    ),
    has_lines=True,
)
CREDIT_NOTES: Final = CsvFile(
    "credit_notes.csv",
    "credit_note",
    required=(*_DOCUMENT_REQUIRED, "updated_at", *LINE_REQUIRED),
    optional=("invoice_id", "exchange_rate", "discount", "deleted", *LINE_OPTIONAL),
    has_lines=True,
    optional_file=True,
)
PAYMENTS: Final = CsvFile(
    "payments.csv",
    "payment",
    required=("id", "customer_id", "invoice_id", "amount", "currency", "paid_on", "updated_at"),
    optional=("method", "reference", "deleted"),
)
REFUNDS: Final = CsvFile(
    "refunds.csv",
    "refund",
    required=("id", "customer_id", "amount", "currency", "refunded_on", "updated_at"),
    optional=("payment_id", "credit_note_id", "method", "reference", "deleted"),
    optional_file=True,
)
#: In dependency order: what a record refers to comes before it.
FILES: Final = (CUSTOMERS, INVOICES, CREDIT_NOTES, PAYMENTS, REFUNDS)


@dataclass(slots=True)
class _Row:
    line: int
    cells: dict[str, str | None]
    problems: list[str] = field(default_factory=list)

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()


# --------------------------------------------------------------------------- timestamps


def parse_timestamp(text: str) -> datetime | None:
    """An ISO 8601 timestamp (or date) as an aware UTC datetime; naive means UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _cursor(since: str | None) -> datetime | None:
    if since is None:
        return None
    when = parse_timestamp(since)
    if when is None:
        raise SourceError(
            f"cursor {since!r} is not an ISO 8601 timestamp: pass a version returned by a "
            "previous run, e.g. 2024-03-31T12:00:00+00:00"
        )
    return when


# --------------------------------------------------------------------------- file reading


def _file_error(spec: CsvFile, line: int, problem: str) -> SourceError:
    return SourceError(f"{spec.name} line {line}: {problem} (columns: docs/csv.md)")


def _header(spec: CsvFile, raw: list[str] | None) -> list[str]:
    if not raw:
        problem = f"the file is empty: start it with the header row {','.join(spec.required)}"
        raise _file_error(spec, 1, problem)
    names = [cell.strip().lower() for cell in raw]
    _check_header_names(spec, names)
    missing = [c for c in spec.required if c not in names]
    if missing:
        raise _file_error(
            spec, 1, f"missing required column(s) {', '.join(missing)}: add them to the header row"
        )
    return names


def _check_header_names(spec: CsvFile, names: list[str]) -> None:
    if any(_has_surrogates(n) for n in names):
        raise _file_error(
            spec,
            1,
            "the header row is not valid text in the file's encoding: save the file as UTF-8",
        )
    if "" in names:
        raise _file_error(
            spec,
            1,
            f"column {names.index('') + 1} of the header row has no "
            "name: name it or delete the column",
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise _file_error(
            spec,
            1,
            f"column(s) {', '.join(duplicated)} appear more than once "
            "in the header row: keep one of each",
        )
    unknown = [n for n in names if n not in spec.columns]
    if unknown:
        raise _file_error(
            spec,
            1,
            f"unknown column(s) {', '.join(unknown)}: rename them to "
            f"one of {', '.join(spec.columns)}, or remove them",
        )


def _has_surrogates(text: str) -> bool:
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _clean(text: str) -> str:
    """Undecodable bytes (kept as surrogates) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _make_row(spec: CsvFile, header: list[str], line: int, cells: list[str]) -> _Row:
    row = _Row(line, dict.fromkeys(header))
    if len(cells) != len(header):
        row.problems.append(
            f"{spec.name} line {line} has {len(cells)} cells but the header has "
            f"{len(header)} columns: quote values that contain commas"
        )
    for column, cell in zip(header, cells, strict=False):
        if _has_surrogates(cell):
            row.problems.append(
                f"{spec.name} line {line}, column {column}: text is not valid "
                "in the file's encoding: save the file as UTF-8"
            )
            cell = _clean(cell)
        row.cells[column] = cell
    return row


def _quoting_error(spec: CsvFile, line: int, exc: csv.Error) -> SourceError:
    fix = (
        'wrap values containing commas, quotes or line breaks in "double quotes" and '
        'double any quote inside them ("")'
    )
    return _file_error(spec, line, f"the row starting here cannot be read ({exc}): {fix}")


def numbered_rows(
    reader: CsvReader, broken: Callable[[int, csv.Error], Exception]
) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank row after the header with the line it starts on. A row the reader
    cannot find (its quoting is broken, so the file is) raises ``broken(line, error)``."""
    previous = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise broken(previous + 1, exc) from exc
        start, previous = previous + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield start, cells


def _rows(spec: CsvFile, reader: CsvReader, header: list[str]) -> Iterator[_Row]:
    for start, cells in numbered_rows(reader, partial(_quoting_error, spec)):
        yield _make_row(spec, header, start, cells)


def read_rows(path: Path, spec: CsvFile, encoding: str) -> list[_Row]:
    """Every non-blank row of one file; file-level trouble raises SourceError."""
    try:
        with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                header = _header(spec, next(reader, None))
            except csv.Error as exc:
                raise _quoting_error(spec, 1, exc) from exc
            return list(_rows(spec, reader, header))
    except (OSError, UnicodeError) as exc:
        raise SourceError(
            f"{path}: cannot be read ({exc}): check the path and that it is a text file"
        ) from exc


# --------------------------------------------------------------------------- items


@dataclass(frozen=True, slots=True)
class _Meta:
    version: str
    when: datetime | None
    deleted: bool
    problems: tuple[str, ...]


def _meta(spec: CsvFile, row: _Row) -> _Meta:
    problems: list[str] = []
    raw_version = row.get("updated_at")
    when = parse_timestamp(raw_version) if raw_version else None
    if when is None:
        problems.append(
            f"{spec.name} line {row.line}: updated_at is not an "
            "ISO 8601 timestamp such as 2024-03-31T12:00:00Z"
        )
    flag = row.get("deleted").lower()
    if flag not in _TRUE | _FALSE:
        problems.append(f"{spec.name} line {row.line}: deleted is not true or false")
    version = when.isoformat() if when is not None else f"{spec.name} line {row.line}"
    return _Meta(version, when, flag in _TRUE, tuple(problems))


def _item_id(spec: CsvFile, row: _Row) -> str:
    """The row's id when it can name a record; otherwise a stand-in naming the line
    (validation rejects the row for its id)."""
    rid = row.get("id")
    return rid if _REF_PART.match(rid) else f"{spec.name}#L{row.line}"


def _fields(row: _Row, skip: Iterable[str]) -> dict[str, Any]:
    dropped = set(skip)
    return {k: v for k, v in row.cells.items() if k not in dropped}


def _with_problems(fields: dict[str, Any], problems: Sequence[str]) -> dict[str, Any]:
    if problems:
        fields[MALFORMED_FIELD] = list(problems)
    return fields


def _record_item(spec: CsvFile, row: _Row, system: str) -> tuple[SourceItem, _Meta]:
    meta = _meta(spec, row)
    fields = _with_problems(_fields(row, META_COLUMNS), [*row.problems, *meta.problems])
    item = SourceItem(system, spec.kind, _item_id(spec, row), meta.version, fields, meta.deleted)
    return item, meta


def _group(spec: CsvFile, rows: list[_Row]) -> list[list[_Row]]:
    """Rows of the same document together, in order of first appearance; a row without
    a usable id stands alone."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(_item_id(spec, row), []).append(row)
    return list(groups.values())


def _line_of(row: _Row) -> dict[str, str | None] | None:
    line: dict[str, str | None] = {c: row.cells[c] for c in LINE_COLUMNS if c in row.cells}
    return line if any((v or "").strip() for v in line.values()) else None


def _disagreements(spec: CsvFile, rows: list[_Row]) -> list[str]:
    first = rows[0]
    columns = [c for c in first.cells if c not in LINE_COLUMNS]
    return [
        f"{spec.name} line {row.line}: {c} differs from line {first.line}: "
        "repeat the same document values on each of its lines"
        for row in rows[1:]
        for c in columns
        if row.get(c) != first.get(c)
    ]


def _document_item(spec: CsvFile, rows: list[_Row], system: str) -> tuple[SourceItem, _Meta]:
    head, meta = _record_item(spec, rows[0], system)
    fields = _fields(rows[0], (*META_COLUMNS, *LINE_COLUMNS, MALFORMED_FIELD))
    fields["lines"] = [line for row in rows if (line := _line_of(row)) is not None]
    problems = [*meta.problems, *(p for row in rows for p in row.problems)]
    problems += _disagreements(spec, rows)
    item = SourceItem(
        system, spec.kind, head.id, meta.version, _with_problems(fields, problems), meta.deleted
    )
    return item, meta


def _is_new(meta: _Meta, cutoff: datetime | None) -> bool:
    """After the cursor; a row whose version does not parse is always delivered (and
    rejected), never silently skipped."""
    return cutoff is None or meta.when is None or meta.when > cutoff


def items_of(
    spec: CsvFile, rows: list[_Row], system: str, cutoff: datetime | None = None
) -> list[SourceItem]:
    """The source items of one file's rows, newer than ``cutoff``."""
    if spec.has_lines:
        built = [_document_item(spec, group, system) for group in _group(spec, rows)]
    else:
        built = [_record_item(spec, row, system) for row in rows]
    return [item for item, meta in built if _is_new(meta, cutoff)]


# --------------------------------------------------------------------------- the adapter


STATUS_FILE = "payment_status.csv"
STATUS_COLUMNS = (
    "source_ref",
    "status",
    "balance",
    "ledger_updated_at",
    "written_at",
    "ledger",
    "ledger_number",
    "amount_paid",
    "currency",
)
_WRITTEN_AT = STATUS_COLUMNS.index("written_at")


class CsvSource:
    """:class:`~syncledger.core.ports.SourceAdapter` over a directory of CSV files."""

    def __init__(self, directory: Path, system: str = "csv", *, encoding: str = "utf-8-sig"):
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ConfigurationError(
                f"unknown encoding {encoding!r}: use e.g. utf-8 or cp1252"
            ) from exc
        self.directory = Path(directory)
        self.system = system
        self.encoding = encoding

    def _table(self, spec: CsvFile) -> list[_Row]:
        path = self.directory / spec.name
        if not path.is_file():
            if spec.optional_file:
                return []
            raise SourceError(
                f"{path} not found: create it with at least the header row "
                f"{','.join(spec.required)} (see docs/csv.md)"
            )
        return read_rows(path, spec, self.encoding)

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        """Payment status from the ledger, appended to ``payment_status.csv`` beside the
        source files (CSV cannot take it into the records themselves): one row per
        update, flushed to disk before returning. An update the file's last row for that
        record already says is not written again, so a retried write-back adds nothing.
        A file takes every row, so every update is written (a failure to write the file
        raises: nothing is marked)."""
        await asyncio.to_thread(self._append_status, list(updates))
        return [WriteBackOutcome.written(u.source_ref) for u in updates]

    def _append_status(self, updates: list[StatusUpdate]) -> None:
        path = self.directory / STATUS_FILE
        last = _last_status_rows(path)
        rows = [_status_row(u) for u in updates]
        fresh = [row for row in rows if last.get(row[0]) != row]
        if fresh:
            _append_rows(path, fresh)

    def read(self, since: str | None = None) -> list[SourceItem]:
        """Every item changed after ``since`` (an ``updated_at`` version), in dependency
        order. Reads every file before returning, so a bad file yields nothing."""
        cutoff = _cursor(since)
        if not self.directory.is_dir():
            raise SourceError(
                f"{self.directory} is not a directory: point the CSV source "
                "at the folder holding customers.csv, invoices.csv, payments.csv"
            )
        tables = [(spec, self._table(spec)) for spec in FILES]
        return [item for spec, rows in tables for item in items_of(spec, rows, self.system, cutoff)]

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        """The whole folder, every time: a row edited by hand need not get a newer
        ``updated_at``, so no cursor can be trusted; ingest skips what did not change."""
        return SourceChanges(tuple(await asyncio.to_thread(self.read)), None)

    async def aclose(self) -> None:
        """Nothing to release: files are opened per read."""

    async def changes(self, since: str | None = None) -> AsyncIterator[SourceItem]:
        """Records changed after the cursor ``since`` (None: everything)."""
        for item in await asyncio.to_thread(self.read, since):
            yield item


def _text_of(value: object) -> str:
    return "" if value is None else str(value)


def _status_row(u: StatusUpdate) -> list[str]:
    """The row's cells but ``written_at`` (the moment of writing, not part of the update)."""
    at = u.at.isoformat() if u.at is not None else ""
    paid = u.amount_paid
    return [u.source_ref, u.status, _text_of(u.balance), at] + [
        _text_of(v) for v in (u.ledger, u.ledger_number, paid, u.currency)
    ]


def _without_written_at(row: list[str]) -> list[str]:
    return row[:_WRITTEN_AT] + row[_WRITTEN_AT + 1 :]


def _last_status_rows(path: Path) -> dict[str, list[str]]:
    """Each record's last row in the status file, without ``written_at``."""
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return {row[0]: _without_written_at(row) for row in list(csv.reader(fh))[1:] if row}
    except OSError as exc:
        raise SourceError(f"cannot read payment status from {path}: {exc.strerror}") from exc


def _append_rows(path: Path, rows: list[list[str]]) -> None:
    new = not path.exists()
    written = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with path.open("a", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            if new:
                out.writerow(STATUS_COLUMNS)
            out.writerows([*row[:_WRITTEN_AT], written, *row[_WRITTEN_AT:]] for row in rows)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise SourceError(f"cannot write payment status to {path}: {exc.strerror}") from exc
