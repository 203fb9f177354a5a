"""A rebuild (``replay``: complete working set, rows bound by name, unsynced batches) gives
the same tables, digest for digest, as the incremental fold that loads what it needs in
small batches with a working set that is dropped as it fills (the live runner's path),
on the benchmark's realistic log (bench/replay.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sqlalchemy import func, select

from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import ProjectionRunner, make_engine, replay, verify
from syncledger.projections.digest import digests
from syncledger.projections.schema import LIVE

BENCH = Path(__file__).resolve().parents[2] / "bench" / "replay.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_replay", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_replay_digest_equals_the_incremental_folds(tmp_path: Path) -> None:
    store = MemoryEventStore()
    for group in _bench().sync_log(3000):
        await store.append(group)
    incremental = make_engine(f"sqlite:///{tmp_path / 'incremental.db'}")
    runner = ProjectionRunner(incremental, store, batch_size=7, max_cached_rows=50)
    assert await runner.catch_up() == await store.last_seq()
    rebuilt = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    result = await replay(rebuilt, store, batch_size=500)
    assert result.events == await store.last_seq()
    with incremental.connect() as a, rebuilt.connect() as b:
        folded, replayed = digests(a, LIVE), digests(b, LIVE)
        held = {t: b.execute(select(func.count()).select_from(LIVE.by_name()[t])).scalar()
                for t in ("records", "sync_state", "links", "balances")}  # fmt: skip
    assert all(held.values()), held  # the comparison is about tables that hold rows
    assert {name: folded[name] == replayed[name] for name in folded} == dict.fromkeys(folded, True)
    assert (await verify(incremental, store)).ok
