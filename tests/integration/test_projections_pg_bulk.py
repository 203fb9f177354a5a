"""PostgreSQL at scale (issue 13): a rebuild writes its rows by COPY into a staging table
and one set-based upsert, and gives the same tables, digest for digest, as the SQLite
rebuild of the same log (bench/replay.py's realistic log). Real PostgreSQL
(tests/support/servers.py); skipped only where no server can be started here."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import make_engine, replay
from syncledger.projections.db import COPY_MIN_ROWS, SqlRows
from syncledger.projections.digest import digests
from syncledger.projections.schema import LIVE, create_tables, tables_for
from syncledger.projections.state import WorkingSet
from tests.support.servers import _pg_bindir, docker_available

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "replay.py"


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database, dropped afterwards."""
    if _pg_bindir() is None and not docker_available():
        pytest.skip("no PostgreSQL server binaries here (make postgres)")
    pg_url: str = request.getfixturevalue("pg_url")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = "bulk_" + uuid.uuid4().hex[:16]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    engine = make_engine(make_url(pg_url).set(database=database).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
        admin.dispose()


def _sync_log() -> object:
    spec = importlib.util.spec_from_file_location("bench_replay", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sync_log


async def test_the_bulk_rebuild_gives_the_sqlite_rebuilds_digests(
    postgres: Engine, tmp_path: Path
) -> None:
    store = MemoryEventStore()
    for group in _sync_log()(6000):  # type: ignore[operator]
        await store.append(group)
    sqlite = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    batch = 3 * COPY_MIN_ROWS * 3  # ~600 records per batch: every hot table goes by COPY
    await replay(sqlite, store, batch_size=batch)
    result = await replay(postgres, store, batch_size=batch, process_threshold=1)
    assert result.events == await store.last_seq()
    with sqlite.connect() as a, postgres.connect() as b:
        on_sqlite, on_postgres = digests(a, LIVE), digests(b, LIVE)
    assert on_postgres == on_sqlite


def test_rows_go_by_copy_and_a_second_batch_updates_them(postgres: Engine) -> None:
    tables = tables_for(prefix="t_")
    create_tables(postgres, tables)
    sql, ws = SqlRows(tables, postgres.dialect), WorkingSet(complete=True)
    rows = [_record(i, "observed") for i in range(COPY_MIN_ROWS)]
    with postgres.begin() as conn:
        for row in rows:
            ws.records.put(row)
        assert sql.flush(conn, ws) == COPY_MIN_ROWS
        staged = conn.exec_driver_sql("SELECT to_regclass('pg_temp.stage_t_records')").scalar()
        assert staged is not None  # the COPY path ran in this session
    with postgres.begin() as conn:
        for row in rows:
            ws.records.put({**row, "status": "synced", "last_seq": 2})
        sql.flush(conn, ws)
    with postgres.connect() as conn:
        stored = conn.execute(select(tables.records.c.status, tables.records.c.last_seq)).all()
    assert sorted(set(stored)) == [("synced", 2)] and len(stored) == COPY_MIN_ROWS


def _record(i: int, status: str) -> dict[str, object]:
    return {
        "entity": "acme", "source_ref": f"csv/invoice/I{i}", "kind": "invoice",
        "version": "1", "content_sha256": None, "customer_ref": None, "currency": "USD",
        "total": "10.00", "doc_status": None, "status": status, "last_seq": 1,
        "updated_at": "2026-01-01T00:00:00Z",
    }  # fmt: skip
