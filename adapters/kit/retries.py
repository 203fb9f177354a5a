"""A ledger's own retried operations, and the write that is looked for before it is sent
again.

``LedgerHttp`` retries one request. A ledger retries more than that when a write may have
landed unseen (a timeout, a 5xx): before sending it again it asks the ledger whether the
first one landed, by our reference, and sends only when it did not. ``Retries`` carries the
policy, the sleep and the random source a ledger is built with; ``write_or_find`` is that
flow, the same for every platform: the platform says how to write, how to find, and which
failures leave the outcome unknown.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from syncledger.adapters.http import NO_RETRY, Operation, RetryPolicy
from syncledger.core.errors import TransientLedgerError

T = TypeVar("T")
#: one write: sent after ``previous`` (None on the first try) left the outcome unknown
Write = Callable[[TransientLedgerError | None], Awaitable[T]]
#: the earlier write's result, looked for in the ledger by our reference; None: not there
Find = Callable[[], Awaitable[T | None]]


def _always(_: TransientLedgerError) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Retries:
    """How a ledger retries its own operations (``RetryPolicy.run`` with the ledger's
    sleep and random source)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def of(
        cls,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> Retries:
        """From a ledger's constructor arguments (None: the defaults)."""
        return cls(policy or RetryPolicy(), sleep, rng or random.Random())

    async def run(
        self,
        operation: Operation[T],
        *,
        label: str,
        resend: Callable[[TransientLedgerError], bool] = _always,
        once: bool = False,
    ) -> T:
        """``operation`` until it returns or the policy gives up; ``once``: one try only
        (its failure goes back to the caller, e.g. a journal that asks ``find`` first)."""
        policy = NO_RETRY if once else self.policy
        return await policy.run(
            operation, rng=self.rng, sleep=self.sleep, label=label, resend=resend
        )


@dataclass(frozen=True, slots=True)
class Landed(Generic[T]):
    """A write's result: ``found`` when it is an earlier write's, found by ``find``."""

    value: T
    found: bool = False


async def write_or_find(
    retries: Retries,
    write: Write[T],
    find: Find[T],
    *,
    label: str,
    look_first: bool = False,
    unsure: Callable[[TransientLedgerError], bool] = _always,
    once: bool = False,
) -> Landed[T]:
    """Write until it lands or the retries run out. Before a try that follows a failure
    ``unsure`` holds for (the write may have landed), and before the first try when
    ``look_first``, ``find`` is asked; what it finds is the result. Otherwise ``write``
    is sent, told the failure before it."""

    async def attempt(_: int, previous: TransientLedgerError | None) -> Landed[T]:
        if look_first or (previous is not None and unsure(previous)):
            found = await find()
            if found is not None:
                return Landed(found, found=True)
        return Landed(await write(previous))

    return await retries.run(attempt, label=label, once=once)
