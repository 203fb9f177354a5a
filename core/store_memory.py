"""``MemoryEventStore``: the in-process fake of the event store port, for unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

from syncledger.core.errors import ConcurrencyError, ImmutableLogError
from syncledger.core.events import Envelope
from syncledger.core.store import STREAM_SUBJECTS, StoredEvent, first_expectations, subject_matches


class MemoryEventStore:
    def __init__(self) -> None:
        self._events: list[StoredEvent] = []
        self._by_id: dict[str, int] = {}
        self._subject_last: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        async with self._lock:
            fresh = [ev for ev in events if ev.id not in self._by_id]
            for index, expected in first_expectations(fresh, expect).items():
                subject = fresh[index].subject
                actual = self._subject_last.get(subject, 0)
                if actual != expected:
                    raise ConcurrencyError(subject, expected, f"last is {actual}")
            seqs: list[int] = []
            for ev in events:
                if ev.id in self._by_id:
                    seqs.append(self._by_id[ev.id])
                    continue
                seq = len(self._events) + 1
                self._events.append(StoredEvent(seq, ev.subject, ev.to_bytes()))
                self._by_id[ev.id] = seq
                self._subject_last[ev.subject] = seq
                seqs.append(seq)
            return seqs

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        end = len(self._events)
        for stored in self._events[max(from_seq, 1) - 1 : end]:
            if subject_matches(subjects, stored.subject):
                yield stored

    async def last_seq(self) -> int:
        return len(self._events)

    async def subject_last_seq(self, subject: str) -> int:
        return self._subject_last.get(subject, 0)

    async def delete(self, seq: int) -> None:
        raise ImmutableLogError(f"refusing to delete event {seq}: the log is append-only")

    async def purge(self) -> None:
        raise ImmutableLogError("refusing to purge: the log is append-only")
