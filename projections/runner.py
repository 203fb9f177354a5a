"""``ProjectionRunner``: folds the event log into the read models, checkpointed.

Events are read in stream order and applied in batches. Each batch is one database
transaction that first moves the checkpoint row (``UPDATE … WHERE last_seq = <old>``,
which also takes the row lock, so two runners never interleave), then loads the rows the
batch reads, folds the batch in memory and writes every changed row. A crash at any
point leaves either the whole batch and its checkpoint, or neither: nothing is applied
twice or skipped. An event the fold cannot apply is recorded in the ``unfoldable`` table
inside that same transaction and the runner goes on (:func:`syncledger.projections.fold.apply`);
only the database or the event store failing stops a batch.

While one batch is written (in a worker thread, so the event loop keeps serving the
NATS connection) the next one is being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import nullcontext
from functools import partial

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from syncledger.core.errors import ProjectionError
from syncledger.core.store import EventStore, StoredEvent
from syncledger.projections import fold
from syncledger.projections.db import Checkpoint, CheckpointMoved, SqlRows
from syncledger.projections.decode import Broken, Event, read_event
from syncledger.projections.engine import SQLITE_BEGIN_OPTION, unsynced_batches
from syncledger.projections.schema import LIVE, PROJECTION_NAME, Tables, create_tables
from syncledger.projections.state import Group, Row, WorkingSet

log = logging.getLogger(__name__)

DEFAULT_BATCH = 2000
READ_PASSES = 3
DEFAULT_MAX_CACHED_ROWS = 250_000


class ProjectionRunner:
    """Applies the log to one set of read-model tables (the live ones by default)."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        *,
        name: str = PROJECTION_NAME,
        tables: Tables = LIVE,
        batch_size: int = DEFAULT_BATCH,
        fresh: bool = False,
        max_cached_rows: int = DEFAULT_MAX_CACHED_ROWS,
    ) -> None:
        """``fresh=True`` promises the tables start empty (a rebuild): then no row is
        ever looked up, every one is known to the runner."""
        if batch_size < 1:
            raise ProjectionError(f"batch_size must be at least 1, not {batch_size}")
        self._engine = engine
        self._store = store
        self._name = name
        self._tables = tables
        self._batch_size = batch_size
        self._fresh = fresh
        self._max_cached = max_cached_rows
        self._sql = SqlRows(tables, engine.dialect)
        self._ws = WorkingSet(complete=fresh)
        self._position: Checkpoint | None = None
        self._created = False
        self._applied = 0  # events applied by this runner, ever
        self._lock = threading.Lock()  # one batch at a time, even after a cancellation

    @property
    def position(self) -> int:
        """The last stream sequence this runner applied (0 before it started)."""
        return 0 if self._position is None else self._position.last_seq

    async def catch_up(self, until: int | None = None) -> int:
        """Apply every event after the checkpoint up to the end of the log as it is now
        (or up to ``until``); return how many events were read and applied, including
        those no read model uses."""
        await asyncio.to_thread(self._start)
        head = await self._store.last_seq()
        target = head if until is None else min(until, head)
        applied_before = self._applied
        short_reads = 0
        while self.position < target and short_reads < READ_PASSES:
            try:
                await self._run(self._store.read(from_seq=self.position + 1), target)
                short_reads += self.position < target  # a read that ended early: resume it
            except CheckpointMoved as exc:  # another runner got further: follow it
                log.info("%s", exc)
                await asyncio.to_thread(self._start)
        if self.position < target:
            log.warning(
                "read models stopped at %d: the event store ended its reads before %d "
                "%d times", self.position, target, READ_PASSES,
            )  # fmt: skip
        return self._applied - applied_before

    async def _run(self, events: AsyncIterator[StoredEvent], until: int) -> None:
        pending: asyncio.Future[None] | None = None
        batch: list[StoredEvent] = []
        try:
            async for stored in events:
                if stored.seq > until:
                    break
                batch.append(stored)
                if len(batch) >= self._batch_size:
                    if pending is not None:
                        await pending
                    pending = self._submit(batch)
                    batch = []
            if pending is not None:
                await pending
                pending = None
            if batch:
                await self._submit(batch)
        finally:
            if pending is not None and not pending.done():
                with contextlib.suppress(Exception):
                    await asyncio.shield(pending)
            await _close(events)

    def _submit(self, batch: list[StoredEvent]) -> asyncio.Future[None]:
        return asyncio.ensure_future(asyncio.to_thread(self._apply_batch, batch))

    # ------------------------------------------------------------------ worker thread

    def _start(self) -> Checkpoint:
        with self._lock:
            try:
                if not self._created:
                    create_tables(self._engine, self._tables)
                    self._created = True
                with self._engine.begin() as conn:
                    found = self._sql.init_checkpoint(conn, self._name)
            except SQLAlchemyError as exc:
                raise ProjectionError(f"cannot read checkpoint {self._name!r}: {exc}") from exc
            if found != self._position:
                self._reset(complete=self._fresh and found.last_seq == 0)
                self._position = found
            return found

    def _apply_batch(self, batch: list[StoredEvent]) -> None:
        with self._lock:
            if self._position is None:
                raise ProjectionError("runner not started: call catch_up()")
            events = [ev for s in batch if (ev := read_event(s, fold.HANDLED)) is not None]
            try:
                unfoldable = self._write(events, self._position, batch[-1].seq)
            except BaseException:
                self._reset(complete=False)
                raise
            _report(unfoldable)
            self._position = Checkpoint(batch[-1].seq, self._position.generation)
            self._applied += len(batch)
            if self._ws.size() > self._max_cached:
                self._reset(complete=False)

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

    def _reset(self, *, complete: bool) -> None:
        self._ws = WorkingSet(complete=complete)


def _report(unfoldable: list[Row]) -> None:
    for row in unfoldable:
        log.warning(
            "event at sequence %d (%s) cannot be folded into the read models: %s; "
            "it is listed by `syncledger errors`", row["seq"], row["event_type"], row["reason"],
        )  # fmt: skip


async def _close(events: AsyncIterator[StoredEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
