"""The FreshBooks sandbox's books: clients, invoices, payments, credit notes and items of
one account, in SQLite (a file when a path is given, memory otherwise).

Timestamps are what FreshBooks' accounting endpoints send: ``"YYYY-MM-DD hh:mm:ss"``,
zone-naive, in US/Eastern (FreshBooks' Python SDK, "Dates and Times").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook

KINDS = ("client", "invoice", "payment", "credit_note", "item")
_CANONICAL = {"customer": "client"}
FIRST_ID = 1001

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
"""


@cache
def eastern() -> ZoneInfo:
    return ZoneInfo("America/New_York")


def eastern_text(moment: datetime) -> str:
    """``moment`` as FreshBooks writes ``updated``: US/Eastern, to the second."""
    return moment.astimezone(eastern()).strftime("%Y-%m-%d %H:%M:%S")


def kind_of(name: str) -> str:
    """``customer`` / ``client`` → ``client``; the other kinds are their own names."""
    kind = _CANONICAL.get(name, name)
    if kind not in KINDS:
        raise KeyError(name)
    return kind


class FreshBooksBook(TabledBook):
    """One account's records; ``count`` and ``records`` serve tests and the CLI, newest id
    first (FreshBooks lists by descending id)."""

    RECORDS = RecordTable(order="id DESC")

    def __init__(
        self,
        path: Path | None,
        *,
        account_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(path, SCHEMA)
        self.account_id = account_id
        self.clock = clock

    def stored_kind(self, kind: str) -> str:
        return kind_of(kind)

    def add(self, kind: str, body: dict[str, Any], id_fields: tuple[str, ...]) -> dict[str, Any]:
        """Store a new record: assigns the id (under every name in ``id_fields``)."""
        ident = self._next_id(kind)
        record = {
            **body,
            "id": ident,
            **dict.fromkeys(id_fields, ident),
            "updated": self.now_text(),
        }
        self.insert_row(kind, ident, record)
        return record

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing record (``updated`` moves on)."""
        stamped = {**record, "updated": self.now_text()}
        self.update_row(kind, int(stamped["id"]), stamped)
        return stamped

    def now_text(self) -> str:
        return eastern_text(self.clock())

    def _next_id(self, kind: str) -> int:
        row = self.db.execute("SELECT next FROM counters WHERE kind = ?", (kind,)).fetchone()
        ident = int(row[0]) if row else FIRST_ID
        self.db.execute("REPLACE INTO counters VALUES (?, ?)", (kind, ident + 1))
        return ident
