"""Rebuilding read models from the log: ``replay`` (blue/green) and ``verify``.

``replay`` folds the whole log into a fresh set of tables named ``b<id>_<name>``, then
swaps them in with renames inside one transaction (both SQLite and PostgreSQL run DDL
transactionally): readers see the old tables or the new ones, never a mix. The fresh
``checkpoints`` table travels with them, so the live runner carries on from where the
rebuild stopped; a runner that was mid-batch notices the new generation and stops.

``verify`` folds the log into scratch tables up to the live checkpoint and compares the
digest of every table with the live one (in one snapshot of the live tables).

Both build their tables without secondary indexes (the fold reads by primary key only);
``replay`` adds them once every row is in, before the swap, and ``verify``'s scratch
tables, read only for their digests in primary-key order, never need them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from syncledger.core.errors import ProjectionError
from syncledger.core.store import EventStore
from syncledger.projections.digest import digests
from syncledger.projections.engine import SQLITE_BEGIN_OPTION
from syncledger.projections.runner import DEFAULT_BATCH, ProjectionRunner
from syncledger.projections.schema import (
    LIVE,
    PROJECTION_NAME,
    TABLE_NAMES,
    Tables,
    create_indexes,
    create_tables,
    drop_tables,
    tables_for,
)

VERIFY_ATTEMPTS = 5
#: a rebuild of at least this many events folds in a process of its own: starting one
#: costs ~0.7 s of CPU in imports (under 7 us an event from here on, against the ~25 us of
#: reading it is spared); below this the worker thread is as quick on a busy machine
PROCESS_THRESHOLD = 100_000
#: rows a rebuild holds before it evicts them (about 1.4 kB each in memory): its memory
#: stays flat in the length of the log (projections/state.py)
REBUILD_MAX_CACHED_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class ReplayResult:
    last_seq: int  # the live tables now reflect the log up to here
    events: int  # events read and applied by the rebuild
    tables: tuple[str, ...] = TABLE_NAMES


@dataclass(frozen=True, slots=True)
class VerifyResult:
    last_seq: int  # both sides were compared at this checkpoint
    differing: tuple[str, ...]  # tables whose digests differ
    live: Mapping[str, str] = field(default_factory=dict)
    rebuilt: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differing


def _build_tables(kind: str) -> Tables:
    token = uuid.uuid4().hex[:10]
    return tables_for(prefix=f"{kind}{token}_", suffix=f"_{token}")


async def replay(
    engine: Engine,
    store: EventStore,
    *,
    name: str = PROJECTION_NAME,
    batch_size: int = DEFAULT_BATCH,
    process_threshold: int | None = PROCESS_THRESHOLD,
    max_cached_rows: int = REBUILD_MAX_CACHED_ROWS,
) -> ReplayResult:
    """Rebuild every read model from the log into new tables and swap them in."""
    build = _build_tables("b")
    swapped = False
    try:
        await asyncio.to_thread(partial(create_tables, engine, build, indexes=False))
        runner = ProjectionRunner(
            engine, store, name=name, tables=build, batch_size=batch_size, fresh=True,
            process_threshold=process_threshold, max_cached_rows=max_cached_rows,
        )  # fmt: skip
        try:
            events = await runner.catch_up()
        finally:
            await runner.close()
        await asyncio.to_thread(create_indexes, engine, build)
        await asyncio.to_thread(_swap_in, engine, build)
        swapped = True
        return ReplayResult(runner.position, events)
    finally:
        if not swapped:
            await asyncio.to_thread(drop_tables, engine, build)


def _swap_in(engine: Engine, build: Tables) -> None:
    quote = engine.dialect.identifier_preparer.quote
    retired = build.prefix.replace("b", "o", 1)
    try:
        options = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            existing = set(inspect(conn).get_table_names())
            for name in TABLE_NAMES:
                if name in existing:
                    conn.exec_driver_sql(
                        f"ALTER TABLE {quote(name)} RENAME TO {quote(retired + name)}"
                    )
                conn.exec_driver_sql(
                    f"ALTER TABLE {quote(build.prefix + name)} RENAME TO {quote(name)}"
                )
            for name in TABLE_NAMES:
                if name in existing:
                    conn.exec_driver_sql(f"DROP TABLE {quote(retired + name)}")
    except SQLAlchemyError as exc:
        raise ProjectionError(f"swapping the rebuilt read models in failed: {exc}") from exc


async def verify(
    engine: Engine,
    store: EventStore,
    *,
    name: str = PROJECTION_NAME,
    batch_size: int = DEFAULT_BATCH,
    process_threshold: int | None = PROCESS_THRESHOLD,
    max_cached_rows: int = REBUILD_MAX_CACHED_ROWS,
) -> VerifyResult:
    """Rebuild into scratch tables and compare every table's digest with the live one."""
    scratch = _build_tables("v")
    try:
        await asyncio.to_thread(partial(create_tables, engine, scratch, indexes=False))
        runner = ProjectionRunner(
            engine, store, name=name, tables=scratch, batch_size=batch_size, fresh=True,
            process_threshold=process_threshold, max_cached_rows=max_cached_rows,
        )  # fmt: skip
        try:
            return await _verify_with(runner, engine, scratch, name)
        finally:
            await runner.close()
    finally:
        await asyncio.to_thread(drop_tables, engine, scratch)


async def _verify_with(
    runner: ProjectionRunner, engine: Engine, scratch: Tables, name: str
) -> VerifyResult:
    for _ in range(VERIFY_ATTEMPTS):
        target = await asyncio.to_thread(_live_position, engine, name)
        await runner.catch_up(until=target)
        if runner.position != target:
            raise ProjectionError(
                f"the log ends at {runner.position}, before the live checkpoint "
                f"{target}: the read models do not belong to this log"
            )
        result = await asyncio.to_thread(_compare, engine, scratch, name, target)
        if result is not None:
            return result
    raise ProjectionError("the live read models kept moving while being verified; retry")


def _checkpoint(conn: Connection, tables: Tables, name: str) -> int | None:
    cp = tables.checkpoints
    value = conn.execute(select(cp.c.last_seq).where(cp.c.name == name)).scalar()
    return None if value is None else int(value)


def _live_position(engine: Engine, name: str) -> int:
    try:
        with engine.connect() as conn:
            found = (
                _checkpoint(conn, LIVE, name)
                if inspect(conn).has_table(LIVE.checkpoints.name)
                else None
            )
    except SQLAlchemyError as exc:
        raise ProjectionError(f"cannot read the live checkpoint: {exc}") from exc
    if found is None:
        raise ProjectionError(
            f"there are no live read models ({name!r}) to verify: run them first "
            "(catch up or replay)"
        )
    return found


def _compare(engine: Engine, scratch: Tables, name: str, target: int) -> VerifyResult | None:
    """The comparison at ``target``, or ``None`` if the live tables moved past it."""
    try:
        with _snapshot(engine) as conn, conn.begin():
            if _checkpoint(conn, LIVE, name) != target:
                return None
            live = digests(conn, LIVE)
        with engine.connect() as conn, conn.begin():
            rebuilt = digests(conn, scratch)
    except SQLAlchemyError as exc:
        raise ProjectionError(f"computing table digests failed: {exc}") from exc
    differing = tuple(t for t in TABLE_NAMES if live[t] != rebuilt[t])
    return VerifyResult(target, differing, live, rebuilt)


def _snapshot(engine: Engine) -> Connection:
    """A connection whose transaction sees one consistent state of every table."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn  # SQLite: a read transaction is a snapshot already (WAL)
