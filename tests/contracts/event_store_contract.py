"""One contract for every EventStore implementation (memory and JetStream)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from syncledger.core.errors import ConcurrencyError, ImmutableLogError
from syncledger.core.events import Envelope, SourceRecordObserved, make_envelope, subject_for
from syncledger.core.store import EventStore


def observed(record_id: str, version: int = 1, entity: str = "acme") -> Envelope:
    payload = SourceRecordObserved(
        ref=f"csv/customer/{record_id}",
        kind="customer",
        version=str(version),
        content_sha256=f"{record_id}-{version}",
        record={"name": f"Customer {record_id}"},
    )
    subject = subject_for(entity, "source", "csv", "customer", record_id)
    return make_envelope(payload, entity=entity, subject=subject, actor="test")


async def collect(it: AsyncIterator[object]) -> list[object]:
    return [x async for x in it]


class EventStoreContract:
    """Subclasses provide an ``event_store`` fixture yielding an empty store."""

    async def test_append_returns_increasing_sequences(self, event_store: EventStore) -> None:
        seqs = await event_store.append([observed("a"), observed("b"), observed("c")])
        assert seqs == [1, 2, 3]
        assert await event_store.last_seq() == 3

    async def test_same_event_twice_is_stored_once(self, event_store: EventStore) -> None:
        ev = observed("a")
        first = await event_store.append([ev])
        again = await event_store.append([ev])
        assert again == first
        stored = await collect(event_store.read())
        assert len(stored) == 1

    async def test_retry_of_a_partly_stored_batch_stores_the_rest_once(
        self, event_store: EventStore
    ) -> None:
        a, b = observed("a"), observed("b")
        await event_store.append([a])
        seqs = await event_store.append([a, b])
        assert seqs == [1, 2]
        assert [s.raw for s in await collect(event_store.read())] == [a.to_bytes(), b.to_bytes()]

    async def test_stored_bytes_round_trip(self, event_store: EventStore) -> None:
        ev = observed("a")
        await event_store.append([ev])
        [stored] = await collect(event_store.read())
        assert stored.raw == ev.to_bytes()
        assert stored.envelope() == ev
        assert stored.subject == ev.subject

    async def test_expected_version_detects_a_concurrent_writer(
        self, event_store: EventStore
    ) -> None:
        first = observed("a", 1)
        [seq] = await event_store.append([first], expect={first.subject: 0})
        stale = observed("a", 2)
        with pytest.raises(ConcurrencyError):
            await event_store.append([stale], expect={stale.subject: 0})
        fresh = observed("a", 3)
        assert await event_store.append([fresh], expect={fresh.subject: seq}) == [seq + 1]
        assert await event_store.subject_last_seq(first.subject) == seq + 1

    async def test_a_conflict_does_not_fail_other_concurrent_appends(
        self, event_store: EventStore
    ) -> None:
        base = observed("a", 1)
        await event_store.append([base])
        conflicting = observed("a", 2)
        others = [observed(f"o{i}") for i in range(20)]
        results = await asyncio.gather(
            event_store.append([conflicting], expect={conflicting.subject: 0}),
            *(event_store.append([o]) for o in others),
            return_exceptions=True,
        )
        assert isinstance(results[0], ConcurrencyError)
        assert all(isinstance(r, list) for r in results[1:])
        assert await event_store.last_seq() == 21

    async def test_concurrent_appends_all_land_in_order_per_caller(
        self, event_store: EventStore
    ) -> None:
        batches = [[observed(f"r{i}", 1), observed(f"r{i}", 2)] for i in range(300)]
        results = await asyncio.gather(*(event_store.append(b) for b in batches))
        for seqs in results:
            assert seqs[1] == seqs[0] + 1
        all_seqs = sorted(s for seqs in results for s in seqs)
        assert all_seqs == list(range(1, 601))

    async def test_read_from_sequence_and_filter_by_subject(self, event_store: EventStore) -> None:
        await event_store.append([observed("a"), observed("b"), observed("c", entity="other")])
        tail = await collect(event_store.read(from_seq=2))
        assert [s.seq for s in tail] == [2, 3]  # type: ignore[attr-defined]
        acme = await collect(event_store.read("sl.acme.>"))
        assert len(acme) == 2
        one = await collect(event_store.read(subject_for("acme", "source", "csv", "customer", "b")))
        assert [s.envelope().data["ref"] for s in one] == ["csv/customer/b"]  # type: ignore[attr-defined]

    async def test_read_of_empty_range_yields_nothing(self, event_store: EventStore) -> None:
        assert await collect(event_store.read()) == []
        await event_store.append([observed("a")])
        assert await collect(event_store.read(from_seq=2)) == []
        assert await collect(event_store.read("sl.nobody.>")) == []

    async def test_delete_and_purge_are_refused(self, event_store: EventStore) -> None:
        await event_store.append([observed("a")])
        with pytest.raises(ImmutableLogError):
            await event_store.delete(1)
        with pytest.raises(ImmutableLogError):
            await event_store.purge()
        assert await event_store.last_seq() == 1

    async def test_read_of_one_subject_deep_in_the_log(self, event_store: EventStore) -> None:
        await event_store.append([observed(f"x{i}") for i in range(200)])
        for rid in ("x0", "x57", "x199"):
            subject = subject_for("acme", "source", "csv", "customer", rid)
            found = [s.seq async for s in event_store.read(subject)]  # type: ignore[attr-defined]
            assert len(found) == 1
