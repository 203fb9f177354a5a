"""The worker handles a message once per batch, even when the batch holds it twice (a late
delivery still in the fetch inbox beside JetStream's redelivery after ``ack_wait``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from syncledger.core.worker import _once_each


def delivery(seq: int, count: int) -> Any:
    sequence = SimpleNamespace(stream=seq, consumer=count)
    return SimpleNamespace(metadata=SimpleNamespace(sequence=sequence, num_delivered=count))


def test_a_message_delivered_twice_in_one_batch_is_handled_once_with_its_latest_delivery() -> None:
    stale, other, again = delivery(7, 1), delivery(8, 1), delivery(7, 2)
    kept = _once_each([stale, other, again])
    assert kept == [again, other]  # the first one's place, the latest delivery (its ack counts)


def test_a_batch_without_repeats_is_unchanged() -> None:
    batch = [delivery(n, 1) for n in (3, 4, 5)]
    assert _once_each(batch) == batch
