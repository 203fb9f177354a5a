"""The NetSuite sandbox's books in SQLite (a file when a path is given, memory otherwise):
records by type with internal id and unique external id, TBA tokens and used nonces,
asynchronous jobs keyed by idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook, micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    type TEXT NOT NULL,            -- REST record type: customer, invoice, ...
    id INTEGER NOT NULL,           -- internal id (one sequence for the whole account)
    external_id TEXT,              -- unique per record type when set
    body TEXT NOT NULL,
    created INTEGER NOT NULL,      -- microseconds since the epoch
    modified INTEGER NOT NULL,
    PRIMARY KEY (type, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_external ON records (type, external_id);
CREATE INDEX IF NOT EXISTS records_modified ON records (type, modified);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,          -- a sandbox must know it to check HMAC signatures
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS nonces (
    token_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    stamp INTEGER NOT NULL,
    PRIMARY KEY (token_id, nonce, stamp)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    status INTEGER NOT NULL,
    location TEXT,
    result TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
Clock = Callable[[], datetime]


def stamp(moment: datetime) -> str:
    """A REST date-time: UTC, to the second (``2026-03-01T10:00:05Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NetSuiteBook(TabledBook):
    """One account's records by record type (``customer``, ``invoice``…) and internal id,
    oldest id first. Bodies are stored as NetSuite returns them."""

    RECORDS = RecordTable(kind="type")

    def __init__(self, path: Path | None, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        super().__init__(path, SCHEMA)
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def by_external_id(self, record: str, external_id: str) -> dict[str, Any] | None:
        return self.body(
            "SELECT body FROM records WHERE type = ? AND external_id = ?", (record, external_id)
        )

    def modified(self, record: str) -> dict[str, int]:
        """Internal id → last modification (microseconds since the epoch)."""
        rows = self.db.execute("SELECT id, modified FROM records WHERE type = ?", (record,))
        return {str(ident): int(moment) for ident, moment in rows}

    # ----------------------------------------------------------------- writes

    def insert(self, record: str, body: dict[str, Any], created_field: str) -> dict[str, Any]:
        """Store a new record: assigns the internal id and both dates."""
        return self._insert(record, {**body, "id": str(self._next_id())}, created_field)

    def seed(self, record: str, body: dict[str, Any], created_field: str) -> None:
        """Store a record of the account's setup under its own id (below the sequence's
        101) unless it is there already."""
        if self.get(record, body["id"]) is None:
            self._insert(record, body, created_field)

    def _insert(self, record: str, body: dict[str, Any], created_field: str) -> dict[str, Any]:
        now = self.clock()
        stored = body | {created_field: stamp(now), "lastModifiedDate": stamp(now)}
        moment, external_id = micros(now), stored.get("externalId")
        ident = int(stored["id"])
        self.insert_row(
            record, ident, stored, external_id=external_id, created=moment, modified=moment
        )
        return stored

    def save(self, record: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing record: ``lastModifiedDate`` moves on."""
        now = self.clock()
        stored = {**body, "lastModifiedDate": stamp(now)}
        more = {"modified": micros(now), "external_id": stored.get("externalId")}
        self.update_row(record, int(stored["id"]), stored, **more)
        return stored

    # ---------------------------------------------------------------- tokens

    def add_token(self, token_id: str, secret: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO tokens VALUES (?, ?, 0)", (token_id, secret))

    def token_secret(self, token_id: str) -> str | None:
        row = self.db.execute(
            "SELECT secret FROM tokens WHERE token_id = ? AND revoked = 0", (token_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def revoke_token(self, token_id: str) -> None:
        self.db.execute("UPDATE tokens SET revoked = 1 WHERE token_id = ?", (token_id,))

    def use_nonce(self, token_id: str, nonce: str, timestamp: int) -> bool:
        """Record a nonce + timestamp; False when this token already used the pair."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO nonces VALUES (?, ?, ?)", (token_id, nonce, timestamp)
        )
        return cursor.rowcount == 1

    def forget_nonces_before(self, timestamp: int) -> None:
        self.db.execute("DELETE FROM nonces WHERE stamp < ?", (timestamp,))

    # ------------------------------------------------------------------ jobs

    def add_job(self, key: str | None, status: int, location: str | None, result: Any) -> int:
        moment = stamp(self.clock())
        cursor = self.db.execute(
            "INSERT INTO jobs (idempotency_key, status, location, result, started, ended) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, status, location, _text(result), moment, moment),
        )
        return int(cursor.lastrowid or 0)

    def job(self, job_id: object) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, status, location, result, started, ended FROM jobs WHERE id = ?",
            (str(job_id),),
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "status", "location", "result", "started", "ended")
        job = dict(zip(keys, row, strict=True))
        job["result"] = decode_json(job["result"])
        return job

    def job_for_key(self, key: str) -> int | None:
        row = self.db.execute("SELECT id FROM jobs WHERE idempotency_key = ?", (key,)).fetchone()
        return int(row[0]) if row else None

    def _next_id(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        ident = int(row[0]) if row else 101
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (str(ident + 1),))
        return ident


def _text(value: Any) -> str:
    return encode_json(value).decode()
