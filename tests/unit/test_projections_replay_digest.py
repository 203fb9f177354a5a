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


async def test_a_rebuild_folded_in_a_process_of_its_own_gives_the_same_tables(
    tmp_path: Path,
) -> None:
    """The rebuild's fold in a child process (``process_threshold``: issue 13) writes what
    the worker thread writes, and ``verify`` run that way agrees."""
    store = MemoryEventStore()
    for group in _bench().sync_log(3000):
        await store.append(group)
    threaded = make_engine(f"sqlite:///{tmp_path / 'threaded.db'}")
    await replay(threaded, store, batch_size=400, process_threshold=None)
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    result = await replay(elsewhere, store, batch_size=400, process_threshold=1)
    assert result.events == result.last_seq == await store.last_seq()
    with threaded.connect() as a, elsewhere.connect() as b:
        assert digests(a, LIVE) == digests(b, LIVE)
    checked = await verify(elsewhere, store, batch_size=400, process_threshold=1)
    assert checked.ok and checked.last_seq == result.last_seq


async def test_a_rebuild_that_evicts_its_rows_gives_the_same_tables(tmp_path: Path) -> None:
    """A rebuild whose working set is capped far below the log's rows lets them go and
    reads back only what it let go (a Bloom filter of its groups): same digests."""
    store = MemoryEventStore()
    for group in _bench().sync_log(3000):
        await store.append(group)
    whole = make_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    await replay(whole, store, batch_size=100, max_cached_rows=10_000_000)
    capped = make_engine(f"sqlite:///{tmp_path / 'capped.db'}")
    await replay(capped, store, batch_size=100, max_cached_rows=200)
    with whole.connect() as a, capped.connect() as b:
        assert digests(a, LIVE) == digests(b, LIVE)
