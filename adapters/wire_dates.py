"""Calendar days as ledger APIs write them: ``YYYY-MM-DD`` (optionally followed by a time),
the form every platform's mapping writes its invoice due date in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any


def iso_day(value: Any) -> date | None:
    """The day ``value`` names; None when it is absent, not text or not a date (Odoo
    answers ``false`` for an empty date field)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def day_after(start: Any, days: Any) -> date | None:
    """``start`` plus ``days`` whole days (FreshBooks: ``create_date`` + ``due_offset_days``);
    None when either is missing or malformed."""
    first = iso_day(start)
    if first is None or isinstance(days, bool):
        return None
    try:
        return first + timedelta(days=int(days))
    except (TypeError, ValueError):
        return None


def iso_moment(value: Any) -> datetime | None:
    """The moment an ISO 8601 text names, one without an offset taken as UTC; None when it
    is absent, empty, not text or not a moment."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
