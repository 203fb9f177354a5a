"""How many append groups a one-server stream has in flight (core/store_jetstream.py,
module docstring): one while a few appends wait, so that they join the next group
instead of paying for a batch of their own beside it; several when thousands wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import observed

pytestmark = pytest.mark.integration

STREAM = "INFLIGHT"


@pytest.fixture
async def store(nats_url: str) -> AsyncIterator[JetStreamEventStore]:
    nc = await nats.connect(nats_url)
    store = JetStreamEventStore(nc, stream=STREAM)
    await store.ensure_stream(create=True)
    try:
        yield store
    finally:
        await store.close()
        await nc.jetstream().delete_stream(STREAM)
        await nc.close()


class Batches:
    """Counts the atomic batches the store has in flight at once."""

    def __init__(self, store: JetStreamEventStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = self.peak = self.sent = 0
        real = store._atomic

        async def counted(msgs: Any) -> int:
            self.now += 1
            self.sent += 1
            self.peak = max(self.peak, self.now)
            try:
                return await real(msgs)
            finally:
                self.now -= 1

        monkeypatch.setattr(store, "_atomic", counted)


async def test_a_trickle_of_appends_keeps_one_batch_in_flight_and_joins_the_next(
    store: JetStreamEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = Batches(store, monkeypatch)

    async def delivery(i: int) -> list[int]:
        await asyncio.sleep(i * 0.001)  # one every millisecond, as webhooks come
        return await store.append([observed(f"rec-{i}"), observed(f"receipt-{i}")])

    seqs = await asyncio.gather(*(delivery(i) for i in range(60)))
    assert sorted(s for pair in seqs for s in pair) == list(range(1, 121))
    assert all(b == a + 1 for a, b in seqs)  # each append's two events stay together
    assert batches.peak == 1
    assert batches.sent < 60  # appends that waited went out together


async def test_thousands_waiting_keep_several_groups_in_flight(
    store: JetStreamEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = Batches(store, monkeypatch)
    seqs = await asyncio.gather(*(store.append([observed(f"bulk-{i}")]) for i in range(3000)))
    assert sorted(s for [s] in seqs) == list(range(1, 3001))
    assert batches.peak >= 2
