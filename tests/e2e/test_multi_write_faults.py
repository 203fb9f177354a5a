"""Multi-write operations of every platform survive a SIGKILL and a run of 5xx answers
between their writes, on real processes (see ``tests/support/multiwrite``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.multiwrite import (
    Stand,
    cases,
    close,
    ref,
    run_5xx_between_writes,
    run_killed_between_writes,
    stand,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLATFORMS = ("qbo", "xero", "zoho-books", "freshbooks", "sage", "netsuite", "odoo")


def _platforms() -> list[str]:
    """The platforms whose cases are written (each lists them in its own module)."""
    found = []
    for p in PLATFORMS:
        try:
            cases(p)
        except ModuleNotFoundError:
            continue
        found.append(p)
    return found


@pytest.fixture
def the_stand(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stand]:
    s = stand(request.param, tmp_path)
    try:
        yield s
    finally:
        close(s)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("the_stand", _platforms(), indirect=True)
async def test_a_worker_killed_between_two_writes_finishes_without_duplicates(
    the_stand: Stand,
) -> None:
    the_stand.start_worker()
    expected: set[str] = set()
    for case in cases(the_stand.ledger):
        await run_killed_between_writes(the_stand, case)
        expected |= {ref(i) for i in (*case.setup, *case.records)}
    await the_stand.assert_clean(expected)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("the_stand", _platforms(), indirect=True)
async def test_5xx_between_two_writes_retries_the_step_without_duplicates(
    the_stand: Stand,
) -> None:
    the_stand.start_worker()
    expected: set[str] = set()
    for case in cases(the_stand.ledger):
        await run_5xx_between_writes(the_stand, case)
        expected |= {ref(i) for i in (*case.setup, *case.records)}
    await the_stand.assert_clean(expected)
