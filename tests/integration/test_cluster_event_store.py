"""The event store on a 3-node JetStream cluster (issue 13): the event-store contract on
an R3 stream, and appends that go on while the stream's leader is SIGKILLed, and while
the cluster has lost its quorum for a while (a second node stopped): every acknowledged
event is in the log exactly once (unacknowledged writes are sent again with the same
``Nats-Msg-Id``), and no append fails."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import EventStoreContract, observed
from tests.support.cluster import NatsCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
STREAM = "CLUSTER_CONTRACT"
_numbers = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    stand = NatsCluster(tmp_path_factory.mktemp("cluster")).start()
    try:
        asyncio.run(stand.wait_ready())
        yield stand
    finally:
        stand.stop()


@contextlib.asynccontextmanager
async def r3_store(cluster: NatsCluster, stream: str) -> AsyncIterator[JetStreamEventStore]:
    nc = await cluster.connect()
    store = JetStreamEventStore(nc, stream=stream)
    await store.ensure_stream(3, create=True)
    try:
        yield store
    finally:
        await store.close()
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream)
        await nc.close()


class TestClusterEventStore(EventStoreContract):
    @pytest.fixture
    async def event_store(self, cluster: NatsCluster) -> AsyncIterator[JetStreamEventStore]:
        # a fresh name per test: a stream just deleted may still be going on some node
        async with r3_store(cluster, f"{STREAM}_{next(_numbers)}") as store:
            yield store


async def test_the_stream_has_three_copies_on_three_nodes(cluster: NatsCluster) -> None:
    async with r3_store(cluster, "CLUSTER_R3") as store:
        assert store.replicated
        info = await store._js.stream_info("CLUSTER_R3")
        assert info.config.num_replicas == 3
        assert info.cluster is not None and info.cluster.leader in {"n1", "n2", "n3"}
        peers = {p.name for p in info.cluster.replicas or []}
        assert peers | {info.cluster.leader} == {"n1", "n2", "n3"}


class Writers:
    """Writers appending 1-3 events at a time until stopped; what was acknowledged."""

    def __init__(self, store: JetStreamEventStore) -> None:
        self.store = store
        self.acked: list[str] = []
        self.failures: list[BaseException] = []
        self.stop = asyncio.Event()
        self._grew = asyncio.Condition()

    async def write(self, writer: int) -> None:
        n = 0
        while not self.stop.is_set():
            events = [observed(f"w{writer}-{n + k}") for k in range(1 + n % 3)]
            n += len(events)
            failure: Exception | None = None
            try:
                await self.store.append(events)
            except Exception as exc:
                failure = exc
            async with self._grew:
                if failure is not None:
                    self.failures.append(failure)
                else:
                    self.acked.extend(ev.id for ev in events)
                self._grew.notify_all()
            if failure is not None:
                return

    async def until_failed(self) -> None:
        async with self._grew:
            await self._grew.wait_for(lambda: bool(self.failures))

    async def until_acked(self, count: int) -> None:
        async with self._grew:
            await self._grew.wait_for(lambda: len(self.acked) >= count or bool(self.failures))


async def test_appends_while_the_leader_is_killed_are_each_stored_once(
    cluster: NatsCluster,
) -> None:
    async with r3_store(cluster, "CLUSTER_ELECTION") as store:
        leader = await cluster.stream_leader("CLUSTER_ELECTION")
        writers = Writers(store)
        tasks = [asyncio.create_task(writers.write(w)) for w in range(8)]
        try:
            await asyncio.wait_for(writers.until_acked(300), 60)
            cluster.node(leader).kill()
            before_kill = len(writers.acked)
            await asyncio.wait_for(writers.until_acked(before_kill + 300), 120)
        finally:
            writers.stop.set()
            await asyncio.gather(*tasks)
        assert writers.failures == []
        assert await cluster.stream_leader("CLUSTER_ELECTION") != leader
        cluster.restart(leader)
        await cluster.wait_replicas_current("CLUSTER_ELECTION")
        stored = Counter([s.envelope().id async for s in store.read()])
        assert [i for i, n in stored.items() if n > 1] == []  # nothing stored twice
        assert set(writers.acked) - set(stored) == set()  # nothing acknowledged lost
        assert len(writers.acked) == len(set(writers.acked))


class Retries(logging.Handler):
    """Counts the store's "append not acknowledged; retrying" lines as they are logged."""

    def __init__(self, wanted: int) -> None:
        super().__init__(logging.WARNING)
        self.count, self.wanted, self.reached = 0, wanted, asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.count += 1
            if self.count >= self.wanted:
                self.reached.set()


async def until_retried_or_failed(retries: Retries, writers: Writers) -> None:
    """Until the writes are seen stuck (retried), or one of them gave up."""
    waits = [
        asyncio.create_task(retries.reached.wait()),
        asyncio.create_task(writers.until_failed()),
    ]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in waits:
        task.cancel()


async def test_appends_wait_out_a_lost_quorum_and_are_each_stored_once(
    cluster: NatsCluster,
) -> None:
    """The leader is killed and a second node stopped: no quorum, so no leader, and the
    writes are retried (with the same ids) until the stopped node is back from its store."""
    store_log = logging.getLogger("syncledger.core.store_jetstream")
    retries = Retries(wanted=5)
    store_log.addHandler(retries)
    async with r3_store(cluster, "CLUSTER_QUORUM") as store:
        leader = await cluster.stream_leader("CLUSTER_QUORUM")
        other = next(n.name for n in cluster.nodes if n.name != leader)
        writers = Writers(store)
        tasks = [asyncio.create_task(writers.write(w)) for w in range(8)]
        try:
            await asyncio.wait_for(writers.until_acked(200), 60)
            cluster.node(leader).kill()
            await asyncio.to_thread(cluster.node(other).stop)
            await asyncio.wait_for(until_retried_or_failed(retries, writers), 60)
            assert writers.failures == [], "an append gave up while the quorum was lost"
            cluster.restart(other)
            before = len(writers.acked)
            await asyncio.wait_for(writers.until_acked(before + 300), 120)
        finally:
            writers.stop.set()
            await asyncio.gather(*tasks)
            store_log.removeHandler(retries)
        assert writers.failures == []
        cluster.restart(leader)
        await cluster.wait_replicas_current("CLUSTER_QUORUM")
        stored = Counter([s.envelope().id async for s in store.read()])
        assert [i for i, n in stored.items() if n > 1] == []
        assert set(writers.acked) - set(stored) == set()
