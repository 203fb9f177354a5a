"""A tenant's published limits hold across workers (issue 13, "Shared rate limits"):
only the owner of a partition calls its tenant — pushes and the owner's jobs alike
(reconciliation and back-sync every few seconds here). Three real `run --entities`
processes on one served QBO sandbox company at its published limits (10 a second, 500 a
minute); the owner is stopped midway so the work moves — by SIGTERM (it hands its final
limiter usage over and releases the lease) or by SIGKILL (its lease lapses; the next owner
assumes the worst for the gap since its last published usage). The sandbox answers no 429
and holds every record once (adapters/rate_usage.py says how the limits hold).

The same for single-entity ``run`` (the push lease of core/lease.py, a hot standby
waiting for it): the pushing ``run`` is SIGKILLed and the standby, taking over, counts the
usage it published (core/partitions.py, ``lease_limits``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.adapters.rate_usage import RateUsage
from syncledger.adapters.rate_usage_kv import open_rates_bucket
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.partitions import usage_key
from syncledger.core.pipeline import sync_once_said
from syncledger.core.settings import Settings
from tests.e2e.test_partitions import (
    assert_each_entity_clean,
    expected_refs,
    import_all,
    in_ledger,
    owned_by,
    started,
    until,
    write_export,
)
from tests.support.processes import Proc, SandboxServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "solo"
CUSTOMERS, INVOICES = 10, 150  # 310 records: well past 10 a second for one pusher


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()  # QBO's published limits
    yield server
    server.stop()


@pytest.fixture
def cfg(tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        nats_url=nats.url,
        entities=[ENTITY],
        entity_ledgers={ENTITY: {"ledger_url": sandbox.url}},
        lease_ttl_s=3.0,
    )


def worker(cfg: Settings, log: Path, *, single: bool = False) -> Proc:
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        ("SYNCLEDGER_ENTITY" if single else "SYNCLEDGER_ENTITIES"): ENTITY,
        "SYNCLEDGER_ENTITY_LEDGERS": json.dumps(
            {ENTITY: {"ledger_url": cfg.entity_ledgers[ENTITY].ledger_url}}
        ),
        "SYNCLEDGER_LEASE_TTL_S": "3",
        "SYNCLEDGER_ACK_WAIT_S": "3",
        "SYNCLEDGER_RECONCILE_EVERY_S": "5",  # owner-only jobs that call the tenant, often
        "SYNCLEDGER_BACKSYNC_EVERY_S": "5",
        "SYNCLEDGER_LOG_LEVEL": "info",  # the new owner says what usage it was handed
    }
    return Proc(["run"], env, log).start()


@pytest.mark.parametrize("signal", ["SIGTERM", "SIGKILL"])
async def test_three_workers_on_one_tenant_get_no_429_and_push_once(
    cfg: Settings, sandbox: SandboxServer, tmp_path: Path, signal: str
) -> None:
    await import_all(cfg, write_export(tmp_path / "export", CUSTOMERS, INVOICES))
    total = len(expected_refs(CUSTOMERS, INVOICES))
    logs = [tmp_path / f"worker-{n}.log" for n in range(3)]
    workers: list[Proc] = []
    try:
        for log in logs:  # one after the other: see `started`
            workers.append(worker(cfg, log))
            await until(functools.partial(started, log), "the worker to start")
        await until(lambda: sum(len(owned_by(log)) for log in logs) == 1, "an owner")
        await until(lambda: in_ledger(sandbox) >= total // 3, "a third pushed")
        owner = next(n for n, log in enumerate(logs) if owned_by(log))
        if signal == "SIGKILL":  # no goodbye: the lease lapses after its TTL
            workers[owner].kill()
        else:  # the partition and its jobs move to another at once
            workers[owner].stop()
        moved_at = in_ledger(sandbox)
        others = [log for n, log in enumerate(logs) if n != owner]
        await until(lambda: any(owned_by(log) for log in others), "a new owner")
        await until(lambda: in_ledger(sandbox) >= total, "every record pushed", 300)
    finally:
        for proc in workers:
            proc.stop()
    assert moved_at < total, "pushing ended before the owner was stopped"
    assert sandbox.admin("stats")["throttled"] == 0
    handed = "(its final usage)" if signal == "SIGTERM" else "s after its last usage, up to"
    assert any(handed in log.read_text() for log in others), "no usage was handed over"
    await assert_each_entity_clean(cfg, expected_refs(CUSTOMERS, INVOICES))


async def test_a_standby_run_taking_over_from_a_killed_run_gets_no_429(
    cfg: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    await import_all(cfg, write_export(tmp_path / "export", CUSTOMERS, INVOICES))
    total = len(expected_refs(CUSTOMERS, INVOICES))
    pusher_log, standby_log = tmp_path / "pusher.log", tmp_path / "standby.log"
    pusher = worker(cfg, pusher_log, single=True)
    standby: Proc | None = None
    try:
        await until(functools.partial(started, pusher_log), "the pusher to start")
        standby = worker(cfg, standby_log, single=True)
        await until(lambda: waiting(standby_log), "the standby to wait for the lease")
        await until(lambda: in_ledger(sandbox) >= total // 3, "a third pushed")
        pusher.kill()  # no goodbye: the lease lapses after its TTL
        moved_at = in_ledger(sandbox)
        await until(lambda: "took over pushing" in standby_log.read_text(), "the take-over")
        await until(lambda: in_ledger(sandbox) >= total, "every record pushed", 300)
    finally:
        pusher.stop()
        if standby is not None:
            standby.stop()
    assert moved_at < total, "pushing ended before the pusher was killed"
    assert sandbox.admin("stats")["throttled"] == 0
    assert "s after its last usage, up to" in standby_log.read_text(), "no usage handed over"
    await assert_each_entity_clean(cfg, expected_refs(CUSTOMERS, INVOICES))


def waiting(log: Path) -> bool:
    return log.exists() and "waiting to take over" in log.read_text()


async def test_sync_once_hands_its_usage_on_for_the_next_lease_holder(
    cfg: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """``sync --once`` (and ``import --backfill``, which runs it) publishes its limiters'
    usage under the key every holder of the lease reads: its final one on the way out."""
    await import_all(cfg, write_export(tmp_path / "export", 2, 3))
    one = cfg.for_entity(ENTITY)
    said = await sync_once_said(one)
    assert sandbox.admin("stats")["throttled"] == 0 and in_ledger(sandbox) > 0, said.text
    async with open_runtime(one) as rt:
        entry = await (await open_rates_bucket(rt.nc)).get(usage_key(one))
    stored = RateUsage.model_validate_json(entry.value or b"")
    assert stored.final, "no final usage: the next holder would assume a gap"
    assert sum(len(e.ages_ms) for e in stored.limiters.values()) > 0, "no request counted"
