"""``BatchApplier``: folds one batch of stored events into the read-model tables.

Each batch is one database transaction that first moves the checkpoint row (``UPDATE …
WHERE last_seq = <old>``, which also takes the row lock, so two runners never interleave),
then loads the rows the batch reads, folds the batch in memory and writes every changed
row. A crash at any point leaves either the whole batch and its checkpoint, or neither:
nothing is applied twice or skipped. An event the fold cannot apply is recorded in the
``unfoldable`` table inside that same transaction and the fold goes on
(:func:`syncledger.projections.fold.apply`); only the database failing stops a batch.

The applier holds the working set between batches; it runs in a worker thread of the
runner's process, or in a process of its own for a large rebuild
(:mod:`syncledger.projections.fold_process`). It does no reading of the log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import nullcontext
from functools import partial

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from syncledger.core.errors import ProjectionError
from syncledger.core.store import StoredEvent
from syncledger.projections import fold
from syncledger.projections.db import Checkpoint, SqlRows
from syncledger.projections.decode import Broken, Event, read_event
from syncledger.projections.engine import SQLITE_BEGIN_OPTION, unsynced_batches
from syncledger.projections.schema import Tables, create_tables
from syncledger.projections.state import Group, Row, WorkingSet

DEFAULT_MAX_CACHED_ROWS = 250_000


class BatchApplier:
    """Applies batches to one set of read-model tables, checkpointed under ``name``."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str,
        tables: Tables,
        fresh: bool,
        max_cached_rows: int = DEFAULT_MAX_CACHED_ROWS,
    ) -> None:
        self._engine = engine
        self._name = name
        self._tables = tables
        self._fresh = fresh
        self._max_cached = max_cached_rows
        self._sql = SqlRows(tables, engine.dialect)
        self._ws = WorkingSet(complete=fresh)
        self.checkpoint: Checkpoint | None = None
        self._created = False
        self._lock = threading.Lock()  # one batch at a time, even after a cancellation

    def start(self) -> Checkpoint:
        """Create the tables if needed and read the checkpoint (created at 0 if missing)."""
        with self._lock:
            try:
                if not self._created:
                    create_tables(self._engine, self._tables)
                    self._created = True
                with self._engine.begin() as conn:
                    found = self._sql.init_checkpoint(conn, self._name)
            except SQLAlchemyError as exc:
                raise ProjectionError(f"cannot read checkpoint {self._name!r}: {exc}") from exc
            if found != self.checkpoint:
                self._reset(complete=self._fresh and found.last_seq == 0)
                self.checkpoint = found
            return found

    def apply(self, batch: list[StoredEvent]) -> list[Row]:
        """Fold ``batch`` and move the checkpoint past it; return the unfoldable rows."""
        with self._lock:
            if self.checkpoint is None:
                raise ProjectionError("runner not started: call catch_up()")
            events = [ev for s in batch if (ev := read_event(s, fold.HANDLED)) is not None]
            try:
                unfoldable = self._write(events, self.checkpoint, batch[-1].seq)
            except BaseException:
                self._reset(complete=False)
                raise
            self.checkpoint = Checkpoint(batch[-1].seq, self.checkpoint.generation)
            if self._ws.size() > self._max_cached:
                self._shrink()
            return unfoldable

    def _write(self, events: list[Event | Broken], old: Checkpoint, last_seq: int) -> list[Row]:
        """Fold ``events`` and move the checkpoint in one transaction; return the
        unfoldable rows it recorded."""
        span = f"events {old.last_seq + 1}..{last_seq}"
        try:
            options = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}
            with self._engine.connect().execution_options(**options) as conn:
                durability = unsynced_batches(conn) if self._fresh else nullcontext()
                with durability, conn.begin():
                    unfoldable = self._fold(conn, events, old, last_seq)
            return unfoldable
        except SQLAlchemyError as exc:
            raise ProjectionError(f"writing {span} to the read models failed: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ProjectionError(f"{span} cannot be projected: {exc!r}") from exc
        finally:
            self._ws.set_loader(None)

    def _fold(
        self, conn: Connection, events: list[Event | Broken], old: Checkpoint, last_seq: int
    ) -> list[Row]:
        self._sql.advance(conn, self._name, old, last_seq)
        self._ws.set_loader(partial(self._sql.load, conn))
        self._prefetch(conn, events)
        unfoldable = fold.apply(self._ws, events)
        self._sql.flush(conn, self._ws)
        return unfoldable

    def _prefetch(self, conn: Connection, events: list[Event | Broken]) -> None:
        if self._ws.complete:
            return  # nothing to load: every row is known
        for name, groups in fold.groups_needed(events).items():
            self._load(conn, name, groups)
        self._load(conn, "balances", fold.balance_groups(self._ws, events))

    def _load(self, conn: Connection, name: str, groups: Iterable[Group]) -> None:
        state = self._ws.tables[name]
        missing = state.missing(groups)
        if missing:
            state.add_loaded(missing, self._sql.load(conn, state.spec, missing))

    def _shrink(self) -> None:
        """Over the cap: a complete set evicts its (written) rows and stays complete; an
        incomplete one is dropped and reloads what later batches need."""
        if self._ws.complete:
            self._ws.evict()
        else:
            self._reset(complete=False)

    def _reset(self, *, complete: bool) -> None:
        self._ws = WorkingSet(complete=complete)
