"""A report as one self-contained HTML page: headline first, then the tables and the
charts (inline SVG from :mod:`syncledger.core.report_charts`), styles inline. Nothing in
it loads from the network; every value is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC
from html import escape

from syncledger.core import report_charts
from syncledger.core.reports import LEDGER_VIEW_NOTE, MoneyRow, Report, as_json

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.6em}.ok{color:#1e7e34}.bad{color:#b02a37}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:.25em .6em;font-size:.9em}th{background:#f3f3f3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555;font-size:.85em}
figure{margin:1em 0}
"""


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = (
        "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
        or f'<tr><td colspan="{len(head)}">none</td></tr>'
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    numeric = isinstance(value, int | float) or text.replace(".", "", 1).lstrip("-").isdigit()
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _money_rows(rows: Iterable[MoneyRow]) -> list[list[object]]:
    return [[r.name, r.currency, r.source, r.ledger, r.difference] for r in rows]


def _figure(title: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>"


def _sections(report: Report) -> list[str]:
    data = as_json(report)
    docs = data["documents"]
    out = [
        "<h2>Documents in the period (by document date)</h2>",
        _table(("kind", "synced", "rejected", "pending"),
               [[k, v["synced"], v["rejected"], v["pending"]] for k, v in docs.items()]),
        "<h2>Rejections by reason code</h2>",
        _table(("reason code", "documents"), list(data["rejections_by_reason"].items())),
        "<h2>Open mismatches</h2>",
        _table(("type", "source ref", "ledger ref", "expected", "ledger has", "document date",
                "open since", "open for"),
               [[m["type"], m["source_ref"], m["ledger_ref"], m["expected"], m["actual"],
                 m["document_date"], m["opened_at"], m["open_for"]]
                for m in data["open_mismatches"]]),
        _figure("Mismatches over time", report_charts.mismatches(report)),
        "<h2>Source vs ledger totals (documents dated in the period)</h2>",
        _table(("kind", "currency", "source", "ledger", "difference"), _money_rows(report.totals)),
        "<h2>Accounts receivable by customer at period end</h2>",
        f'<p class="note">Ledger view: {escape(LEDGER_VIEW_NOTE)}.</p>',
        _table(("customer", "currency", "source", "ledger", "difference"), _money_rows(report.ar)),
        _figure("AR by customer: source vs ledger", report_charts.accounts_receivable(report)),
        "<h2>Volume, errors and latency per day</h2>",
        _table(("day", "synced", "rejected", "pending", "latency p50 (s)", "latency p95 (s)"),
               [[d["day"], d["synced"], d["rejected"], d["pending"], _secs(d["latency_p50_s"]),
                 _secs(d["latency_p95_s"])] for d in data["per_day"]]),
        _figure("Synced volume and errors per day", report_charts.volume(report)),
        _figure("Sync latency", report_charts.latency(report)),
    ]  # fmt: skip
    if report.period.kind == "monthly":
        out += [
            "<h2>DSO</h2>",
            _table(("month", "currency", "AR at end", "credit sales", "days", "DSO (days)"),
                   [[d["month"], d["currency"], d["ar_at_end"], d["credit_sales"], d["days"],
                     d["dso_days"]] for d in data["dso"]]),
            _figure("DSO", report_charts.dso(report)),
        ]  # fmt: skip
    return out


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def as_html(report: Report) -> str:
    p = report.period
    title = f"{'Daily comparison' if p.kind == 'daily' else 'Monthly reconciliation'} {p.label}"
    state = "ok" if not report.open_mismatches else "bad"
    generated = report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} — {escape(report.entity)}/{escape(report.ledger)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f'<h1 class="{state}">{escape(report.headline)}</h1>'
        f"<p>{escape(title)}: entity {escape(report.entity)}, ledger {escape(report.ledger)}, "
        f"{p.start.isoformat()} to {p.end.isoformat()}; generated {generated}.</p>"
    )
    return head + "\n".join(_sections(report)) + "</body></html>\n"
