"""The Odoo sandbox's database: records of every model as JSON rows in SQLite (a file when
a path is given, memory otherwise), with ``create_date`` / ``write_date`` kept to the
microsecond (Odoo's columns are ``timestamp``; the API shows them to the second)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.sandbox.sqlite_book import SqliteBook

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    model TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (model, id)
);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS apikeys (
    digest TEXT PRIMARY KEY,
    uid INTEGER NOT NULL,
    name TEXT NOT NULL,
    expires REAL NOT NULL,
    programmatic INTEGER NOT NULL DEFAULT 0
);
"""

Record = dict[str, Any]


class OdooBook(SqliteBook):
    """One database's records, by model. One RPC call is one ``transaction`` (JSON-2
    "Transaction"): all or nothing."""

    def __init__(
        self, path: Path | None, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(path, SCHEMA)
        self._clock = clock

    @property
    def empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    # ---------------------------------------------------------------- reads

    def get(self, model: str, ident: object) -> Record | None:
        if not isinstance(ident, int) or isinstance(ident, bool):
            return None
        row = self.db.execute(
            "SELECT body FROM records WHERE model = ? AND id = ?", (model, ident)
        ).fetchone()
        return _load(row[0]) if row else None

    def all(self, model: str) -> list[Record]:
        rows = self.db.execute("SELECT body FROM records WHERE model = ? ORDER BY id", (model,))
        return [_load(body) for (body,) in rows]

    # --------------------------------------------------------------- writes

    def add(self, model: str, values: Record) -> Record:
        """Store a new record; assigns ``id``, ``create_date`` and ``write_date``."""
        now = self._clock()
        record = {**values, "id": self.next_value(model), "create_date": now, "write_date": now}
        self.db.execute(
            "INSERT INTO records VALUES (?, ?, ?)", (model, record["id"], _dump(record))
        )
        return record

    def put(self, model: str, record: Record) -> Record:
        """Store a new version of an existing record: ``write_date`` becomes now."""
        record = {**record, "write_date": self._clock()}
        self.db.execute(
            "UPDATE records SET body = ? WHERE model = ? AND id = ?",
            (_dump(record), model, record["id"]),
        )
        return record

    def delete(self, model: str, ident: int) -> None:
        self.db.execute("DELETE FROM records WHERE model = ? AND id = ?", (model, ident))

    def next_value(self, name: str) -> int:
        row = self.db.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
        value = int(row[0]) + 1 if row else 1
        self.db.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?)", (name, value))
        return value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dump(record: Record) -> str:
    stored = {k: _stamp(v) if isinstance(v, datetime) else v for k, v in record.items()}
    return encode_json(stored).decode()


def _load(body: str) -> Record:
    record: Record = decode_json(body)
    for key in ("create_date", "write_date"):
        if isinstance(record.get(key), int):
            record[key] = _EPOCH + timedelta(microseconds=record[key])
    return record


def _stamp(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)
