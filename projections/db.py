"""Reading and writing read-model rows and checkpoints in SQL (SQLite or PostgreSQL).

Writes are upserts (``INSERT … ON CONFLICT (pk) DO UPDATE``), the same statement on both
dialects, sent as one ``executemany`` per table per batch.

On PostgreSQL a table's rows of a batch, when there are at least :data:`COPY_MIN_ROWS` of
them, go in bulk instead (issue 13, "PostgreSQL at scale"): ``COPY … FROM STDIN`` (psycopg)
into a temporary staging table shaped like the table (``LIKE``; ``ON COMMIT DELETE
ROWS``, so it is empty in every transaction), then one ``INSERT … SELECT … ON CONFLICT
(pk) DO UPDATE`` moves them. The statement is the same upsert, set-based; a batch holds a
key once (the working set's changed keys), which that statement requires. Below the
threshold ``executemany`` is as quick and needs no staging table.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Connection,
    Delete,
    Dialect,
    Table,
    and_,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from syncledger.core.errors import ProjectionError
from syncledger.projections.schema import Tables
from syncledger.projections.state import Group, Row, TableSpec, WorkingSet

LOAD_CHUNK = 500  # values per IN (…) when loading groups
COPY_MIN_ROWS = 200  # PostgreSQL: rows of one table in one batch that go by COPY


class CheckpointMoved(ProjectionError):
    """Another runner (or a replay) moved the checkpoint: this batch was not applied."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    last_seq: int
    generation: str


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ProjectionError(f"read models need SQLite or PostgreSQL; {dialect!r} is not supported")


def upsert_statement(dialect: str, table: Table) -> ClauseElement:
    ins = _insert(dialect, table)
    pk = [c.name for c in table.primary_key.columns]
    values = {c.name: ins.excluded[c.name] for c in table.columns if c.name not in pk}
    stmt: ClauseElement = ins.on_conflict_do_update(index_elements=pk, set_=values)
    return stmt


def _delete_statement(table: Table) -> Delete:
    pk = [c.name for c in table.primary_key.columns]
    return delete(table).where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in pk)))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A statement compiled once to the driver's SQL, for ``exec_driver_sql`` batches
    (which skips SQLAlchemy's per-row parameter processing: the hot path).

    For a positional paramstyle (SQLite's ``?``) each row's values are taken in order by
    one ``itemgetter``, in C: the driver then binds by position, where ``:name``
    parameters had it look every value up by name (a quarter of SQLite's time per row,
    measured on 14-column upserts); a named paramstyle takes the row's dict as it is."""

    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]] | None  # None: named parameters

    @classmethod
    def of(cls, stmt: ClauseElement, dialect: Dialect) -> _Prepared:
        compiled = stmt.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise ProjectionError(f"cannot compile {stmt} for {dialect.name}")
        names = compiled.positiontup
        if not dialect.positional or not names:
            return cls(str(compiled), None)
        return cls(str(compiled), _values_of(tuple(names)))

    def execute(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.values is None:
            conn.exec_driver_sql(self.sql, rows)
        else:
            conn.exec_driver_sql(self.sql, list(map(self.values, rows)))


def _values_of(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values in the order of ``names``, always as a tuple."""
    if len(names) == 1:
        only = names[0]
        return lambda row: (row[only],)
    getter: Callable[[dict[str, Any]], tuple[Any, ...]] = itemgetter(*names)
    return getter


@dataclass(frozen=True, slots=True)
class _BulkUpsert:
    """PostgreSQL: COPY into a staging table, then one set-based upsert (module docstring)."""

    columns: tuple[str, ...]
    stage: str  # CREATE TEMP TABLE IF NOT EXISTS … (once per session; cheap afterwards)
    copy: str
    move: str

    @classmethod
    def of(cls, table: Table, dialect: Dialect) -> _BulkUpsert:
        quote = dialect.identifier_preparer.quote
        columns = tuple(c.name for c in table.columns)
        names = ", ".join(quote(c) for c in columns)
        pk = [c.name for c in table.primary_key.columns]
        target, staging = quote(table.name), quote(f"stage_{table.name}")
        updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in pk)
        return cls(
            columns,
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {target}) ON COMMIT DELETE ROWS",
            f"COPY {staging} ({names}) FROM STDIN",
            f"INSERT INTO {target} ({names}) SELECT {names} FROM {staging} "  # noqa: S608 - our quoted names
            f"ON CONFLICT ({', '.join(quote(c) for c in pk)}) DO UPDATE SET {updates}",
        )

    def execute(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        driver = conn.connection.driver_connection
        if driver is None:  # pragma: no cover - a pooled connection always has one
            raise ProjectionError("the PostgreSQL connection has no driver connection")
        columns = self.columns
        with driver.cursor() as cursor:
            cursor.execute(self.stage)
            with cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
            cursor.execute(self.move)


class SqlRows:
    """Statements for one :class:`~syncledger.projections.schema.Tables`, for one dialect."""

    def __init__(self, tables: Tables, dialect: Dialect) -> None:
        self.tables = tables
        self.dialect = dialect.name
        by_name = tables.by_name()
        self._tables = {name: by_name[name] for name in by_name if name != "checkpoints"}
        self._upserts = {
            n: _Prepared.of(upsert_statement(self.dialect, t), dialect)
            for n, t in self._tables.items()
        }
        self._deletes = {
            n: _Prepared.of(_delete_statement(t), dialect) for n, t in self._tables.items()
        }
        self._pk = {n: [c.name for c in t.primary_key.columns] for n, t in self._tables.items()}
        self._bulk = (
            {n: _BulkUpsert.of(t, dialect) for n, t in self._tables.items()}
            if self.dialect == "postgresql"
            else {}
        )

    # ---------------------------------------------------------------- rows

    def load(self, conn: Connection, spec: TableSpec, groups: list[Group]) -> list[Row]:
        """Every row of the given groups (``entity`` + group column value)."""
        table = self._tables[spec.name]
        by_entity: dict[str, list[str]] = defaultdict(list)
        for entity, value in groups:
            by_entity[entity].append(value)
        rows: list[Row] = []
        for entity, values in by_entity.items():
            for i in range(0, len(values), LOAD_CHUNK):
                chunk = values[i : i + LOAD_CHUNK]
                stmt = select(table).where(table.c.entity == entity, table.c[spec.group].in_(chunk))
                rows.extend(dict(r._mapping) for r in conn.execute(stmt))
        return rows

    def flush(self, conn: Connection, ws: WorkingSet) -> int:
        """Write every changed row of ``ws``; return how many rows were written."""
        written = 0
        for name, state in ws.tables.items():
            upserts, deletes = state.take_changes()
            bulk = self._bulk.get(name)
            if bulk is not None and len(upserts) >= COPY_MIN_ROWS:
                bulk.execute(conn, upserts)
            elif upserts:
                self._upserts[name].execute(conn, upserts)
            if deletes:
                pk = self._pk[name]
                params = [{f"k_{c}": v for c, v in zip(pk, key, strict=True)} for key in deletes]
                self._deletes[name].execute(conn, params)
            written += len(upserts) + len(deletes)
        return written

    # ---------------------------------------------------------------- checkpoints

    def checkpoint(self, conn: Connection, name: str) -> Checkpoint | None:
        cp = self.tables.checkpoints
        row = conn.execute(select(cp.c.last_seq, cp.c.generation).where(cp.c.name == name)).first()
        return None if row is None else Checkpoint(int(row.last_seq), str(row.generation))

    def init_checkpoint(self, conn: Connection, name: str) -> Checkpoint:
        """The checkpoint, created at 0 with a new generation id if missing."""
        ins = _insert(self.dialect, self.tables.checkpoints)
        stmt = ins.values(name=name, last_seq=0, generation=uuid.uuid4().hex)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        found = self.checkpoint(conn, name)
        if found is None:
            raise ProjectionError(f"checkpoint {name!r} vanished while being created")
        return found

    def advance(self, conn: Connection, name: str, old: Checkpoint, new_seq: int) -> None:
        """Move the checkpoint from ``old`` to ``new_seq``, or fail if it moved meanwhile."""
        cp = self.tables.checkpoints
        stmt = (
            update(cp)
            .where(cp.c.name == name, cp.c.last_seq == old.last_seq)
            .where(cp.c.generation == old.generation)
            .values(last_seq=new_seq)
        )
        if conn.execute(stmt).rowcount != 1:
            raise CheckpointMoved(
                f"checkpoint {name!r} moved away from {old.last_seq} while this runner "
                "worked (another runner, or a replay swapped the tables in); run again"
            )
