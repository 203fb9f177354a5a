"""``RetryPolicy.run``: the one retry loop every adapter goes through.

Sleeps are recorded, never slept, so the waits the policy chose are asserted as values."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from syncledger.adapters.http import NotSentError, RetryPolicy
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError

POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=10.0, max_retry_after=60.0)


class Script:
    """An operation that fails with the scripted errors in turn, then answers ``done``;
    it records each try's attempt number and the error it was shown."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.seen: list[tuple[int, TransientLedgerError | None]] = []

    async def __call__(self, attempt: int, previous: TransientLedgerError | None) -> str:
        self.seen.append((attempt, previous))
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def always(exc: TransientLedgerError) -> bool:
    return True


async def run(
    script: Script,
    sleeps: Sleeps,
    policy: RetryPolicy = POLICY,
    resend: Callable[[TransientLedgerError], bool] = always,
) -> str:
    return await policy.run(script, rng=random.Random(7), sleep=sleeps, label="test", resend=resend)


async def test_it_gives_up_after_the_attempts_and_raises_the_last_error_unchanged() -> None:
    errors = [TransientLedgerError(f"boom {n}", code=f"50{n}") for n in range(1, 5)]
    script, sleeps = Script(*errors), Sleeps()
    with pytest.raises(TransientLedgerError) as raised:
        await run(script, sleeps)
    assert raised.value is errors[2]
    assert raised.value.code == "503"
    assert [attempt for attempt, _ in script.seen] == [1, 2, 3]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0  # full jitter under base × 2ⁿ


async def test_a_retry_after_within_the_limit_is_slept_instead_of_the_backoff() -> None:
    script, sleeps = (
        Script(TransientLedgerError("throttled", code="429", retry_after=42.0)),
        Sleeps(),
    )
    assert await run(script, sleeps) == "done"
    assert sleeps == [42.0]
    assert len(script.seen) == 2


async def test_a_retry_after_beyond_the_limit_is_handed_back_without_waiting() -> None:
    throttled = TransientLedgerError("throttled", code="429", retry_after=3600.0)
    script, sleeps = Script(throttled), Sleeps()
    with pytest.raises(TransientLedgerError) as raised:
        await run(script, sleeps)
    assert raised.value is throttled
    assert raised.value.retry_after == 3600.0
    assert sleeps == []
    assert len(script.seen) == 1


@pytest.mark.parametrize("error", [PermanentLedgerError("refused", code="400"), KeyError("x")])
async def test_an_error_that_is_not_transient_passes_through_at_once(error: Exception) -> None:
    script, sleeps = Script(error), Sleeps()
    with pytest.raises(type(error)) as raised:
        await run(script, sleeps)
    assert raised.value is error
    assert sleeps == []
    assert len(script.seen) == 1


async def test_each_try_sees_the_error_the_previous_one_ended_with() -> None:
    first, second = TransientLedgerError("first"), TransientLedgerError("second")
    script = Script(first, second)
    assert await run(script, Sleeps()) == "done"
    assert script.seen == [(1, None), (2, first), (3, second)]


async def test_resend_decides_which_transient_errors_are_tried_again() -> None:
    answered = TransientLedgerError("no answer; the write may have landed")
    script, sleeps = Script(NotSentError("connect refused"), answered), Sleeps()
    with pytest.raises(TransientLedgerError) as raised:
        await run(script, sleeps, resend=lambda exc: isinstance(exc, NotSentError))
    assert raised.value is answered
    assert len(sleeps) == 1
    assert len(script.seen) == 2


async def test_one_attempt_never_retries() -> None:
    script, sleeps = Script(TransientLedgerError("boom")), Sleeps()
    with pytest.raises(TransientLedgerError):
        await run(script, sleeps, RetryPolicy(attempts=1))
    assert sleeps == []
    assert len(script.seen) == 1


def test_delay_prefers_retry_after_caps_the_backoff_and_gives_up_on_the_last_try() -> None:
    rng = random.Random(1)
    late = TransientLedgerError("x", retry_after=61.0)
    assert POLICY.delay(TransientLedgerError("x", retry_after=5.0), 1, rng) == 5.0
    assert POLICY.delay(late, 1, rng) is None
    assert POLICY.delay(TransientLedgerError("x"), 3, rng) is None
    capped = RetryPolicy(attempts=10, base_delay=1.0, max_delay=3.0)
    waits = [capped.delay(TransientLedgerError("x"), 9, rng) for _ in range(50)]
    assert all(wait is not None and 0 <= wait <= 3.0 for wait in waits)
