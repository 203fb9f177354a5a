"""Records read in bulk before a batch of updates (``core.ports.Prefetcher``), served to
the updates' version checks one at a time.

An adapter whose updates read the record first (to refuse a stale write: most ledgers
have no concurrency token) keeps one ``Prefetched``. Its ``prefetch`` reads the batch's
records in one request and ``keep``s each; the update then ``take``s its record instead
of reading it. A record is served once and only within ``max_age`` seconds of the bulk
read, so a later update, or one after a slow batch, reads the ledger again. The window in
which a change made in the ledger goes unnoticed grows from the gap between one read and
one write to at most ``max_age``; adapters say so in their docstring.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

MAX_AGE_S = 60.0


class Prefetched(Generic[T]):
    """What a bulk read returned, by kind and ledger id, each served once while fresh."""

    def __init__(
        self, max_age: float = MAX_AGE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, T]] = {}

    def keep(self, kind: str, ledger_id: str, record: T) -> None:
        self._kept[(kind, ledger_id)] = (self._clock(), record)

    def take(self, kind: str, ledger_id: str) -> T | None:
        """The record as the bulk read found it, or None: never read, already served,
        or older than ``max_age`` (then read it from the ledger)."""
        kept = self._kept.pop((kind, ledger_id), None)
        if kept is None:
            return None
        read_at, record = kept
        return record if self._clock() - read_at <= self._max_age else None

    def forget(self, kind: str, ledger_id: str) -> None:
        """Drop what is kept for a record this adapter has just written."""
        self._kept.pop((kind, ledger_id), None)

    def __len__(self) -> int:
        return len(self._kept)


class Bounded(Generic[K, V]):
    """What an adapter remembers of records it wrote or read (a document's currency and
    rate for its payments, a record's last ``updated_at``): the ``size`` entries put most
    recently, so memory stays bounded however many records a process meets."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[K, V] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        self._kept[key] = value
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._kept.get(key)

    def __len__(self) -> int:
        return len(self._kept)
