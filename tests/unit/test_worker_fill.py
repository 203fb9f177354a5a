"""When a batch's fill ends (core/worker.py ``FetchTimeouts``): at once once nothing more
is pending, unless the ledger's rate limits are pressed: then the fill goes on fetching
(FastStream's loop, up to its pull timeout), and a change that arrives meanwhile joins
the batch in hand instead of opening a batch of its own (issue 11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import nats.errors
import pytest
from nats.js import JetStreamContext

from syncledger.core.worker import FetchTimeouts

BATCH = 30


def message(seq: int, pending: int) -> Any:
    sequence = SimpleNamespace(stream=seq, consumer=seq)
    return SimpleNamespace(metadata=SimpleNamespace(sequence=sequence, num_pending=pending))


@dataclass
class Consumer:
    """A pull subscription over a list of messages: a fetch takes what is there, and
    times out when there is nothing."""

    waiting: list[Any] = field(default_factory=list)

    async def fetch(
        self,
        batch: int,
        timeout: float | None,  # noqa: ASYNC109 -- nats-py's signature
        heartbeat: float | None,
    ) -> list[Any]:
        if not self.waiting:
            raise nats.errors.TimeoutError
        taken, self.waiting = self.waiting[:batch], self.waiting[batch:]
        return taken


@dataclass
class Pressure:
    on: bool

    def pressed(self) -> bool:
        return self.on


async def fill(fetches: FetchTimeouts, consumer: Consumer, arriving: list[Any]) -> list[int]:
    """FastStream's fill of one batch: fetch the rest until full or timed out; ``arriving``
    reach the consumer after the first fetch."""
    held: list[Any] = []
    while len(held) < BATCH:
        try:
            held += await fetches.fetch(batch=BATCH - len(held), timeout=0.25)
        except TimeoutError:
            break
        consumer.waiting += arriving
        arriving = []
    return [m.metadata.sequence.stream for m in held]


def fetches(consumer: Consumer, pressure: Pressure | None) -> FetchTimeouts:
    pull = cast("JetStreamContext.PullSubscription", consumer)
    return FetchTimeouts(pull, BATCH, pressure)


@pytest.mark.parametrize("pressure", [None, Pressure(on=False)])
async def test_a_caught_up_fill_ends_at_once_while_the_limits_are_not_pressed(
    pressure: Pressure | None,
) -> None:
    consumer = Consumer([message(1, 0)])
    worker = fetches(consumer, pressure)
    assert await fill(worker, consumer, arriving=[message(2, 0)]) == [1]
    assert await fill(worker, consumer, arriving=[]) == [2]  # the next batch's


async def test_a_caught_up_fill_goes_on_while_the_limits_are_pressed() -> None:
    consumer = Consumer([message(1, 0)])
    worker = fetches(consumer, Pressure(on=True))
    assert await fill(worker, consumer, arriving=[message(2, 1), message(3, 0)]) == [1, 2, 3]


async def test_a_fill_that_is_not_caught_up_goes_on_either_way() -> None:
    consumer = Consumer([message(1, 1)])  # one more pending after it
    worker = fetches(consumer, Pressure(on=False))
    assert await fill(worker, consumer, arriving=[message(2, 0)]) == [1, 2]


async def test_the_pressure_is_read_when_the_fill_would_end() -> None:
    pressure = Pressure(on=True)
    consumer = Consumer([message(1, 0)])
    worker = fetches(consumer, pressure)
    assert await fill(worker, consumer, arriving=[message(2, 0)]) == [1, 2]
    pressure.on = False  # the limiter's windows emptied
    consumer.waiting.append(message(3, 0))
    assert await fill(worker, consumer, arriving=[message(4, 0)]) == [3]
