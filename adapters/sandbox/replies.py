"""Idempotent replay, as the platforms that offer it work: a write sent again under a
key already seen answers the first reply again instead of writing twice. Each platform
says where its key comes from and for how long it is kept (QBO's ``requestid``, kept for
good here; Sage's ``idempotency_id``, 7 days; Xero's ``Idempotency-Key``, 6 minutes, with
a fingerprint of the request so that a key reused for another request is refused): see
their ``server.py``. What is common is kept here: the replies stored in the book's
database (table ``sandbox_replies``), looked up while they last, never replaced while
they last (the first reply stands), and dropped on request (a test playing a platform
that forgot a key)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_replies (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,   -- what the request was, where the platform checks it
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    expires REAL                 -- epoch seconds; NULL: kept for good
);
"""


@dataclass(frozen=True)
class Reply:
    """A stored answer: status, body, and the fingerprint of the request it answered."""

    status: int
    body: bytes
    fingerprint: str = ""


class Replies:
    """The replies kept in ``db``, each for ``ttl`` seconds after it was stored by
    ``clock`` (None: for good)."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        db.executescript(SCHEMA)

    def earlier(self, key: str) -> Reply | None:
        """The reply stored under ``key`` while it lasts, else None."""
        row = self._db.execute(
            "SELECT status, body, fingerprint FROM sandbox_replies "
            "WHERE key = ? AND (expires IS NULL OR expires > ?)",
            (key, self._clock()),
        ).fetchone()
        return Reply(int(row[0]), bytes(row[1]), str(row[2])) if row else None

    def keep(self, key: str, status: int, body: bytes, fingerprint: str = "") -> None:
        """Store the reply to ``key``'s first request; one still lasting is kept as it
        is, one expired is replaced."""
        now = self._clock()
        expires = None if self._ttl is None else now + self._ttl
        self._db.execute(
            "INSERT INTO sandbox_replies VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE "
            "SET fingerprint = excluded.fingerprint, status = excluded.status, "
            "body = excluded.body, expires = excluded.expires "
            "WHERE sandbox_replies.expires IS NOT NULL AND sandbox_replies.expires <= ?",
            (key, fingerprint, status, body, expires, now),
        )

    def forget(self, answered: Callable[[bytes], bool]) -> int:
        """Drop the replies whose body ``answered`` picks; how many went."""
        rows = self._db.execute("SELECT key, body FROM sandbox_replies").fetchall()
        gone = [(key,) for key, body in rows if answered(bytes(body))]
        self._db.executemany("DELETE FROM sandbox_replies WHERE key = ?", gone)
        return len(gone)
