"""Invoice e-mails through the real QBO adapter and its sandbox, on a real nats-server:
the invoice whose source row says `send` is e-mailed once, however often sync runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from syncledger.adapters.qbo.sandbox.server import create_app, sandbox_of
from syncledger.core.ledgers import sandbox_book
from syncledger.core.pipeline import import_csv, sends_text, sync_once
from syncledger.core.settings import Settings

pytestmark = pytest.mark.integration
STAMP = "2026-01-02T00:00:00Z"


def folder(tmp_path: Path) -> Path:
    path = tmp_path / "export"
    path.mkdir()
    with (path / "customers.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "name", "currency", "email", "updated_at"])
        out.writerow(["C1", "Mailed Ltd", "USD", "accounts@mailed.example.com", STAMP])
    with (path / "invoices.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        head = ["id", "number", "customer_id", "issue_date", "currency", "total", "updated_at"]
        out.writerow([*head, "description", "quantity", "unit_price", "send"])
        for n, send in ((1, "true"), (2, "")):
            row = [f"I{n}", f"90{n}", "C1", "2026-01-02", "USD", "100.00", STAMP]
            out.writerow([*row, "Work", "1", "100.00", send])
    (path / "payments.csv").write_text(
        "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
    )
    return path


async def test_the_invoice_that_asks_is_emailed_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state", ledger="qbo", entity="mail")
    await import_csv(settings, folder(tmp_path))
    first = await sync_once(settings)
    second = await sync_once(settings)
    assert "1 invoice e-mail sent" in first
    assert "e-mails" not in second
    app = create_app(sandbox_book(settings.data_dir, "qbo"))
    try:
        book = sandbox_of(app)
        emailed = {r["DocNumber"]: book.emails_sent(r["Id"]) for r in book.records("invoice")}
    finally:
        book.close()
    assert [to for to, _ in emailed["901"]] == ["accounts@mailed.example.com"]
    assert emailed["902"] == []
    assert await sends_text(settings, ["csv/invoice/I1"]) == "csv/invoice/I1: e-mailed by qbo"
