"""A stand for fault tests of multi-write operations on real processes: a real
nats-server, a platform's sandbox served over HTTP (``syncledger sandbox``) and
``syncledger run`` workers that the test SIGKILLs.

A platform lists its multi-write operations as ``Case``s in
``tests/support/multiwrite/<platform>.py`` (``CASES``): the records to push first, the
records whose push is the multi-write operation, and a regular expression matching the
request of a write that comes *after* the first one (``TargetedFaults.match`` in the
sandbox). ``tests/e2e/test_multi_write_faults.py`` runs every case twice: with the worker
SIGKILLed while that write is held (nothing committed), and with that write answering
5xx for a while. Afterwards the ledger holds each record once, every intended
application is there (the reconciler checks applications) and every logged request and
step has its outcome.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncledger.adapters.platforms import Connection, platform
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.pipeline import ingest_items, reconcile_now
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.core.sync_state import SyncState
from tests.support.processes import Proc, SandboxServer

KINDS = ("customer", "invoice", "payment", "credit_note", "refund")


@dataclass(frozen=True)
class Case:
    name: str
    setup: tuple[SourceItem, ...]  # pushed first, without faults
    records: tuple[SourceItem, ...]  # their push is the multi-write operation
    second_write: str  # regex: the request of a write after the operation's first one
    #: refs the operation's writes are expected to fail on (5xx mode: a LedgerPushFailed
    #: naming a step); default: the records' own refs
    faulted: tuple[str, ...] = ()
    #: 5xx mode: how many times that write answers 503; above the adapter's own HTTP
    #: attempts (``RetryPolicy``, 5) when it retries the write in place (an idempotent
    #: write), so the failure reaches the sync as a failed step
    fails: int = 3


def cases(platform_id: str) -> list[Case]:
    module = importlib.import_module(f"tests.support.multiwrite.{platform_id.replace('-', '_')}")
    found: list[Case] = module.CASES
    return found


def ref(item: SourceItem) -> str:
    return f"{item.system}/{item.kind}/{item.id}"


@dataclass
class Stand:
    ledger: str
    tmp: Path
    nats: EmbeddedNats
    sandbox: SandboxServer
    entity: str = "multiwrite"
    workers: list[Proc] = field(default_factory=list)

    @property
    def cfg(self) -> Settings:
        return Settings(
            data_dir=self.tmp / "state",
            nats_url=self.nats.url,
            ledger_url=self.sandbox.url,
            ledger=self.ledger,
            entity=self.entity,
            ack_wait_s=3,
        )

    def env(self) -> dict[str, str]:
        cfg = self.cfg
        return {
            "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
            "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
            "SYNCLEDGER_LEDGER_URL": str(cfg.ledger_url),
            "SYNCLEDGER_LEDGER": self.ledger,
            "SYNCLEDGER_ENTITY": self.entity,
            "SYNCLEDGER_ACK_WAIT_S": "3",
            "SYNCLEDGER_LEASE_TTL_S": "3",
            "SYNCLEDGER_RECONCILE_EVERY_S": "100000",
            "SYNCLEDGER_BACKSYNC_EVERY_S": "100000",
        }

    # ------------------------------------------------------------ processes

    def start_worker(self) -> Proc:
        log = self.tmp / f"worker-{len(self.workers)}.log"
        proc = Proc(["run"], self.env(), log).start()
        self.workers.append(proc)
        return proc

    def kill_worker(self) -> None:
        for proc in self.workers:
            proc.kill()

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.stop()

    def faults(self, **settings: Any) -> dict[str, Any]:
        if not settings:
            answer: dict[str, Any] = self.sandbox.admin("faults")
            return answer
        answer = self.sandbox.admin("faults", settings)
        return answer

    def clear_faults(self) -> None:
        self.sandbox.admin("faults", method="DELETE")

    # ------------------------------------------------------------------ log

    async def ingest(self, items: Iterable[SourceItem]) -> None:
        async def gen() -> AsyncIterator[SourceItem]:
            for item in items:
                yield item

        async with open_runtime(self.cfg) as rt:
            await ingest_items(rt, gen())

    async def state(self) -> SyncState:
        async with open_runtime(self.cfg) as rt:
            state = SyncState(self.entity, self.ledger)
            await state.load(rt.store)
            return state

    async def wait_settled(self, refs: Iterable[str], deadline_s: float = 120) -> None:
        wanted = set(refs)
        end = time.monotonic() + deadline_s
        while True:
            state = await self.state()
            done = {
                r
                for r in wanted
                if (rec := state.records.get(r)) is not None
                and rec.ledger_ref is not None
                and rec.pushed_sha == rec.observed_sha
            }
            if done == wanted:
                return
            stuck = [
                r
                for r in wanted - done
                if (rec := state.records.get(r)) is not None
                and (rec.abandoned_key or rec.rejected_sha == rec.observed_sha)
            ]
            assert not stuck, f"given up or rejected: {stuck} (see {self.tmp}/worker-*.log)"
            assert time.monotonic() < end, f"not settled after {deadline_s:.0f} s: {wanted - done}"
            await asyncio.sleep(0.5)

    async def wait_held(self, deadline_s: float = 60) -> None:
        end = time.monotonic() + deadline_s
        while int(self.faults().get("held", 0)) < 1:
            assert time.monotonic() < end, "the write after the first never reached the sandbox"
            await asyncio.sleep(0.2)

    async def ledger_events(self) -> list[dict[str, Any]]:
        async with open_runtime(self.cfg) as rt:
            return [json.loads(s.raw) async for s in rt.store.read(f"sl.{self.entity}.ledger.>")]

    # -------------------------------------------------------------- checks

    async def assert_clean(self, expected: set[str]) -> None:
        """Each record once in the ledger, nothing missing, every request and step with
        its outcome, and the reconciler (applications included) finds nothing."""
        await self.assert_each_once(expected)
        await self.assert_outcomes()
        report = await reconcile_now(self.cfg)
        assert report.open == [], [m.mismatch_type for m in report.open]
        assert report.ledger_duplicates == 0

    async def assert_each_once(self, expected: set[str]) -> None:
        plat = platform(self.ledger)
        token = self.cfg.data_dir / "tokens" / f"{plat.id}.json"
        adapter = plat.connect(Connection(self.sandbox.url, token, {}))
        try:
            refs = [
                r.external_ref
                for kind in KINDS
                if kind in adapter.capabilities.kinds
                async for r in adapter.list_all(kind)
                if r.external_ref is not None
            ]
        finally:
            await adapter.aclose()
        counts = Counter(refs)
        assert [r for r, n in counts.items() if n > 1] == [], "a record is in the ledger twice"
        assert expected - set(counts) == set(), "a record is missing from the ledger"

    async def assert_outcomes(self) -> None:
        requested: set[str] = set()
        settled: set[str] = set()
        steps: set[tuple[str, str]] = set()
        steps_done: set[tuple[str, str]] = set()
        for event in await self.ledger_events():
            d, kind = event["data"], event["type"]
            if kind == "LedgerPushRequested":
                requested.add(d["idempotency_key"])
            elif kind in ("LedgerPushSucceeded", "RecordLinked"):
                settled.add(d.get("idempotency_key") or "")
            elif kind == "LedgerStepRequested":
                steps.add((d["idempotency_key"], d["step"]))
            elif kind == "LedgerStepSucceeded":
                steps_done.add((d["idempotency_key"], d["step"]))
        assert requested - settled == set(), "a push request without its outcome"
        assert steps - steps_done == set(), "a step without its outcome"


def stand(ledger: str, tmp: Path) -> Stand:
    nats = EmbeddedNats(tmp / "nats-server").start()
    sandbox = SandboxServer(ledger, tmp / "ledger").start()
    return Stand(ledger, tmp, nats, sandbox)


def close(stand: Stand) -> None:
    stand.stop_workers()
    stand.sandbox.stop()
    stand.nats.stop()


async def run_killed_between_writes(stand: Stand, case: Case) -> None:
    """Push the setup, then SIGKILL the worker while the write after the operation's
    first one is held by the sandbox (nothing committed); a new worker must finish it."""
    await stand.ingest(case.setup)
    await stand.wait_settled(ref(i) for i in case.setup)
    stand.faults(match=case.second_write, match_hold=1, stall_seconds=60)
    await stand.ingest(case.records)
    await stand.wait_held()
    stand.kill_worker()
    stand.clear_faults()
    stand.start_worker()
    await stand.wait_settled(ref(i) for i in case.records)


async def run_5xx_between_writes(stand: Stand, case: Case) -> None:
    """Push the setup, then answer 5xx to the write after the operation's first one, a
    few times: the step is retried (never settled without it) and finishes."""
    await stand.ingest(case.setup)
    await stand.wait_settled(ref(i) for i in case.setup)
    stand.faults(match=case.second_write, match_fail=case.fails, fail_status=503)
    await stand.ingest(case.records)
    await stand.wait_settled(ref(i) for i in case.records)
    assert int(stand.faults()["matched"]) >= 3, "the 5xx never hit the second write"
    stand.clear_faults()
    faulted = set(case.faulted or (ref(i) for i in case.records))
    failed_steps = {
        e["data"]["source_ref"]
        for e in await stand.ledger_events()
        if e["type"] == "LedgerPushFailed" and e["data"].get("step")
    }
    assert faulted & failed_steps, f"no step failure logged for {faulted}: {failed_steps}"
