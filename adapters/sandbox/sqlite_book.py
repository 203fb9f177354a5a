"""The SQLite side every sandbox book shares: the connection (a file when a path is
given, its folder made if missing; memory otherwise), the schema, all-or-nothing
transactions, reading stored JSON bodies, and closing."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import decode_json


class SqliteBook:
    """A book's database, ``db``, in autocommit mode (``transaction`` groups writes) and
    usable from any thread (the sandbox's event loop and test threads)."""

    def __init__(self, path: Path | None, schema: str) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path) if path is not None else ":memory:"
        self.db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self.db.executescript(schema)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside commits together, or rolls back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._rolled_back()
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def number(self, sql: str, params: tuple[object, ...] = ()) -> int:
        """The one integer ``sql`` selects (a ``count(*)``)."""
        return int(self.db.execute(sql, params).fetchone()[0])

    def bodies(self, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
        """The JSON bodies ``sql`` selects (one column), in its order."""
        return [decode_json(body) for (body,) in self.db.execute(sql, params)]

    def body(self, sql: str, params: tuple[object, ...] = ()) -> dict[str, Any] | None:
        """The JSON body ``sql`` selects, None when no row matches."""
        row = self.db.execute(sql, params).fetchone()
        return decode_json(row[0]) if row else None

    def body_by_id(self, sql: str, kind: str, ident: object) -> dict[str, Any] | None:
        """The body ``sql`` selects by ``(kind, integer id)``; None for an id that is not
        an integer."""
        try:
            key = int(str(ident))
        except ValueError:
            return None
        return self.body(sql, (kind, key))

    def _rolled_back(self) -> None:
        """Undo what a rolled-back transaction left in memory (nothing, unless a book keeps
        state beside the database)."""
