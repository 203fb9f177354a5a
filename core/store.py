"""The event store port (DESIGN §5) and what every implementation shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from syncledger.core.events import Envelope

STREAM_NAME = "SYNCLEDGER"
STREAM_SUBJECTS = "sl.>"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as the log holds it: its stream sequence, subject and exact bytes."""

    seq: int
    subject: str
    raw: bytes

    def envelope(self) -> Envelope:
        return Envelope.from_bytes(self.raw)


class EventStore(Protocol):
    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        """Append events atomically; return their stream sequences, in order.

        Idempotent: an event whose id is already stored is not stored again (its original
        sequence is returned). ``expect`` maps a subject to the last sequence the caller saw
        on it (0 = none); the first event on that subject is refused with
        ``ConcurrencyError`` if another write landed since.
        """
        ...

    def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        """Events matching ``subjects`` (NATS wildcards) from ``from_seq`` in stream order,
        up to the end of the log as it was when reading began."""
        ...

    async def last_seq(self) -> int:
        """The sequence of the newest event (0 for an empty log)."""
        ...

    async def subject_last_seq(self, subject: str) -> int:
        """The sequence of the newest event on exactly ``subject`` (0 if none)."""
        ...

    async def delete(self, seq: int) -> None:
        """Always refused with ``ImmutableLogError``: the log is append-only."""
        ...

    async def purge(self) -> None:
        """Always refused with ``ImmutableLogError``."""
        ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching with ``*`` (one token) and ``>`` (one or more, at the end)."""
    pat = pattern.split(".")
    sub = subject.split(".")
    for i, part in enumerate(pat):
        if part == ">":
            return len(sub) > i
        if i >= len(sub) or part not in ("*", sub[i]):
            return False
    return len(pat) == len(sub)


def first_expectations(
    events: Sequence[Envelope], expect: Mapping[str, int] | None
) -> dict[int, int]:
    """Index of the first event on each expected subject -> expected last sequence."""
    if not expect:
        return {}
    result: dict[int, int] = {}
    seen: set[str] = set()
    for i, ev in enumerate(events):
        if ev.subject in expect and ev.subject not in seen:
            result[i] = expect[ev.subject]
            seen.add(ev.subject)
    return result
