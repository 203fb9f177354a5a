"""The worker's fetch loop (issue 11): it keeps the batch it holds when a fetch times out,
and it does not wait for a batch to fill when nothing more is pending.

The second: a lone change, with nothing pending after it, is handled before any other
fetch reaches the server (FastStream's loop would otherwise ask for the rest of the batch
and wait up to 250 ms for it).

nats-py 2.16's ``fetch`` sometimes times out with a bare ``asyncio.TimeoutError`` instead
of ``nats.errors.TimeoutError`` (a status answer to its no-wait request that leaves no time
for a second one: a window of ~100 µs, so a run at 3 changes/s met it a few times a
minute). FastStream's batch loop let it escape with the messages it had fetched so far,
which then waited unacknowledged for ``ack_wait`` (30 s) until JetStream redelivered them.

Here the library takes that branch on a chosen call: one fetch returns part of what is
pending (as nats-py may), and the fetch after it raises what nats-py raises there (the
library's own object, patched at the edge). Real nats-server, the real worker, the
in-process QBO sandbox; bounded by fetch cycles, not by time: the held batch must be pushed
and acknowledged within a few cycles, long before a 30 s ``ack_wait`` could redeliver it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from syncledger.core.bootstrap import Runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.ledgers import LedgerHandle
from syncledger.core.pipeline import run_worker
from syncledger.core.settings import Settings
from syncledger.core.sync import Outcome
from tests.support.worker_log import ingest_customers, unfinished

pytestmark = pytest.mark.integration
ENTITY = "fetchloop"
CYCLES = 12  # fetches after the failing one (~3 s of idle fetching; ack_wait is 30 s)


@pytest.fixture
def settings(tmp_path: Path, server: EmbeddedNats) -> Settings:
    """For the shared ``rt`` and ``ledger`` (tests/integration/conftest.py)."""
    return Settings(data_dir=tmp_path / "state", nats_url=server.url, entity=ENTITY, ack_wait_s=30)


class Fetches:
    """nats-py's fetch, counted. With ``bare_timeout``: its first fetch takes one message of
    those pending, and the fetch after it raises the bare ``TimeoutError`` nats-py 2.16
    raises from ``_fetch_n`` (no message taken)."""

    def __init__(self, real: object, *, bare_timeout: bool) -> None:
        self.real = real
        self.calls = 0
        self.failed_at: int | None = None
        self.bare_timeout = bare_timeout
        self.seqs: dict[int, int] = {}  # stream seq -> the fetch call that returned it
        self.cycle = asyncio.Event()

    async def fetch(
        self,
        pull: JetStreamContext.PullSubscription,
        batch: int = 1,
        timeout: float | None = 5,  # noqa: ASYNC109 -- nats-py's signature
        heartbeat: float | None = None,
    ) -> list[Msg]:
        self.calls += 1
        self.cycle.set()
        if self.bare_timeout and self.calls == 2:
            self.failed_at = self.calls
            raise TimeoutError
        if self.bare_timeout and self.calls == 1:
            batch = 1  # part of what is pending: FastStream asks for the rest
        msgs: list[Msg] = await self.real(pull, batch, timeout, heartbeat)  # type: ignore[operator]
        self.seqs |= {m.metadata.sequence.stream: self.calls for m in msgs}
        return msgs

    async def next_cycle(self) -> int:
        await self.cycle.wait()
        self.cycle.clear()
        return self.calls


def counted(monkeypatch: pytest.MonkeyPatch, *, bare_timeout: bool) -> Fetches:
    fetches = Fetches(JetStreamContext.PullSubscription.fetch, bare_timeout=bare_timeout)

    async def fetch(
        pull: JetStreamContext.PullSubscription,
        batch: int = 1,
        timeout: float | None = 5,  # noqa: ASYNC109 -- nats-py's signature
        heartbeat: float | None = None,
    ) -> list[Msg]:
        return await fetches.fetch(pull, batch, timeout, heartbeat)

    monkeypatch.setattr(JetStreamContext.PullSubscription, "fetch", fetch)
    return fetches


async def test_a_batch_in_hand_survives_a_bare_fetch_timeout(
    rt: Runtime, ledger: LedgerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = counted(monkeypatch, bare_timeout=True)
    await ingest_customers(rt, 3)
    pushed: list[str] = []

    def on_outcome(outcome: Outcome) -> None:
        if outcome.status == "pushed" and outcome.source_ref:
            pushed.append(outcome.source_ref)

    left = await worked(rt, ledger, on_outcome, fetches, lambda: len(pushed) == 3)
    assert fetches.failed_at == 2  # the failing fetch happened with a batch in hand
    assert sorted(pushed) == [f"csv/customer/c{i}" for i in range(3)]
    assert left == 0  # all acknowledged, none waiting for redelivery


async def test_a_lone_change_is_handled_without_waiting_for_a_fuller_batch(
    rt: Runtime, ledger: LedgerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = counted(monkeypatch, bare_timeout=False)
    await ingest_customers(rt, 1)
    fetched_by_then: list[int] = []

    def on_outcome(outcome: Outcome) -> None:
        if outcome.status == "pushed":
            fetched_by_then.append(fetches.calls)

    left = await worked(rt, ledger, on_outcome, fetches, lambda: len(fetched_by_then) == 1)
    delivered_by = set(fetches.seqs.values())
    assert len(delivered_by) == 1  # one fetch brought the change (and whatever came with it)
    assert fetched_by_then == [*delivered_by]  # no fetch to the server before its outcome
    assert left == 0


async def worked(
    rt: Runtime,
    ledger: LedgerHandle,
    on_outcome: Callable[[Outcome], None],
    fetches: Fetches,
    done: Callable[[], bool],
) -> int:
    """The worker running (told each outcome) for :func:`cycles_until_done`, then stopped;
    what was left unfinished."""
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(rt, ledger, until_idle=False, on_outcome=on_outcome, stop=stop)
    )
    try:
        return await cycles_until_done(rt, fetches, done)
    finally:
        stop.set()
        await worker


async def cycles_until_done(rt: Runtime, fetches: Fetches, done: Callable[[], bool]) -> int:
    """Fetch cycles until ``done()`` and nothing is pending or unacknowledged, at most
    ``CYCLES`` after the failing fetch (or after the start, if none failed); what is left
    unfinished then."""
    while True:
        calls = await fetches.next_cycle()
        left = await unfinished(rt)
        if done() and left == 0:
            return 0
        if calls > (fetches.failed_at or 0) + CYCLES:
            return left
