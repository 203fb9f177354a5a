"""Small groups of one-message appends go out as single publishes, larger ones as atomic
batches (core/store_jetstream.py ``_commit_group``), with the same guarantees: the stored
messages tell which way each was written (a batch leaves its batch headers on them). And
how many groups a one-server stream has in flight (module docstring there): one while a few
appends wait, so that they join the next group instead of paying for a batch of their own
beside it; several when thousands wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

from syncledger.core.errors import ConcurrencyError
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import observed

pytestmark = pytest.mark.integration

STREAM = "SINGLES"


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


async def stored_headers(store: JetStreamEventStore, seq: int) -> dict[str, str]:
    msg = await store._js.get_msg(STREAM, seq)
    return dict(msg.headers or {})


def batched(headers: dict[str, str]) -> bool:
    return any(name.startswith("Nats-Batch-") for name in headers)


async def test_a_one_message_append_is_a_single_publish(store: JetStreamEventStore) -> None:
    ev = observed("one")
    [seq] = await store.append([ev])
    headers = await stored_headers(store, seq)
    assert headers["Nats-Msg-Id"] == ev.id
    assert not batched(headers)


async def test_a_many_message_append_is_still_an_atomic_batch(store: JetStreamEventStore) -> None:
    evs = [observed(f"many-{i}") for i in range(50)]
    seqs = await store.append(evs)
    assert seqs == list(range(1, 51))
    headers = [await stored_headers(store, s) for s in seqs]
    assert all(batched(h) for h in headers)
    assert "Nats-Batch-Commit" in headers[-1]


async def test_many_concurrent_one_message_appends_are_still_batched(
    store: JetStreamEventStore,
) -> None:
    seqs = await asyncio.gather(*(store.append([observed(f"c{i}")]) for i in range(300)))
    assert sorted(s for [s] in seqs) == list(range(1, 301))
    commits = [s for s in range(1, 301) if "Nats-Batch-Commit" in await stored_headers(store, s)]
    assert 0 < len(commits) < 300


async def test_a_repeated_single_append_returns_the_original_sequence(
    store: JetStreamEventStore,
) -> None:
    ev = observed("dup")
    [first] = await store.append([ev])
    await store.append([observed("other")])
    assert await store.append([ev]) == [first]
    assert await store.last_seq() == 2
    assert not batched(await stored_headers(store, first))


async def test_a_failed_expectation_fails_only_its_own_caller(
    store: JetStreamEventStore,
) -> None:
    [seq] = await store.append([observed("x")])
    stale, fresh = observed("x", version=2), observed("y")
    results = await asyncio.gather(
        store.append([stale], expect={stale.subject: seq - 1}),
        store.append([fresh]),
        return_exceptions=True,
    )
    assert isinstance(results[0], ConcurrencyError)
    assert results[1] == [seq + 1]
    assert await store.append([stale], expect={stale.subject: seq}) == [seq + 2]
    assert not batched(await stored_headers(store, seq + 2))


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
