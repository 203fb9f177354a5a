"""The finance surface end to end (issue 12, issue 16): a real embedded nats-server, the
QBO sandbox book on disk and SQLite read models; records pushed by `sync --once`, then an
invoice's total changed in the sandbox book behind our back. `syncledger reconcile` exits
0 while the books agree and 1 (JSON exit_code 1) once they do not; `errors` and `status`
show the mismatch; `report daily` / `report monthly` write HTML with inline charts and
nothing from the network, CSV and JSON, by document date, headline first."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from html import escape
from pathlib import Path

import pytest

from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.ledgers import sandbox_book
from syncledger.core.pipeline import ingest_items, sync_once
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.projections import ReadModels, make_engine
from tests.support.records import customer, invoice, payment

pytestmark = [pytest.mark.integration]
ENTITY = "reports"
#: http(s) in an attribute that loads something, or in CSS (xmlns names are not loads)
NETWORK = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I
)


def _dated(item: SourceItem, day: str, **extra: str) -> SourceItem:
    if item.kind == "invoice":
        extra = {"issue_date": day, "due_date": "2026-12-31", **extra}
    else:
        extra = {"paid_on": day, **extra}
    return SourceItem(item.system, item.kind, item.id, item.version, {**item.fields, **extra})


def book() -> list[SourceItem]:
    """Two customers; three invoices on 2026-11-05 (one in EUR), one on 2026-11-06; a
    payment; one invoice the checks refuse (due before it was issued)."""
    return [
        customer("c1", "Acme Plumbing"),
        customer("c2", "Birch Electric", currency="EUR"),
        _dated(invoice("i1", "c1"), "2026-11-05"),
        _dated(invoice("i2", "c1", price="20.00", tax="0"), "2026-11-05"),
        _dated(invoice("i3", "c2", currency="EUR"), "2026-11-05", exchange_rate="1.10"),
        _dated(invoice("i4", "c1", qty="1", price="30.00", tax="0"), "2026-11-06"),
        _dated(
            invoice("i5", "c1", qty="1", price="5.00", tax="0"), "2026-11-05", due_date="2026-01-01"
        ),
        _dated(payment("p1", "i1", "c1", "50.00"), "2026-11-05"),
    ]


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cfg(nats: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cfg = Settings(data_dir=tmp_path_factory.mktemp("state"), nats_url=nats.url, entity=ENTITY)
    asyncio.run(_populate(cfg))
    return cfg


async def _populate(cfg: Settings) -> None:
    async def items() -> AsyncIterator[SourceItem]:
        for item in book():
            yield item

    async with open_runtime(cfg) as rt:
        await ingest_items(rt, items())
    await sync_once(cfg)


def cli(cfg: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_ENTITY": ENTITY,
    }
    return subprocess.run(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _tamper(cfg: Settings, source_ref: str, total: str) -> str:
    """The bookkeeper edits the invoice's total in the ledger; its ledger id."""
    engine = make_engine(cfg.projections_url)
    link = ReadModels(engine).link(ENTITY, source_ref, "qbo")
    engine.dispose()
    assert link is not None
    books = SandboxBook(sandbox_book(cfg.data_dir, "qbo"), realm_id="unused")
    try:
        held = books.get("Invoice", link.ledger_ref)
        assert held is not None
        books.put("Invoice", {**held, "TotalAmt": total, "Balance": total})
    finally:
        books.close()
    return link.ledger_ref


def test_reconcile_errors_status_and_reports(cfg: Settings) -> None:
    clean = cli(cfg, "reconcile", "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["exit_code"] == 0
    clean_day = cli(cfg, "report", "daily", "--date", "2026-11-05")
    assert clean_day.returncode == 0, clean_day.stderr
    assert clean_day.stdout.splitlines()[0] == "0 mismatches"

    ledger_ref = _tamper(cfg, "csv/invoice/i2", "35.00")
    found = cli(cfg, "reconcile", "--json")
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert report["exit_code"] == 1
    assert [(m["mismatch_type"], m["source_ref"], m["expected"], m["actual"])
            for m in report["open_mismatches"]] == [
        ("amount_mismatch", "csv/invoice/i2", "40.00", "35.00")
    ]  # fmt: skip
    text = cli(cfg, "reconcile")
    assert text.returncode == 1 and "amount_mismatch" in text.stdout

    errors = cli(cfg, "errors")
    assert "1 open mismatch on qbo:" in errors.stdout
    assert f"amount_mismatch csv/invoice/i2 → {ledger_ref}: expected 40.00, ledger has 35.00" in (
        errors.stdout
    )
    assert f"fix: correct {ledger_ref} in the ledger to 40.00" in errors.stdout
    status = cli(cfg, "status")
    assert "1 open mismatch on qbo" in status.stdout

    _daily(cfg, ledger_ref)
    _monthly(cfg)


def _artefacts(out: subprocess.CompletedProcess[str]) -> tuple[str, dict[str, Path]]:
    assert out.returncode == 0, out.stderr
    headline, *paths = out.stdout.splitlines()
    return headline, {Path(p).suffix: Path(p) for p in paths}


def _daily(cfg: Settings, ledger_ref: str) -> None:
    headline, files = _artefacts(cli(cfg, "report", "daily", "--date", "2026-11-05"))
    assert re.fullmatch(r"1 open mismatch, oldest open since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(.+\)",
                        headline)  # fmt: skip
    where = cfg.data_dir / "reports" / ENTITY / "qbo"
    assert files == {ext: where / f"daily-2026-11-05{ext}" for ext in (".html", ".csv", ".json")}
    data = json.loads(files[".json"].read_text())
    assert data["headline"] == headline and data["period"]["label"] == "2026-11-05"
    assert data["documents"]["invoice"] == {"synced": 3, "rejected": 1, "pending": 0}
    assert data["rejections_by_reason"] == {"due_before_issue": 1}
    assert data["documents"]["payment"] == {"synced": 1, "rejected": 0, "pending": 0}
    totals = {(t["kind"], t["currency"]): (t["source"], t["ledger"]) for t in data["totals"]}
    # 110 + 40 + 5 (refused: not in the ledger) vs 110 + 35
    assert totals[("invoice", "USD")] == ("155.00", "145.00")
    assert totals[("invoice", "EUR")] == ("110.00", "110.00")
    ar = {(a["customer_ref"], a["currency"]): a for a in data["accounts_receivable"]}
    acme = ar[("csv/customer/c1", "USD")]
    # at the end of 2026-11-05 (i4 is dated the day after): source 110 + 40 + 5 - 50;
    # ledger 110 + 35 - 50 (i5 was refused: it is not in the ledger)
    # the customer's name is personal data, sealed in the log: a report file (kept in the
    # data directory, where shredding cannot reach) names the customer by its reference
    assert (acme["name"], acme["source"], acme["ledger"]) == ("csv/customer/c1", "105.00", "95.00")
    (m,) = data["open_mismatches"]
    assert (m["type"], m["ledger_ref"], m["document_date"]) == ("amount_mismatch", ledger_ref,
                                                                 "2026-11-05")  # fmt: skip
    day = next(d for d in data["per_day"] if d["day"] == "2026-11-05")
    assert (day["synced"], day["rejected"]) == (4, 1) and day["latency_p50_s"] is not None
    assert day["latency_p50_s"] <= day["latency_p95_s"]
    assert data["dso"] is None

    rows = list(csv.DictReader(io.StringIO(files[".csv"].read_text())))
    docs = [r for r in rows if r["fact"] == "document"]
    assert sorted(r["source_ref"] for r in docs) == [
        "csv/invoice/i1", "csv/invoice/i2", "csv/invoice/i3", "csv/invoice/i5", "csv/payment/p1"
    ]  # fmt: skip
    i2 = next(r for r in docs if r["source_ref"] == "csv/invoice/i2")
    assert (i2["source_amount"], i2["ledger_amount"], i2["document_date"]) == (
        "40.00", "35.00", "2026-11-05",
    )  # fmt: skip
    assert [r["mismatch_type"] for r in rows if r["fact"] == "open_mismatch"] == ["amount_mismatch"]
    _offline_html(files[".html"], headline, charts=4)


def _monthly(cfg: Settings) -> None:
    headline, files = _artefacts(cli(cfg, "report", "monthly", "--period", "2026-11"))
    assert headline.startswith("1 open mismatch, oldest open since ")
    assert files[".json"].name == "monthly-2026-11.json"
    data = json.loads(files[".json"].read_text())
    assert data["documents"]["invoice"] == {"synced": 4, "rejected": 1, "pending": 0}
    (usd,) = [d for d in data["dso"] if d["month"] == "2026-11" and d["currency"] == "USD"]
    # AR at month end 110 + 40 + 30 + 5 - 50 = 135; credit sales 185; 30 days
    assert (usd["ar_at_end"], usd["credit_sales"], usd["days"]) == ("135.00", "185.00", 30)
    assert Decimal(usd["dso_days"]) == (Decimal(135) / Decimal(185) * 30).quantize(Decimal("0.1"))
    _offline_html(files[".html"], headline, charts=5)


def _offline_html(path: Path, headline: str, charts: int) -> None:
    html = path.read_text()
    assert html.index(
        f'<h1 class="{"ok" if headline == "0 mismatches" else "bad"}">{escape(headline)}</h1>'
    ) < html.index("<svg")  # headline first
    assert html.count("<svg") == charts
    assert NETWORK.search(html) is None
    assert "<script" not in html and "<link" not in html


def test_a_bad_date_is_a_usage_error(cfg: Settings) -> None:
    out = cli(cfg, "report", "daily", "--date", "06/12/2026")
    assert out.returncode == 2 and "is not a date: give YYYY-MM-DD" in out.stderr
