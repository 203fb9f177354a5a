"""Business dates: which fiscal period a record belongs to, by its document's date.

A ``period:`` scope (holds, exports, retention) means the documents' fiscal period, not the
time syncledger saw an event: ``period:2024`` is the fiscal year that *ends* in 2024 for
the entity (with a June year end: 1 July 2023 – 30 June 2024), ``period:2024-03`` the
calendar month March 2024. A document's date is its ``issue_date`` (invoices, credit
notes: ``core/model.py``) as the latest observed version of the record states it. Records
without a document date (customers) are placed by their documents; an event about no
document falls back to the day it happened.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from syncledger.audit.index import LoggedEvent, LogIndex, SubjectKey
from syncledger.core.events import SourceRecordObserved

_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def fiscal_year_end(moment: date, end_month: int) -> date:
    """The last day of the fiscal year that contains ``moment``."""
    year = moment.year if moment.month <= end_month else moment.year + 1
    return month_end(year, end_month)


def in_period(period: str, day: date, end_month: int) -> bool:
    """``yyyy``: the fiscal year ending in yyyy; ``yyyy-mm``: that calendar month."""
    match = _PERIOD.match(period)
    if match is None:
        return False
    year, month = int(match.group(1)), match.group(2)
    if month is not None:
        return (day.year, day.month) == (year, int(month))
    return fiscal_year_end(day, end_month).year == year


def _document_date(record: dict[str, object]) -> date | None:
    value = record.get("issue_date")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass
class DocumentDates:
    """Each record's document date, and each data subject's documents' dates."""

    of_ref: dict[tuple[str, str], date] = field(default_factory=dict)
    of_subject: dict[SubjectKey, set[date]] = field(default_factory=dict)

    @classmethod
    def of(cls, index: LogIndex) -> DocumentDates:
        dates = cls()
        for ev, observed in index.of_class(SourceRecordObserved):
            day = _document_date(observed.record)
            if day is not None:
                dates.of_ref[(ev.entity, observed.ref)] = day
        for ev in index.events:
            day = dates.of_event(ev)
            if day is not None and ev.subject is not None:
                dates.of_subject.setdefault(ev.subject, set()).add(day)
        return dates

    def of_event(self, ev: LoggedEvent) -> date | None:
        """The document date of the record ``ev`` is about (None: not about a document)."""
        return self.of_ref.get((ev.entity, ev.ref)) if ev.ref else None

    def business_day(self, ev: LoggedEvent) -> date:
        """The document date, or the day the event happened when it is about none."""
        return self.of_event(ev) or ev.occurred_at.date()

    def subject_days(self, subject: SubjectKey, events: Iterable[LoggedEvent]) -> set[date]:
        """The subject's documents' dates; a subject without documents: its activity."""
        days = self.of_subject.get(subject)
        return set(days) if days else {ev.occurred_at.date() for ev in events}
