"""The daily comparison report and the monthly reconciliation report (DESIGN §10, issue 12):
per entity and ledger, by document date (the fiscal period), headline first.

Built from the facts of :mod:`syncledger.core.report_facts` (one pass over the log);
rendered as JSON and CSV here and as HTML with inline charts by
:mod:`syncledger.core.report_html`. Money stays :class:`~decimal.Decimal` with its
currency, one row per currency, never converted. ``docs/reports.md`` defines each figure.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from syncledger.core.errors import ConfigurationError
from syncledger.core.report_facts import (
    DOCUMENT_KINDS,
    PENDING,
    REJECTED,
    SYNCED,
    Facts,
    MismatchFact,
    RecordFact,
)
from syncledger.core.report_mismatches import age, plural

Kind = Literal["daily", "monthly"]
#: the days before a daily report's date its per-day charts show, for context
DAILY_WINDOW = 14
#: the months a monthly report's DSO chart shows, ending with its own
DSO_MONTHS = 6
#: AR: what each kind does to the customer's balance (a refund pays credit back)
_AR_SIGN = {"invoice": 1, "credit_note": -1, "payment": -1, "refund": 1}


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    start: date
    end: date  # inclusive
    label: str  # 2026-12-06 | 2026-11

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def window_start(self) -> date:
        """The first day of the per-day charts."""
        if self.kind == "daily":
            return self.end - timedelta(days=DAILY_WINDOW - 1)
        return self.start

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def daily(day: date) -> Period:
    return Period("daily", day, day, day.isoformat())


def monthly(year: int, month: int) -> Period:
    start = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return Period("monthly", start, after - timedelta(days=1), f"{year:04d}-{month:02d}")


def parse_day(text: str | None, today: date) -> Period:
    """``--date YYYY-MM-DD`` (default: yesterday, the last whole day)."""
    if text is None:
        return daily(today - timedelta(days=1))
    try:
        return daily(date.fromisoformat(text))
    except ValueError:
        raise ConfigurationError(f"--date {text!r} is not a date: give YYYY-MM-DD") from None


def parse_month(text: str | None, today: date) -> Period:
    """``--period YYYY-MM`` (default: the last whole month)."""
    if text is None:
        last = today.replace(day=1) - timedelta(days=1)
        return monthly(last.year, last.month)
    try:
        year, month = (int(part) for part in text.split("-"))
        return monthly(year, month)
    except ValueError:
        raise ConfigurationError(f"--period {text!r} is not a month: give YYYY-MM") from None


@dataclass(frozen=True, slots=True)
class MoneyRow:
    """One figure per currency, the source's and the ledger's."""

    label: str  # a kind, or a customer ref
    name: str  # what a person reads (the kind; the customer's name)
    currency: str
    source: Decimal
    ledger: Decimal

    @property
    def difference(self) -> Decimal:
        return self.source - self.ledger


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    synced: int
    rejected: int
    pending: int
    by_reason: dict[str, int]
    latency_p50_s: float | None
    latency_p95_s: float | None


@dataclass(frozen=True, slots=True)
class MismatchDay:
    day: date
    opened: int
    closed: int
    open_at_end: int


@dataclass(frozen=True, slots=True)
class Dso:
    """Days sales outstanding in one currency (``docs/reports.md``)."""

    label: str  # the month
    currency: str
    ar: Decimal
    credit_sales: Decimal
    days: int

    @property
    def days_outstanding(self) -> Decimal | None:
        if self.credit_sales == 0:
            return None
        return (self.ar / self.credit_sales * self.days).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class Report:
    entity: str
    ledger: str
    period: Period
    generated_at: datetime
    records: tuple[RecordFact, ...]  # documents dated in the period
    open_mismatches: tuple[MismatchFact, ...]
    totals: tuple[MoneyRow, ...]
    ar: tuple[MoneyRow, ...]
    days: tuple[DayRow, ...]
    mismatch_days: tuple[MismatchDay, ...]
    dso: tuple[Dso, ...]  # monthly: this month's and the ones before, per currency
    doc_dates: dict[str, date | None]  # source ref -> document date (for mismatches)

    @property
    def name(self) -> str:
        return f"{self.period.kind}-{self.period.label}"

    @property
    def headline(self) -> str:
        if not self.open_mismatches:
            return "0 mismatches"
        oldest = self.open_mismatches[0].opened_at
        return (
            f"{plural(len(self.open_mismatches), 'open mismatch', 'open mismatches')}, "
            f"oldest open since {oldest.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
            f"({age(oldest, self.generated_at)})"
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Documents in the period by kind and status (a voided document that was never
        pushed has nothing to sync: it is in none)."""
        counted = Counter(
            (r.kind, r.status) for r in self.records if not (r.void and r.status == PENDING)
        )
        return {
            kind: {s: counted[(kind, s)] for s in (SYNCED, REJECTED, PENDING)}
            for kind in DOCUMENT_KINDS
        }

    def rejections(self) -> dict[str, int]:
        codes = Counter(c for r in self.records if r.status == REJECTED for c in r.reasons)
        return dict(sorted(codes.items()))

    def month_dso(self) -> list[Dso]:
        return [d for d in self.dso if d.label == self.period.label]


def build(
    facts: Facts, entity: str, ledger: str, period: Period, now: datetime | None = None
) -> Report:
    now = now or datetime.now(UTC)
    in_period = tuple(r for r in facts.records if period.holds(r.document_date))
    return Report(
        entity, ledger, period, now, in_period, tuple(facts.open_mismatches()),
        tuple(_totals(in_period)), tuple(_ar(facts, period.end)),
        tuple(_days(facts.records, period)), tuple(_mismatch_days(facts, period)),
        tuple(_dso_trend(facts, period)) if period.kind == "monthly" else (),
        {r.ref: r.document_date for r in facts.records},
    )  # fmt: skip


def _sum_rows(
    keyed: Iterable[tuple[tuple[str, str, str], Decimal, Decimal]],
) -> list[MoneyRow]:
    source: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    held: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for key, ours, theirs in keyed:
        source[key] += ours
        held[key] += theirs
    return [MoneyRow(k[0], k[1], k[2], source[k], held[k]) for k in sorted(source)]


def _totals(records: Iterable[RecordFact]) -> list[MoneyRow]:
    """Source vs ledger totals of the period's documents, per kind and currency."""
    return _sum_rows(
        ((r.kind, r.kind, r.currency or "?"), r.amount or Decimal(0), r.ledger_amount or Decimal(0))
        for r in records
        if r.counts
    )


def _ar(facts: Facts, end: date) -> list[MoneyRow]:
    """Accounts receivable at ``end`` per customer and currency: source vs ledger view."""
    rows = _sum_rows(
        (
            (
                r.customer_ref,
                facts.customer_names.get(r.customer_ref, r.customer_ref),
                r.currency or "?",
            ),
            _AR_SIGN[r.kind] * (r.amount or Decimal(0)),
            _AR_SIGN[r.kind] * (r.ledger_amount or Decimal(0)),
        )
        for r in facts.records
        if r.counts and r.customer_ref and r.document_date is not None and r.document_date <= end
    )
    return [r for r in rows if r.source or r.ledger]


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _each_day(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _days(records: Iterable[RecordFact], period: Period) -> list[DayRow]:
    by_day: dict[date, list[RecordFact]] = defaultdict(list)
    for r in records:
        if r.document_date is not None:
            by_day[r.document_date].append(r)
    return [_day(day, by_day.get(day, [])) for day in _each_day(period.window_start, period.end)]


def _day(day: date, records: list[RecordFact]) -> DayRow:
    status = Counter(r.status for r in records)
    reasons = Counter(c for r in records if r.status == REJECTED for c in r.reasons)
    latencies = [s for s in (r.latency_s for r in records) if s is not None]
    return DayRow(
        day, status[SYNCED], status[REJECTED], status[PENDING], dict(sorted(reasons.items())),
        _percentile(latencies, 0.5), _percentile(latencies, 0.95),
    )  # fmt: skip


def _mismatch_days(facts: Facts, period: Period) -> list[MismatchDay]:
    """Mismatches opened and closed each day (when the reconciler saw it), and how many
    were open at the end of the day."""
    out = []
    for day in _each_day(period.window_start, period.end):
        opened = sum(1 for m in facts.mismatches if m.opened_at.date() == day)
        closed = sum(1 for m in facts.mismatches if m.closed_at and m.closed_at.date() == day)
        still = sum(
            1
            for m in facts.mismatches
            if m.opened_at.date() <= day and (m.closed_at is None or m.closed_at.date() > day)
        )
        out.append(MismatchDay(day, opened, closed, still))
    return out


def _dso_trend(facts: Facts, period: Period) -> list[Dso]:
    months = [period]
    for _ in range(DSO_MONTHS - 1):
        before = months[0].start - timedelta(days=1)
        months.insert(0, monthly(before.year, before.month))
    return [row for month in months for row in _dso(facts, month)]


def _dso(facts: Facts, month: Period) -> list[Dso]:
    ar: dict[str, Decimal] = defaultdict(Decimal)
    for row in _ar(facts, month.end):
        ar[row.currency] += row.source
    sales: dict[str, Decimal] = defaultdict(Decimal)
    for r in facts.records:
        if r.kind == "invoice" and r.counts and month.holds(r.document_date):
            sales[r.currency or "?"] += r.amount or Decimal(0)
    return [
        Dso(month.label, cur, ar[cur], sales[cur], month.days)
        for cur in sorted(set(ar) | set(sales))
    ]


# --------------------------------------------------------------------------- JSON, CSV


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def as_json(report: Report) -> dict[str, Any]:
    """One object, stable keys, amounts as strings."""
    p = report.period
    return {
        "report": p.kind,
        "entity": report.entity,
        "ledger": report.ledger,
        "period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
        "generated_at": _moment(report.generated_at),
        "headline": report.headline,
        "documents": report.counts(),
        "rejections_by_reason": report.rejections(),
        "open_mismatches": [_mismatch_json(report, m) for m in report.open_mismatches],
        "totals": [_money_json(r, "kind") for r in report.totals],
        "accounts_receivable": [_money_json(r, "customer_ref") for r in report.ar],
        "ledger_view": LEDGER_VIEW_NOTE,
        "per_day": [_day_json(d) for d in report.days],
        "mismatches_per_day": [_mismatch_day_json(d) for d in report.mismatch_days],
        "dso": [_dso_json(d) for d in report.dso] if p.kind == "monthly" else None,
    }


LEDGER_VIEW_NOTE = (
    "ledger amounts are what the log saw of the ledger, without new ledger calls: the "
    "value an open amount mismatch reported, nothing while a record is missing from the "
    "ledger, else what back-sync last observed, else the total the push wrote; records "
    "only in the ledger (orphans, entries made there) are not included"
)


def _mismatch_day_json(d: MismatchDay) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        "opened": d.opened,
        "closed": d.closed,
        "open_at_end": d.open_at_end,
    }


def _mismatch_json(report: Report, m: MismatchFact) -> dict[str, Any]:
    doc = report.doc_dates.get(m.source_ref or "")
    return {
        "type": m.mismatch_type, "source_ref": m.source_ref, "ledger_ref": m.ledger_ref,
        "expected": m.expected, "actual": m.actual, "opened_at": _moment(m.opened_at),
        "open_for": age(m.opened_at, report.generated_at),
        "document_date": doc.isoformat() if doc else None,
    }  # fmt: skip


def _money_json(row: MoneyRow, label: str) -> dict[str, Any]:
    return {
        label: row.label, "name": row.name, "currency": row.currency,
        "source": _money(row.source), "ledger": _money(row.ledger),
        "difference": _money(row.difference),
    }  # fmt: skip


def _day_json(d: DayRow) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(), "synced": d.synced, "rejected": d.rejected,
        "pending": d.pending, "rejected_by_reason": d.by_reason,
        "latency_p50_s": d.latency_p50_s, "latency_p95_s": d.latency_p95_s,
    }  # fmt: skip


def _dso_json(d: Dso) -> dict[str, Any]:
    dso = d.days_outstanding
    return {
        "month": d.label, "currency": d.currency, "ar_at_end": _money(d.ar),
        "credit_sales": _money(d.credit_sales), "days": d.days,
        "dso_days": None if dso is None else format(dso, "f"),
    }  # fmt: skip


CSV_COLUMNS = (
    "fact", "source_ref", "kind", "document_date", "customer_ref", "currency",
    "source_amount", "ledger_ref", "ledger_amount", "status", "reasons", "observed_at",
    "pushed_at", "latency_s", "mismatch_type", "expected", "actual", "opened_at",
)  # fmt: skip


def as_csv(report: Report) -> str:
    """One row per record-level fact: each document of the period, each open mismatch."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in report.records:
        latency = r.latency_s
        writer.writerow({
            "fact": "document", "source_ref": r.ref, "kind": r.kind,
            "document_date": r.document_date, "customer_ref": r.customer_ref,
            "currency": r.currency, "source_amount": _money(r.amount),
            "ledger_ref": r.ledger_ref, "ledger_amount": _money(r.ledger_amount),
            "status": "void" if r.void else r.status, "reasons": " ".join(r.reasons),
            "observed_at": _moment(r.observed_at), "pushed_at": _moment(r.pushed_at),
            "latency_s": None if latency is None else f"{latency:.3f}",
        })  # fmt: skip
    for m in report.open_mismatches:
        doc = report.doc_dates.get(m.source_ref or "")
        writer.writerow({
            "fact": "open_mismatch", "source_ref": m.source_ref, "ledger_ref": m.ledger_ref,
            "document_date": doc, "status": "open", "mismatch_type": m.mismatch_type,
            "expected": m.expected, "actual": m.actual, "opened_at": _moment(m.opened_at),
        })  # fmt: skip
    return out.getvalue()


# --------------------------------------------------------------------------- files


def report_dir(data_dir: Path, entity: str, ledger: str) -> Path:
    return data_dir / "reports" / entity / ledger


def write(report: Report, folder: Path) -> list[Path]:
    """The three artefacts, each written whole or not at all (a temporary file renamed)."""
    from syncledger.core.report_html import as_html

    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "html": as_html(report),
        "csv": as_csv(report),
        "json": json.dumps(as_json(report), sort_keys=True, indent=2, ensure_ascii=False) + "\n",
    }
    paths = []
    for ext, text in texts.items():
        path = folder / f"{report.name}.{ext}"
        scratch = path.with_name(f".{path.name}.tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)
        paths.append(path)
    return paths
