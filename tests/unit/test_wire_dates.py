"""Days and moments as ledger APIs write them (adapters/wire_dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from syncledger.adapters.wire_dates import day_after, iso_day, iso_moment


def test_a_day_reads_with_or_without_a_time() -> None:
    assert iso_day("2026-03-31") == date(2026, 3, 31)
    assert iso_day("2026-03-31T00:00:00-07:00") == date(2026, 3, 31)


def test_what_is_not_a_day_reads_as_none() -> None:
    for value in (None, False, "", "31/03/2026", "2026-02-30", 20260331):
        assert iso_day(value) is None


def test_a_due_offset_counts_whole_days_from_the_start() -> None:
    assert day_after("2026-01-31", 30) == date(2026, 3, 2)
    assert day_after("2026-01-31", "0") == date(2026, 1, 31)
    assert day_after("2026-01-31", None) is None
    assert day_after("2026-01-31", True) is None
    assert day_after(None, 30) is None


def test_a_moment_without_an_offset_is_utc_and_anything_else_is_none() -> None:
    utc = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
    assert iso_moment("2026-04-01T09:30:00") == utc
    assert iso_moment("2026-04-01T09:30:00Z") == utc
    assert iso_moment("2026-04-01T11:30:00+02:00") == utc
    assert [iso_moment(v) for v in (None, "", "yesterday", 1712000000)] == [None] * 4
