"""``syncledger entities prune`` on a real nats-server, as the app user (core/entity_prune.py):
the durable consumers of an entity the configuration no longer names are listed, then
deleted on ``--yes`` — never the consumer of an entity a live ``run`` pushes (its push
lease is held: kept, its holder named), never a configured entity's; once that ``run``
stops, its consumer goes too. An entity pushed again after its consumer was deleted reads
the log from its start and pushes nothing twice."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from syncledger.core.alert_consumer import ensure_alert_consumer
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.entity_prune import prune_said
from syncledger.core.ledgers import open_ledger
from syncledger.core.pipeline import Said, import_csv, sync_once
from syncledger.core.settings import Settings
from syncledger.core.store import STREAM_NAME
from tests.e2e.test_partitions import started, until, write_export
from tests.support.processes import Proc

pytestmark = [pytest.mark.integration, pytest.mark.slow]
GONE = {"sync-gone-qbo", "alerts-gone"}


async def consumer_names(js: JetStreamContext) -> set[str]:
    return {c.name for c in await js.consumers_info(STREAM_NAME)}


async def names(cfg: Settings) -> set[str]:
    async with open_runtime(cfg) as rt:
        return await consumer_names(rt.nc.jetstream())


def consumers_in(said: Said, key: str) -> set[str]:
    """The consumers the answer's JSON lists under ``key``."""
    listed = said.data[key]
    assert isinstance(listed, list)
    return {str(one["consumer"]) for one in listed}


async def pushed(cfg: Settings, entity: str, folder: Path, tag: str) -> None:
    one = cfg.for_entity(entity)
    assert (await import_csv(one, write_export(folder / entity, 2, 3, tag=tag))).refused == 0
    await sync_once(one)


async def invoices(cfg: Settings) -> Counter[str | None]:
    ledger = open_ledger(cfg)
    try:
        return Counter([r.external_ref async for r in ledger.adapter.list_all("invoice")])
    finally:
        await ledger.aclose()


def busy_run(cfg: Settings, log: Path) -> Proc:
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_ENTITY": "busy",
        "SYNCLEDGER_LEASE_TTL_S": "3",
    }
    return Proc(["run"], env, log).start()


@pytest.fixture
def before(tmp_path: Path, server: EmbeddedNats) -> Settings:
    """The configuration that named ``keep`` and ``gone``."""
    return Settings(data_dir=tmp_path / "state", nats_url=server.url, entities=["keep", "gone"])


async def test_removed_entities_consumers_are_pruned_but_never_a_pushed_ones(
    before: Settings, tmp_path: Path
) -> None:
    for entity in before.entities:
        await pushed(before, entity, tmp_path, tag=entity)
    async with open_runtime(before.for_entity("gone")) as rt:
        await ensure_alert_consumer(rt.nc, STREAM_NAME, "gone")
    now = before.model_copy(update={"entities": ["keep"]})
    log = tmp_path / "busy.log"
    busy = busy_run(before, log)  # pushes an entity this configuration does not name
    try:
        await until(functools.partial(started, log), "the busy run to start")
        assert {"sync-keep-qbo", "sync-busy-qbo"} | GONE <= await names(now)

        listed = await prune_said(now, yes=False)
        assert listed.exit_code == 1, listed.text
        assert consumers_in(listed, "stale") == {"sync-busy-qbo"} | GONE
        assert await names(now) >= GONE, "listing deleted something"

        done = await prune_said(now, yes=True)
        assert done.exit_code == 1, done.text
        assert consumers_in(done, "deleted") == GONE
        assert "kept sync-busy-qbo" in done.text and "is owned by process" in done.text
        left = await names(now)
        assert {"sync-keep-qbo", "sync-busy-qbo"} <= left and not GONE & left
        assert busy.popen is not None and busy.popen.poll() is None, "the run was disturbed"
    finally:
        busy.stop()
    assert busy.popen is not None and busy.popen.returncode == 0, log.read_text()

    after = await prune_said(now, yes=True)  # its run stopped: nothing guards it now
    assert after.exit_code == 0 and "deleted sync-busy-qbo" in after.text, after.text
    assert await names(now) >= {"sync-keep-qbo"}
    assert "sync-busy-qbo" not in await names(now)


async def test_an_entity_pushed_again_after_pruning_pushes_nothing_twice(
    before: Settings, tmp_path: Path
) -> None:
    await pushed(before, "gone", tmp_path, tag="g")
    gone = before.for_entity("gone")
    first = await invoices(gone)
    assert len(first) == 3 and set(first.values()) == {1}
    now = before.model_copy(update={"entities": ["keep"]})
    assert (await prune_said(now, yes=True)).exit_code == 0
    assert "sync-gone-qbo" not in await names(now)

    await sync_once(gone)  # added back: a new consumer reads the log from its start
    assert "sync-gone-qbo" in await names(now)
    assert await invoices(gone) == first


async def test_the_command_lists_them_and_says_how_to_delete(
    before: Settings, tmp_path: Path
) -> None:
    await pushed(before, "gone", tmp_path, tag="g")
    env = {
        "SYNCLEDGER_DATA_DIR": str(before.data_dir),
        "SYNCLEDGER_NATS_URL": str(before.nats_url),
        "SYNCLEDGER_ENTITIES": "keep",
    }
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "syncledger.core.cli", "entities", "prune"],
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 1, err.decode()
    text = out.decode()
    assert "sync-gone-qbo (entity gone, ledger qbo;" in text
    assert "syncledger entities prune --yes" in text
    assert "sync-gone-qbo" in await names(before)
