"""The reports' figures from a real log (in-memory store, the real sync worker on the
memory ledger, the real reconciler): document dates place records in periods, a voided
invoice counts nothing, a record missing from the ledger holds nothing there, mismatch
episodes open and close, latency percentiles, DSO, and the period arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from syncledger.core.errors import ConfigurationError
from syncledger.core.pipeline import expected_records
from syncledger.core.ports import LedgerRecord, SourceItem
from syncledger.core.reconcile import Mismatch, Reconciler
from syncledger.core.report_facts import read_facts
from syncledger.core.reports import as_csv, as_json, build, monthly, parse_day, parse_month
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all
from tests.support.records import customer, invoice, payment
from tests.unit.test_sync import ENTITY, Harness


def _on(item: SourceItem, day: str, **extra: str) -> SourceItem:
    key = "issue_date" if item.kind == "invoice" else "paid_on"
    fields = {
        **item.fields,
        key: day,
        **({"due_date": "2026-12-31"} if key == "issue_date" else {}),
        **extra,
    }
    return SourceItem(item.system, item.kind, item.id, item.version, fields)


async def _reconcile(h: Harness, models: ReadModels, runner: ProjectionRunner) -> None:
    await runner.catch_up()
    before = {
        m.key: Mismatch(m.key, m.mismatch_type, m.source_ref, m.ledger_ref, m.expected, m.actual)
        for m in models.open_mismatches(ENTITY, h.ledger.ledger)
    }
    expected = expected_records(models, ENTITY, h.ledger.ledger)
    await Reconciler(h.store, h.ledger, entity=ENTITY, actor="t").run(expected, before)
    await runner.catch_up()


async def test_figures_by_document_date() -> None:
    h = Harness()
    await h.ingest([
        customer("c1", "Acme"),
        _on(invoice("i1", "c1"), "2026-10-31"),  # 110.00, the month before
        _on(invoice("i2", "c1"), "2026-11-03"),
        _on(invoice("i3", "c1", qty="1", price="40.00", tax="0"), "2026-11-20"),
        _on(invoice("i4", "c1", qty="1", price="7.00", tax="0"), "2026-11-21", status="void"),
        _on(payment("p1", "i1", "c1", "60.00"), "2026-11-04"),
    ])  # fmt: skip
    await h.run()
    engine = make_engine("sqlite://")
    create_all(engine)
    models, runner = ReadModels(engine), ProjectionRunner(engine, h.store)
    await _reconcile(h, models, runner)
    gone = models.link(ENTITY, "csv/invoice/i3", "memory")
    assert gone is not None
    del h.ledger.records[gone.ledger_ref]  # deleted in the ledger behind our back
    await _reconcile(h, models, runner)

    facts = await read_facts(h.store, ENTITY, "memory")
    now = datetime.now(UTC)
    report = build(facts, ENTITY, "memory", monthly(2026, 11), now)
    data = as_json(report)

    assert report.headline.startswith("1 open mismatch, oldest open since ")
    assert [m["type"] for m in data["open_mismatches"]] == ["missing_in_ledger"]
    assert data["open_mismatches"][0]["document_date"] == "2026-11-20"
    assert data["documents"]["invoice"] == {"synced": 2, "rejected": 0, "pending": 0}  # i4 void
    totals = {(t["kind"], t["currency"]): t for t in data["totals"]}
    # i2 110 + i3 40 (i4 void counts nothing; i1 is October's); the ledger lost i3
    assert (totals[("invoice", "USD")]["source"], totals[("invoice", "USD")]["ledger"]) == (
        "150.00", "110.00",
    )  # fmt: skip
    (acme,) = data["accounts_receivable"]
    assert (acme["source"], acme["ledger"], acme["difference"]) == ("200.00", "160.00", "40.00")
    nov = next(d for d in data["dso"] if d["month"] == "2026-11")
    assert (nov["ar_at_end"], nov["credit_sales"], nov["dso_days"]) == ("200.00", "150.00", "40.0")
    oct_ = next(d for d in data["dso"] if d["month"] == "2026-10")
    assert (oct_["ar_at_end"], oct_["dso_days"]) == ("110.00", "31.0")
    # six months shown; those with neither AR nor sales have no row
    assert [d["month"] for d in data["dso"]] == ["2026-10", "2026-11"]
    day3 = next(d for d in data["per_day"] if d["day"] == "2026-11-03")
    assert day3["synced"] == 1 and 0 <= day3["latency_p50_s"] <= day3["latency_p95_s"]
    assert sum(d["opened"] for d in data["mismatches_per_day"]) == 0  # opened today, not in Nov
    csv_rows = as_csv(report).splitlines()
    assert csv_rows[0].startswith("fact,source_ref,kind,document_date")
    assert sum(row.startswith("document,") for row in csv_rows) == 4  # i2, i3, i4, p1
    assert any(row.startswith("document,csv/invoice/i4,") and ",void," in row for row in csv_rows)

    h.ledger.records[gone.ledger_ref] = _restored(gone.ledger_ref)
    await _reconcile(h, models, runner)
    later = build(await read_facts(h.store, ENTITY, "memory"), ENTITY, "memory",
                  parse_day(None, now.date() + timedelta(days=1)), now)  # fmt: skip
    assert later.headline == "0 mismatches"
    today = next(d for d in later.mismatch_days if d.day == now.date())
    assert (today.opened, today.closed, today.open_at_end) == (1, 1, 0)


def _restored(ledger_ref: str) -> LedgerRecord:
    """The bookkeeper restores the deleted invoice in the ledger."""
    return LedgerRecord(
        "invoice", ledger_ref, "2", "csv/invoice/i3", total=Decimal("40.00"), currency="USD"
    )


def test_periods() -> None:
    today = date(2026, 12, 7)
    assert parse_day(None, today).label == "2026-12-06"
    assert parse_month(None, today).label == "2026-11"
    jan = parse_month(None, date(2026, 1, 15))
    assert (jan.label, jan.start, jan.end, jan.days) == (
        "2025-12", date(2025, 12, 1), date(2025, 12, 31), 31,
    )  # fmt: skip
    assert monthly(2028, 2).days == 29
    with pytest.raises(ConfigurationError, match="give YYYY-MM-DD"):
        parse_day("06/12/2026", today)
    with pytest.raises(ConfigurationError, match="give YYYY-MM"):
        parse_month("2026-13", today)
