from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest

from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import EventStoreContract, observed

pytestmark = pytest.mark.integration


@pytest.fixture
async def jetstream_store(nats_url: str) -> AsyncIterator[JetStreamEventStore]:
    nc = await nats.connect(nats_url)
    store = JetStreamEventStore(nc, stream="CONTRACT")
    await store.ensure_stream(create=True)
    try:
        yield store
    finally:
        await store.close()
        await nc.jetstream().delete_stream("CONTRACT")
        await nc.close()


class TestJetStreamEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self, jetstream_store: JetStreamEventStore) -> JetStreamEventStore:
        return jetstream_store


async def test_stream_is_durable_and_immutable(jetstream_store: JetStreamEventStore) -> None:
    info = await jetstream_store._js.stream_info("CONTRACT")
    cfg = info.config
    assert cfg.deny_delete and cfg.deny_purge and cfg.allow_atomic
    assert (cfg.duplicate_window or 0) >= 3600


async def test_group_commit_coalesces_concurrent_appends_into_atomic_batches(
    jetstream_store: JetStreamEventStore,
) -> None:
    import asyncio

    await asyncio.gather(*(jetstream_store.append([observed(f"g{i}")]) for i in range(500)))
    assert await jetstream_store.last_seq() == 500
    # atomic batches leave a batch id on their commit message: fewer commits than events
    js = jetstream_store._js
    commits = 0
    for seq in range(1, 501):
        msg = await js.get_msg("CONTRACT", seq)
        if msg.headers and msg.headers.get("Nats-Batch-Commit"):
            commits += 1
    assert 0 < commits < 500
