"""Reconciliation of a 100,000-invoice book: a full sweep vs a routine (incremental) run.

The book is the in-memory ledger read the way Xero's API is read (PLATFORMS.md, Xero):
pages of up to 100 records, one request per page and kind, the delta through
``If-Modified-Since`` (one request per kind when under 100 records changed). Requests are
counted, never slept for: Xero allows 60 a minute and 5,000 a day per tenant, so the
figures are requests and how much of those allowances they take. The reconciler, its
mirror (a real SQLite file) and the comparison are the real ones; the log side is given
as the expected records (building them from a log of this size is not what is measured).

1. **raw baseline**: reading every page of the book, nothing else;
2. **full**: ``Reconciler.run(full=True)`` — every page read, the whole book compared,
   the mirror rewritten;
3. **incremental**: 100 invoice totals edited by hand in the ledger, then a routine run —
   the delta read, only the records touched compared (100 ``amount_mismatch`` found).

Prints one line per run (wall time, ledger requests, Xero minutes / share of the day) and
``ratio_incremental_vs_full_requests=`` last. Targets (issue 12): full < 60 s
unthrottled; incremental <= 5 requests and < 2 s. One Xero caveat: its adapter reads
payments from two collections (Payments, Overpayments), so a real Xero delta read costs
one request more than this book's one-per-kind.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import KINDS, Expected, Reconciler, ReconReport
from syncledger.core.reconcile_mirror import LedgerMirror, open_mirror_engine
from syncledger.core.store_memory import MemoryEventStore

PAGE = 100
PER_MINUTE, PER_DAY = 60, 5_000  # Xero, per tenant
CUSTOMERS = 1_000


@dataclass
class XeroPagedBook(MemoryLedger):
    """The memory ledger, counting the requests Xero's paged reads would take."""

    requests: int = 0

    def _pages(self, n: int) -> None:
        self.requests += max(1, -(-n // PAGE))

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        found = [r for r in self.records.values() if r.kind == kind]
        self._pages(len(found))
        for rec in found:
            yield rec

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Kind by kind, as Xero's ``If-Modified-Since`` reads (the server's side of the
        filter is one pass here, so the wall time is the reconciler's)."""
        changed: dict[str, list[LedgerRecord]] = {kind: [] for kind in KINDS}
        for rec in self.records.values():
            if rec.updated_at is not None and rec.updated_at > since:
                changed[rec.kind].append(rec)
        for found in changed.values():
            self._pages(len(found))
            for rec in found:
                yield rec


def book(invoices: int) -> tuple[XeroPagedBook, list[Expected]]:
    ledger, expected = XeroPagedBook(ledger="xero"), []
    stamped = datetime.now(UTC) - timedelta(days=1)
    for c in range(CUSTOMERS):
        ref = f"csv/customer/c{c}"
        ledger.records[f"C{c}"] = LedgerRecord(
            "customer", f"C{c}", "1", ref, name=f"Customer {c}", updated_at=stamped
        )
        expected.append(Expected(ref, "customer", f"C{c}", None, None, name=f"Customer {c}"))
    for i in range(invoices):
        cust, ref, total = f"C{i % CUSTOMERS}", f"csv/invoice/i{i}", Decimal("118.50")
        ledger.records[f"I{i}"] = LedgerRecord(
            "invoice", f"I{i}", "1", ref, name=f"INV-{i}", customer_ledger_id=cust,
            currency="USD", total=total, tax=Decimal("18.50"), balance=total, status="open",
            updated_at=stamped, line_items=("SERVICE",),
        )  # fmt: skip
        expected.append(
            Expected(
                ref, "invoice", f"I{i}", total, "USD", tax=Decimal("18.50"), paid=Decimal(0),
                item_codes=("SERVICE",), customer_ref=f"csv/customer/c{i % CUSTOMERS}",
                customer_ledger_ref=cust,
            )
        )  # fmt: skip
    return ledger, expected


async def raw_read(ledger: XeroPagedBook) -> tuple[float, int]:
    ledger.requests = 0
    start = time.perf_counter()
    for kind in KINDS:
        async for _ in ledger.list_all(kind):
            pass
    return time.perf_counter() - start, ledger.requests


async def timed(
    recon: Reconciler, ledger: XeroPagedBook, expected: list[Expected], before: ReconReport | None
) -> tuple[float, int, ReconReport]:
    ledger.requests = 0
    open_before = {m.key: m for m in before.open} if before is not None else {}
    start = time.perf_counter()
    report = await recon.run(expected, open_before, full=before is None)
    return time.perf_counter() - start, ledger.requests, report


def line(name: str, seconds: float, requests: int, report: ReconReport | None = None) -> str:
    found = f" mode={report.mode} open={len(report.open)}" if report is not None else ""
    return (
        f"{name:<12} wall_s={seconds:7.2f} requests={requests:5d} "
        f"xero_minutes={requests / PER_MINUTE:6.2f} xero_day_share={requests / PER_DAY:6.1%}"
        f"{found}"
    )


async def main(invoices: int, changes: int) -> None:
    ledger, expected = book(invoices)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_mirror_engine(Path(tmp) / "mirror.sqlite")
        recon = Reconciler(
            MemoryEventStore(), ledger, entity="bench", actor="bench", mirror=LedgerMirror(engine)
        )
        raw_s, raw_n = await raw_read(ledger)
        print(line("raw_read", raw_s, raw_n))
        full_s, full_n, full = await timed(recon, ledger, expected, None)
        print(line("full", full_s, full_n, full))
        for i in range(changes):  # a total edited by hand in the ledger: an amount_mismatch
            rec = ledger.records[f"I{i}"]
            edited = (rec.total or Decimal(0)) - 1
            ledger.records[rec.ledger_id] = replace(
                rec, total=edited, balance=edited, version="2", updated_at=datetime.now(UTC)
            )
        inc_s, inc_n, inc = await timed(recon, ledger, expected, full)
        print(line("incremental", inc_s, inc_n, inc) + f" compared={inc.compared}")
        engine.dispose()
    print(f"invoices={invoices} changes={changes} full_vs_raw_time={full_s / raw_s:.1f}x")
    print(f"ratio_incremental_vs_full_requests={inc_n / full_n:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.invoices, args.changes))
