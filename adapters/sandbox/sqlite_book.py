"""The SQLite side every sandbox book shares: the connection (a file when a path is
given, its folder made if missing; memory otherwise), the schema, all-or-nothing
transactions and closing."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


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

    def _rolled_back(self) -> None:
        """Undo what a rolled-back transaction left in memory (nothing, unless a book keeps
        state beside the database)."""
