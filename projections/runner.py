"""``ProjectionRunner``: folds the event log into the read models, checkpointed.

Events are read in stream order and applied in batches by a
:class:`~syncledger.projections.applier.BatchApplier` (one transaction per batch, the
checkpoint moved in it: nothing is applied twice or skipped). An event the fold cannot
apply is recorded in the ``unfoldable`` table and logged, and the runner goes on; only the
database or the event store failing stops a batch.

While one batch is applied the next one is being read: the applier works in a worker
thread (so the event loop keeps serving the NATS connection) or, for a rebuild of at least
``process_threshold`` events, in a process of its own
(:mod:`syncledger.projections.fold_process`), so that reading and folding do not take
turns on one interpreter lock. A process is sent the next batches while it still folds
the one before (:data:`~syncledger.projections.fold_process.IN_FLIGHT` at most), so
neither side waits for the other between batches when the machine is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from sqlalchemy import Engine

from syncledger.core.errors import ProjectionError
from syncledger.core.store import EventStore, StoredEvent
from syncledger.projections.applier import DEFAULT_MAX_CACHED_ROWS, BatchApplier
from syncledger.projections.db import CheckpointMoved
from syncledger.projections.fold_process import (
    IN_FLIGHT,
    FoldProcess,
    FoldSettings,
    can_fold_elsewhere,
    settings_for,
)
from syncledger.projections.schema import LIVE, PROJECTION_NAME, Tables
from syncledger.projections.state import Row

log = logging.getLogger(__name__)

DEFAULT_BATCH = 2000
READ_PASSES = 3
__all__ = ["DEFAULT_BATCH", "DEFAULT_MAX_CACHED_ROWS", "ProjectionRunner"]


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
        process_threshold: int | None = None,
    ) -> None:
        """``fresh=True`` promises the tables start empty (a rebuild): then no row is
        ever looked up, every one is known to the runner. With ``process_threshold``, a
        catch-up of at least that many events folds in a process of its own (see the
        module docstring; call :meth:`close` when done)."""
        if batch_size < 1:
            raise ProjectionError(f"batch_size must be at least 1, not {batch_size}")
        self._engine = engine
        self._store = store
        self._name = name
        self._tables = tables
        self._batch_size = batch_size
        self._fresh = fresh
        self._max_cached = max_cached_rows
        self._threshold = process_threshold if can_fold_elsewhere(engine) else None
        self._applier = BatchApplier(
            engine, name=name, tables=tables, fresh=fresh, max_cached_rows=max_cached_rows
        )
        self._process: FoldProcess | None = None
        self._last_seq = 0  # the checkpoint as the applier last reported it
        self._applied = 0  # events applied by this runner, ever

    @property
    def position(self) -> int:
        """The last stream sequence this runner applied (0 before it started)."""
        return self._last_seq

    async def catch_up(self, until: int | None = None) -> int:
        """Apply every event after the checkpoint up to the end of the log as it is now
        (or up to ``until``); return how many events were read and applied, including
        those no read model uses."""
        await self._begin()
        head = await self._store.last_seq()
        target = head if until is None else min(until, head)
        if self._wants_process(target - self.position):
            self._process = FoldProcess(self._settings())
            await self._begin()
        applied_before = self._applied
        short_reads = 0
        while self.position < target and short_reads < READ_PASSES:
            try:
                await self._run(self._store.read(from_seq=self.position + 1), target)
                short_reads += self.position < target  # a read that ended early: resume it
            except CheckpointMoved as exc:  # another runner got further: follow it
                log.info("%s", exc)
                await self._begin()
        if self.position < target:
            log.warning(
                "read models stopped at %d: the event store ended its reads before %d "
                "%d times", self.position, target, READ_PASSES,
            )  # fmt: skip
        return self._applied - applied_before

    async def _run(self, events: AsyncIterator[StoredEvent], until: int) -> None:
        pending: deque[asyncio.Future[None]] = deque()
        in_flight = 1 if self._process is None else IN_FLIGHT
        batch: list[StoredEvent] = []
        try:
            async for stored in events:
                if stored.seq > until:
                    break
                batch.append(stored)
                if len(batch) >= self._batch_size:
                    while len(pending) >= in_flight:
                        await pending.popleft()
                    pending.append(self._submit(batch))
                    batch = []
            while pending:
                await pending.popleft()
            if batch:
                await self._submit(batch)
        finally:
            await _settle(pending)
            await _close(events)

    def _submit(self, batch: list[StoredEvent]) -> asyncio.Future[None]:
        return asyncio.ensure_future(self._apply(batch))

    async def _apply(self, batch: list[StoredEvent]) -> None:
        if self._process is None:
            unfoldable = await asyncio.to_thread(self._applier.apply, batch)
        else:
            unfoldable = await self._process.apply(batch)
        _report(unfoldable)
        self._last_seq = batch[-1].seq
        self._applied += len(batch)

    async def _begin(self) -> None:
        if self._process is None:
            found = await asyncio.to_thread(self._applier.start)
        else:
            found = await self._process.start()
        self._last_seq = found.last_seq

    def _wants_process(self, events: int) -> bool:
        return self._process is None and self._threshold is not None and events >= self._threshold

    def _settings(self) -> FoldSettings:
        return settings_for(
            self._engine, name=self._name, tables=self._tables, fresh=self._fresh,
            max_cached_rows=self._max_cached,
        )  # fmt: skip

    async def close(self) -> None:
        """End the fold process, if one was started (a runner without one needs nothing)."""
        if self._process is not None:
            process, self._process = self._process, None
            await process.close()


def _report(unfoldable: list[Row]) -> None:
    for row in unfoldable:
        log.warning(
            "event at sequence %d (%s) cannot be folded into the read models: %s; "
            "it is listed by `syncledger errors`", row["seq"], row["event_type"], row["reason"],
        )  # fmt: skip


async def _settle(pending: deque[asyncio.Future[None]]) -> None:
    """Wait out batches still being applied after the first failure (theirs are not
    raised: the first one is)."""
    for future in pending:
        with contextlib.suppress(Exception):
            await asyncio.shield(future)


async def _close(events: AsyncIterator[StoredEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
