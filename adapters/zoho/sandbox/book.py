"""The Zoho Books sandbox's books: one organisation's contacts, items, invoices, customer
payments, credit notes and their refunds in SQLite (a file when a path is given, memory
otherwise).

Records are stored as the JSON Zoho answers for a single record; ``created_time`` and
``last_modified_time`` use Zoho's format (``2013-10-07T18:24:51+0530``: seconds, and the
organisation's offset, here UTC), while the ``updated`` column keeps microseconds so
that sorting by modification time is stable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook, micros

#: Zoho resource name → the id field of its records
ID_FIELD = {
    "contact": "contact_id",
    "item": "item_id",
    "invoice": "invoice_id",
    "customerpayment": "payment_id",
    "creditnote": "creditnote_id",
    "creditnoterefund": "creditnote_refund_id",
    "paymentrefund": "payment_refund_id",
}
#: canonical kind (and plural resource names) → resource name
RESOURCE = {
    "customer": "contact",
    "contact": "contact",
    "contacts": "contact",
    "item": "item",
    "items": "item",
    "invoice": "invoice",
    "invoices": "invoice",
    "payment": "customerpayment",
    "customerpayment": "customerpayment",
    "customerpayments": "customerpayment",
    "credit_note": "creditnote",
    "creditnote": "creditnote",
    "creditnotes": "creditnote",
    "creditnoterefund": "creditnoterefund",
    "creditnote_refund": "creditnoterefund",
    "paymentrefund": "paymentrefund",
    "payment_refund": "paymentrefund",
}
ID_BASE = 460000000000000  # Zoho ids are long digit strings (460000000026049 in the docs)
ZOHO_TIME = "%Y-%m-%dT%H:%M:%S%z"

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,      -- microseconds since the epoch
    updated INTEGER NOT NULL,
    number_key TEXT,               -- casefolded contact / item name, document number
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS records_number ON records (kind, number_key);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def resource(kind: str) -> str:
    """``customer`` / ``contacts`` / ``contact`` → ``contact``; KeyError if unknown."""
    return RESOURCE[kind.lower()]


def zoho_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ZOHO_TIME)


class ZohoBook(TabledBook):
    """One organisation's records; ``count`` and ``records`` serve tests and the CLI,
    oldest modification first."""

    RECORDS = RecordTable(order="updated, id", integer_ids=False)

    def __init__(
        self, path: Path | None, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(path, SCHEMA)
        self._clock = clock

    # ------------------------------------------------------------- reads

    def stored_kind(self, kind: str) -> str:
        return resource(kind)

    def numbered(self, kind: str, number: str) -> list[dict[str, Any]]:
        """Records whose contact name / item name / document number equals ``number``
        ignoring case."""
        return self.bodies(
            "SELECT body FROM records WHERE kind = ? AND number_key = ? ORDER BY id",
            (resource(kind), number.casefold()),
        )

    # ------------------------------------------------------------ writes

    def add(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a new record: assigns its id, ``created_time`` and ``last_modified_time``."""
        name = resource(kind)
        now = self._clock()
        record = {ID_FIELD[name]: str(ID_BASE + self._next_id()), **body}
        record["created_time"] = record["last_modified_time"] = zoho_time(now)
        moment = micros(now)
        ident = record[ID_FIELD[name]]
        self.insert_row(
            kind, ident, record, created=moment, updated=moment, number_key=_key(record)
        )
        return record

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing record: stamps ``last_modified_time``."""
        name = resource(kind)
        now = self._clock()
        record = {**record, "last_modified_time": zoho_time(now)}
        self.update_row(
            kind, record[ID_FIELD[name]], record, updated=micros(now), number_key=_key(record)
        )
        return record

    def next_number(self, series: str) -> int:
        """The next number of an auto-numbered series (``INV-000001``, ``CN-00001``)."""
        key = f"series:{series}"
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        number = int(row[0]) if row else 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(number + 1)))
        return number

    def new_id(self) -> str:
        """A fresh id for a sub-record (a contact person, a credit application)."""
        return str(ID_BASE + self._next_id())

    def _next_id(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        ident = int(row[0]) if row else 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (str(ident + 1),))
        return ident


def _key(record: dict[str, Any]) -> str | None:
    number = (
        record.get("contact_name")
        or record.get("invoice_number")
        or record.get("creditnote_number")
        or record.get("payment_number")
        or record.get("name")  # items
    )
    return number.casefold() if isinstance(number, str) else None
