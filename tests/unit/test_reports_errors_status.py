"""`syncledger errors` and `status` show open mismatches (issue 12, issue 16): per ledger,
each with its type, source ref → ledger ref, expected vs ledger value, how long it has
been open and a one-line fix; `status` says ``N open mismatches on <ledger>``. Real
reconciler runs through the in-memory store, folded into SQLite read models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.pipeline import errors_report, reconcile_exit_code
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import Expected, Reconciler
from syncledger.core.report_mismatches import age, status_lines
from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all
from tests.unit.test_reports_mismatch_events import ENTITY, _book


async def _models(
    book: tuple[list[Expected], dict[str, LedgerRecord]],
) -> tuple[ReadModels, int]:
    expected, held = book
    store = MemoryEventStore()
    engine = make_engine("sqlite://")
    create_all(engine)
    report = await Reconciler(store, MemoryLedger(records=held), entity=ENTITY, actor="t").run(
        expected, {}
    )
    await ProjectionRunner(engine, store).catch_up()
    return ReadModels(engine), reconcile_exit_code(report)


def _block(text: str, start: str) -> list[str]:
    """The mismatch line starting with ``start`` and its fix line."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(start))
    return [lines[at].strip(), lines[at + 1].strip()]


async def test_errors_lists_each_open_mismatch_with_what_differs_its_age_and_fix() -> None:
    models, code = await _models(_book())
    later = datetime.now(UTC) + timedelta(hours=3, minutes=5)
    text = errors_report(models, ENTITY, now=later)
    assert code == 1
    assert "8 open mismatches on memory:" in text
    amount, fix = _block(text, "amount_mismatch")
    assert amount.startswith(
        "amount_mismatch csv/invoice/amt → L-amt: expected 110.00, ledger has 99.00 (open 3 h "
    )
    assert fix == (
        "fix: correct L-amt in the ledger to 110.00 (the source's figure); if the ledger's "
        "99.00 is right, correct the source record and import it again"
    )
    assert _block(text, "missing_in_ledger")[1] == (
        "fix: the ledger no longer holds L-gone: re-push it with "
        "`syncledger retry csv/invoice/gone` (or restore it in the ledger)"
    )
    assert "void it in the ledger" in _block(text, "orphan_in_ledger csv/invoice/lost")[1]
    assert "tax 8.25, the source 10" in _block(text, "tax_mismatch")[1]
    assert "void L-cur in the ledger and re-push" in _block(text, "currency_mismatch")[1]
    dup, dup_fix = _block(text, "duplicate_in_ledger")
    assert dup.startswith("duplicate_in_ledger csv/invoice/dup → L-dup1,L-dup2: 2 copies")
    assert dup_fix == "fix: void the extra copies in the ledger (L-dup2); keep L-dup1"
    app, app_fix = _block(text, "application_mismatch")
    assert "expected 20.00 applied to L-ok, ledger has 0.00 applied to L-ok" in app
    assert app_fix.startswith("fix: apply the payment/credit in the ledger")


async def test_status_counts_open_mismatches_per_ledger_and_clean_books_say_nothing() -> None:
    models, _ = await _models(_book())
    assert status_lines(models.open_mismatches(ENTITY)) == [
        "8 open mismatches on memory (`syncledger errors` says what to fix)"
    ]
    expected, held = _book()
    clean = ([e for e in expected if e.source_ref == "csv/invoice/ok"], {"L-ok": held["L-ok"]})
    models, code = await _models(clean)
    assert code == 0
    assert status_lines(models.open_mismatches(ENTITY)) == []
    assert errors_report(models, ENTITY) == "no open errors"


def test_age_reads_in_the_two_largest_units() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert age(now - timedelta(days=3, hours=4, minutes=9), now) == "3 d 4 h"
    assert age(now - timedelta(minutes=59, seconds=30), now) == "59 min"
    assert age(now - timedelta(seconds=20), now) == "< 1 min"
    assert age(None, now) == "since an unknown time"


def test_one_open_mismatch_is_singular() -> None:
    from syncledger.projections.queries import MismatchView

    m = MismatchView(
        ENTITY, "qbo", "k", "amount_mismatch", "a", "b", "1", "2", "open", "r", None, 1, 1
    )
    assert status_lines([m]) == ["1 open mismatch on qbo (`syncledger errors` says what to fix)"]
