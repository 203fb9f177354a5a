"""The SQLite side every sandbox book shares: the connection (a file when a path is
given, its folder made if missing; memory otherwise), the schema, all-or-nothing
transactions, reading stored JSON bodies, and closing.

``TabledBook``: a book whose records sit in one table, a row per record with its kind,
id and JSON body (``RecordTable`` names the table and columns), counted, listed, read,
inserted and updated by kind the same way on every platform (each platform stamps its
own version fields in the body and says which other columns it keeps)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from syncledger.adapters.jsonwire import decode_json, encode_json

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """``moment`` (UTC when naive) in whole microseconds since the epoch: how books keep
    times they compare and order by."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


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


@dataclass(frozen=True)
class RecordTable:
    """Where a book's records are: ``table``, its ``kind`` column, the order ``records``
    lists them in (SQL), and whether ids are integers (a non-integer id then reads as
    none) or text."""

    table: str = "records"
    kind: str = "kind"
    order: str = "id"
    integer_ids: bool = True

    def select(self, what: str, where: str = "", order: str = "") -> str:
        """``SELECT what`` of the records of one kind (the first parameter), ``AND where``
        and ``ORDER BY order`` when given. Every name comes from the platform's code."""
        sql = f"SELECT {what} FROM {self.table} WHERE {self.kind} = ?"  # noqa: S608 (names from code, values bound)
        return sql + (f" AND {where}" if where else "") + (f" ORDER BY {order}" if order else "")


class TabledBook(SqliteBook):
    """A book keeping its records in ``RECORDS`` (with ``body`` and ``id`` columns);
    ``stored_kind`` turns a kind as asked for (``customer``) into the one stored (the
    platform's name; ``KeyError`` for an unknown one)."""

    RECORDS: ClassVar[RecordTable] = RecordTable()

    def stored_kind(self, kind: str) -> str:
        return kind

    def count(self, kind: str) -> int:
        return self.number(self.RECORDS.select("count(*)"), (self.stored_kind(kind),))

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, in ``RECORDS.order``."""
        sql = self.RECORDS.select("body", order=self.RECORDS.order)
        return self.bodies(sql, (self.stored_kind(kind),))

    def get(self, kind: str, ident: object) -> dict[str, Any] | None:
        """The record of ``kind`` with id ``ident``, None when there is none."""
        sql, stored = self.RECORDS.select("body", "id = ?"), self.stored_kind(kind)
        if self.RECORDS.integer_ids:
            return self.body_by_id(sql, stored, ident)
        return self.body(sql, (stored, str(ident)))

    def insert_row(self, kind: str, ident: object, body: dict[str, Any], **more: object) -> None:
        """Store a new record of ``kind``: ``ident``, ``body`` (as JSON) and the table's
        ``more`` columns by name."""
        table = self.RECORDS
        names = ", ".join((table.kind, "id", "body", *more))
        marks = ", ".join("?" * (3 + len(more)))
        values = (self.stored_kind(kind), ident, encode_json(body).decode(), *more.values())
        self.db.execute(f"INSERT INTO {table.table} ({names}) VALUES ({marks})", values)  # noqa: S608 (names from code, values bound)

    def update_row(self, kind: str, ident: object, body: dict[str, Any], **more: object) -> None:
        """Store a new version of the record of ``kind`` with id ``ident``: its ``body``
        (as JSON) and ``more`` columns by name."""
        table = self.RECORDS
        sets = ", ".join(f"{name} = ?" for name in ("body", *more))
        values = (encode_json(body).decode(), *more.values(), self.stored_kind(kind), ident)
        where = f"{table.kind} = ? AND id = ?"
        self.db.execute(f"UPDATE {table.table} SET {sets} WHERE {where}", values)  # noqa: S608 (names from code, values bound)
