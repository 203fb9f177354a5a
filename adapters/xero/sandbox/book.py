"""The Xero sandbox's books: one organisation's contacts, items, invoices, payments, credit
notes, overpayments and the bank transactions that received them, and the invoice e-mails
``emailInvoice`` sent, in SQLite (a file when a path is given, memory otherwise); the
answers kept for ``Idempotency-Key`` replays are the service's ``Replies`` in the same
database.

Records are stored as Xero returns them. ``UpdatedDateUTC`` is stamped on every write from
a per-book clock in milliseconds that never repeats (a write in the same millisecond as
the previous one takes the next), so two versions of a record never share a timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook

ENTITY_OF_KIND = {
    "customer": "Contact",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_note": "CreditNote",
    "overpayment": "Overpayment",
    "bank_transaction": "BankTransaction",
    "item": "Item",
}
ID_FIELD = {e: f"{e}ID" for e in ENTITY_OF_KIND.values()}
NUMBER_FIELD = {
    "Contact": "ContactNumber",
    "Invoice": "InvoiceNumber",
    "CreditNote": "CreditNoteNumber",
    "Item": "Code",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number_key TEXT,           -- casefolded ContactNumber / InvoiceNumber / CreditNoteNumber
                               -- / item Code
    name_key TEXT,             -- casefolded contact Name
    updated INTEGER NOT NULL,  -- UpdatedDateUTC, milliseconds since the epoch
    body TEXT NOT NULL,
    PRIMARY KEY (entity, id)
);
CREATE INDEX IF NOT EXISTS records_updated ON records (entity, updated);
CREATE INDEX IF NOT EXISTS records_number ON records (entity, number_key);
CREATE INDEX IF NOT EXISTS records_name ON records (entity, name_key);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS emails (  -- invoices e-mailed by emailInvoice: to whom, when
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id TEXT NOT NULL,
    to_addresses TEXT NOT NULL,      -- comma-separated
    sent_ms INTEGER NOT NULL
);
"""


def entity_name(kind: str) -> str:
    """``invoice`` / ``Invoice`` / ``credit_note`` / ``CreditNote`` → the Xero entity."""
    for canonical, entity in ENTITY_OF_KIND.items():
        if kind.lower() in (canonical, entity.lower()):
            return entity
    raise KeyError(kind)


def ms_date(ms: int) -> str:
    """Xero's JSON date: ``/Date(1541176290160+0000)/``."""
    return f"/Date({ms}+0000)/"


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


class XeroBook(TabledBook):
    """One organisation's records by entity (``Invoice``; a kind such as ``invoice`` or
    ``credit_note`` is read as its entity), in the order they were first saved; ids are
    kept lower-case. ``count`` and ``records`` serve tests and the CLI."""

    RECORDS = RecordTable(kind="entity", order="seq", integer_ids=False)

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path, SCHEMA)
        self._clock = clock
        self._last_ms = int(self._meta("last_ms") or 0)

    # ------------------------------------------------------------- reading

    def stored_kind(self, kind: str) -> str:
        return entity_name(kind)

    def get(self, kind: str, ident: object) -> dict[str, Any] | None:
        return super().get(kind, str(ident).lower())

    def all(self, entity: str) -> list[dict[str, Any]]:
        """``records`` of ``entity``, by the name the platform's tests read it with."""
        return self.records(entity)

    def numbered(self, entity: str, number: str) -> list[dict[str, Any]]:
        return self.bodies(
            "SELECT body FROM records WHERE entity = ? AND number_key = ? ORDER BY seq",
            (entity, number.casefold()),
        )

    def named(self, entity: str, name: str) -> list[dict[str, Any]]:
        return self.bodies(
            "SELECT body FROM records WHERE entity = ? AND name_key = ? ORDER BY seq",
            (entity, name.casefold()),
        )

    def changed_since(self, entity: str, since_ms: int) -> list[dict[str, Any]]:
        return self.bodies(
            "SELECT body FROM records WHERE entity = ? AND updated >= ? ORDER BY seq",
            (entity, since_ms),
        )

    # ------------------------------------------------------------- writing

    def save(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace ``record`` (its id field set), stamping ``UpdatedDateUTC``."""
        stamp = self.stamp()
        record = {**record, "UpdatedDateUTC": ms_date(stamp)}
        if "UpdatedDateUTCString" in record or entity not in ("Contact", "Item"):
            record["UpdatedDateUTCString"] = _iso(stamp)
        ident = str(record[ID_FIELD[entity]]).lower()
        self.db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entity, id) DO UPDATE "
            "SET number_key = excluded.number_key, name_key = excluded.name_key, "
            "updated = excluded.updated, body = excluded.body",
            (entity, ident, self._next("seq"), *_keys(entity, record), stamp, _text(record)),
        )
        return record

    def stamp(self) -> int:
        """Milliseconds now, strictly after every earlier stamp of this book."""
        self._last_ms = max(int(self._clock() * 1000), self._last_ms + 1)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('last_ms', ?)", (str(self._last_ms),))
        return self._last_ms

    def next_number(self, prefix: str) -> str:
        """``INV-0001``, ``CN-0001``, …: Xero's default numbering when none is sent."""
        return f"{prefix}{self._next('number:' + prefix):04d}"

    def _rolled_back(self) -> None:
        self._last_ms = int(self._meta("last_ms") or 0)

    # ------------------------------------------------------------- e-mails

    def record_email(self, invoice_id: str, to: list[str], sent_ms: int) -> None:
        """One e-mail of invoice ``invoice_id`` to the addresses ``to`` at ``sent_ms``."""
        self.db.execute(
            "INSERT INTO emails (invoice_id, to_addresses, sent_ms) VALUES (?, ?, ?)",
            (invoice_id.lower(), ",".join(to), sent_ms),
        )

    def emails(self, invoice_id: str) -> list[tuple[list[str], int]]:
        """The e-mails of invoice ``invoice_id`` so far: (to, milliseconds), oldest first."""
        rows = self.db.execute(
            "SELECT to_addresses, sent_ms FROM emails WHERE invoice_id = ? ORDER BY seq",
            (invoice_id.lower(),),
        ).fetchall()
        return [(str(to).split(","), int(ms)) for to, ms in rows]

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _next(self, counter: str) -> int:
        value = int(self._meta(counter) or 0) + 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (counter, str(value)))
        return value


def _keys(entity: str, record: dict[str, Any]) -> tuple[str | None, str | None]:
    number = record.get(NUMBER_FIELD.get(entity, ""))
    name = record.get("Name") if entity == "Contact" else None
    return (
        number.casefold() if isinstance(number, str) and number else None,
        name.casefold() if isinstance(name, str) else None,
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(record: dict[str, Any]) -> str:
    return encode_json(record).decode()
