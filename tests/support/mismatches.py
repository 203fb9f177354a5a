"""Books that disagree, for alert and report tests: a CSV export of invoices, and a
bookkeeper's edit of an invoice total in the QBO sandbox's book."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from syncledger.adapters.qbo.sandbox.server import create_app, sandbox_of
from syncledger.core.ledgers import sandbox_book

STAMP = "2026-01-02T00:00:00Z"


def invoice_export(folder: Path, totals: Sequence[str]) -> Path:
    """One customer and an invoice per total (numbers 701, 702, …), no payments."""
    folder.mkdir(parents=True)
    with (folder / "customers.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "name", "currency", "email", "updated_at"])
        out.writerow(["C1", "Alerted Ltd", "USD", "ap@alerted.example.com", STAMP])
    with (folder / "invoices.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                *("id", "number", "customer_id", "issue_date", "currency", "total"),
                *("updated_at", "description", "quantity", "unit_price"),
            ]
        )
        for n, total in enumerate(totals, start=1):
            head = [f"I{n}", str(700 + n), "C1", "2026-01-02", "USD", total, STAMP]
            out.writerow([*head, "Work", "1", total])
    (folder / "payments.csv").write_text(
        "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
    )
    return folder


def tamper_total(data_dir: Path, number: str, total: str) -> None:
    """A bookkeeper edits an invoice's amount in the (in-process) QBO sandbox's book."""
    book = sandbox_of(create_app(sandbox_book(data_dir, "qbo")))
    try:
        (record,) = [r for r in book.records("invoice") if r["DocNumber"] == number]
        book.book.put("invoice", {**record, "TotalAmt": Decimal(total)})
    finally:
        book.close()
