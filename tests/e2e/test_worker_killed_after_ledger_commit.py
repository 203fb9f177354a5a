"""Fault: the worker process is SIGKILLed after the ledger accepted an invoice but before
the outcome event was appended. After a restart the ledger holds the invoice exactly once
and the log ends consistent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.pipeline import ingest_items, reconcile_now
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from tests.support.processes import Proc, SandboxServer, wait_for
from tests.support.records import customer, invoice

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "fault"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


def settings_for(tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "state", nats_url=nats.url, ledger_url=sandbox.url, entity=ENTITY
    )


def worker(cfg: Settings, log: Path) -> Proc:
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_LEDGER_URL": str(cfg.ledger_url),
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_LEASE_TTL_S": "3",  # the killed worker's lease lapses quickly
    }
    return Proc(["run"], env, log)


async def ingest(cfg: Settings, *items: SourceItem) -> None:
    async def gen() -> AsyncIterator[SourceItem]:
        for item in items:
            yield item

    async with open_runtime(cfg) as rt:
        await ingest_items(rt, gen())


async def ledger_events(cfg: Settings, fragment: str) -> list[dict[str, object]]:
    async with open_runtime(cfg) as rt:
        return [
            json.loads(s.raw)
            async for s in rt.store.read(f"sl.{ENTITY}.ledger.>")
            if fragment in s.subject
        ]


def types_of(events: list[dict[str, object]]) -> list[object]:
    return [e["type"] for e in events]


async def test_worker_killed_between_ledger_commit_and_outcome_event(
    tmp_path: Path, nats_server: EmbeddedNats, sandbox: SandboxServer
) -> None:
    cfg = settings_for(tmp_path, nats_server, sandbox)
    await ingest(cfg, customer("c1"))
    first = worker(cfg, tmp_path / "worker-1.log").start()
    try:
        wait_for(lambda: sandbox.counts()["customer"] == 1, "the customer to reach the ledger")
        # the next write commits in the ledger, then the answer never comes in time
        sandbox.admin("faults", {"commit_then_timeout": 1, "stall_seconds": 120})
        await ingest(cfg, invoice("i1", "c1"))
        wait_for(lambda: sandbox.counts()["invoice"] == 1, "the ledger to commit the invoice")
        await asyncio.sleep(0.5)  # the worker is now waiting for an answer that won't come
    finally:
        first.kill()
    before = await ledger_events(cfg, "invoice.csv-i1")
    assert types_of(before) == ["LedgerPushRequested"], "outcome must not be in the log yet"

    sandbox.admin("faults", method="DELETE")
    second = worker(cfg, tmp_path / "worker-2.log").start()
    try:

        async def outcome_logged() -> bool:
            return "LedgerPushSucceeded" in types_of(await ledger_events(cfg, "invoice.csv-i1"))

        for _ in range(600):
            if await outcome_logged():
                break
            await asyncio.sleep(0.1)
    finally:
        second.stop()

    after = await ledger_events(cfg, "invoice.csv-i1")
    assert types_of(after) == ["LedgerPushRequested", "LedgerPushSucceeded"]
    assert after[-1]["data"]["recovered"] is True  # type: ignore[index]
    counts = sandbox.counts()
    assert (counts["customer"], counts["invoice"], counts["payment"]) == (1, 1, 0)
    report = await reconcile_now(cfg)
    assert report.open == []
    assert report.ledger_duplicates == 0
