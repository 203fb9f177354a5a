"""The Sage sandbox's books: resources and document number sequences, in SQLite (a file
when a path is given, memory otherwise); the answers replayed by ``idempotency_id`` are
the service's ``Replies`` in the same database.

Times are kept as Sage shows them: ``created_at`` / ``updated_at`` at whole seconds,
``YYYY-MM-DDThh:mm:ssZ``; the insertion order breaks ties between records of one second.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL,      -- contacts, sales_invoices, ...
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    updated INTEGER NOT NULL,    -- whole seconds since the epoch
    UNIQUE (resource, id)
);
CREATE INDEX IF NOT EXISTS resources_updated ON resources (resource, updated);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

Clock = Callable[[], datetime]


def stamp(moment: datetime) -> str:
    """Sage's date-time format: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


class SageBook(TabledBook):
    """One business's records, addressed by resource name and id (text), listed in the
    order they were made."""

    RECORDS = RecordTable("resources", "resource", order="seq", integer_ids=False)

    def __init__(self, path: Path | None, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        super().__init__(path, SCHEMA)
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def changed_since(self, resource: str, since: datetime) -> list[dict[str, Any]]:
        """Records updated or created at or after ``since`` (Sage: inclusive)."""
        return self.bodies(
            "SELECT body FROM resources WHERE resource = ? AND updated >= ? ORDER BY seq",
            (resource, seconds(since)),
        )

    # ----------------------------------------------------------------- writes

    def add(self, resource: str, body: dict[str, Any], ident: str | None = None) -> dict[str, Any]:
        """Store a new record: assigns ``id``, ``$path``, ``created_at`` and ``updated_at``."""
        now = self.clock()
        record_id = ident or uuid.uuid4().hex
        record = {
            "id": record_id,
            "$path": f"/{resource}/{record_id}",
            **body,
            "created_at": stamp(now),
            "updated_at": stamp(now),
        }
        self.insert_row(resource, record_id, record, updated=seconds(now))
        return record

    def put(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing record: ``updated_at`` becomes now."""
        now = self.clock()
        record = {**record, "updated_at": stamp(now)}
        self.update_row(resource, record["id"], record, updated=seconds(now))
        return record

    def next_number(self, name: str) -> int:
        row = self.db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = int(row[0]) + 1 if row else 1
        self.db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?)", (name, value))
        return value
