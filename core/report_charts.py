"""The reports' charts: matplotlib on its Agg backend, drawn to SVG text that the HTML
embeds inline, so a report opens offline and loads nothing (no fonts, scripts or images
from anywhere: glyphs are drawn as paths, and the SVG's metadata block is dropped).

matplotlib is imported when a chart is drawn, never at import time.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from syncledger.core.reports import MoneyRow, Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_SIZE = (7.5, 3.2)


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, layout="constrained")  # no pyplot: no global state
    return fig, fig.add_subplot()


def _svg(fig: Figure) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "syncledger"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1))


def _draw(paint: Callable[[Axes], None]) -> str:
    fig, ax = _figure()
    paint(ax)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def _days(report: Report) -> list[str]:
    return [d.day.strftime("%m-%d") for d in report.days]


def _ticks(ax: Axes, labels: list[str]) -> None:
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)


def mismatches(report: Report) -> str:
    """Mismatches opened and closed per day, and how many were open at the day's end."""

    def paint(ax: Axes) -> None:
        rows, x = report.mismatch_days, range(len(report.mismatch_days))
        ax.bar([i - 0.2 for i in x], [d.opened for d in rows], 0.4, label="opened", color="#c0392b")
        ax.bar([i + 0.2 for i in x], [d.closed for d in rows], 0.4, label="closed", color="#27ae60")
        ax.plot(list(x), [d.open_at_end for d in rows], color="#2c3e50", marker=".", label="open")
        _ticks(ax, [d.day.strftime("%m-%d") for d in rows])
        ax.set_title("Mismatches opened / closed per day")
        ax.legend(fontsize=7)

    return _draw(paint)


def accounts_receivable(report: Report) -> str:
    """AR per customer and currency: the source's view beside the ledger's."""
    rows: list[MoneyRow] = sorted(report.ar, key=lambda r: -abs(r.source))[:20]

    def paint(ax: Axes) -> None:
        x = range(len(rows))
        ax.bar([i - 0.2 for i in x], [float(r.source) for r in rows], 0.4, label="source")
        ax.bar([i + 0.2 for i in x], [float(r.ledger) for r in rows], 0.4, label="ledger")
        _ticks(ax, [f"{r.name[:18]} ({r.currency})" for r in rows])
        ax.set_title("Accounts receivable by customer at period end (largest 20)")
        ax.legend(fontsize=7)

    return _draw(paint)


def volume(report: Report) -> str:
    """Documents synced per day, and rejections stacked by reason code."""
    reasons = sorted({code for d in report.days for code in d.by_reason})

    def paint(ax: Axes) -> None:
        x = list(range(len(report.days)))
        ax.bar(x, [d.synced for d in report.days], 0.8, label="synced", color="#2980b9")
        bottom = [d.synced for d in report.days]
        for code in reasons:
            heights = [d.by_reason.get(code, 0) for d in report.days]
            ax.bar(x, heights, 0.8, bottom=bottom, label=f"rejected: {code}")
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        _ticks(ax, _days(report))
        ax.set_title("Documents synced and rejected per day (by document date)")
        ax.legend(fontsize=6)

    return _draw(paint)


def latency(report: Report) -> str:
    """Sync latency per day: p50 and p95, seconds."""

    def paint(ax: Axes) -> None:
        x = list(range(len(report.days)))
        for label, values in (
            ("p50", [d.latency_p50_s for d in report.days]),
            ("p95", [d.latency_p95_s for d in report.days]),
        ):
            ax.plot(x, [float("nan") if v is None else v for v in values], marker="o", label=label)
        _ticks(ax, _days(report))
        ax.set_ylabel("seconds")
        ax.set_title("Sync latency (source observed → ledger push succeeded)")
        ax.legend(fontsize=7)

    return _draw(paint)


def dso(report: Report) -> str:
    """DSO per month and currency."""
    months = sorted({d.label for d in report.dso})
    currencies = sorted({d.currency for d in report.dso})

    def paint(ax: Axes) -> None:
        for cur in currencies:
            by_month = {d.label: d.days_outstanding for d in report.dso if d.currency == cur}
            values = [by_month.get(m) for m in months]
            ax.plot(months, [float("nan") if v is None else float(v) for v in values],
                    marker="o", label=cur)  # fmt: skip
        ax.set_ylabel("days")
        ax.set_title("DSO by month (AR at month end / credit sales × days)")
        ax.legend(fontsize=7)

    return _draw(paint)
