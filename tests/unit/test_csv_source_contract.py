"""The source contract on a CSV folder: the folder is the source, a person edits its files."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.sources.csv_source import CUSTOMERS, INVOICES, PAYMENTS, STATUS_FILE
from syncledger.adapters.sources.registry import SourceConnection, source
from syncledger.core.source_ports import (
    RecordHint,
    SourceReader,
    StatusUpdate,
    StatusWriter,
    WebhookRequest,
)
from tests.contracts.source_contract import SourceContract, SourceUnderTest


class CsvFolder:
    """A person keeping the folder: rows added, renamed and marked deleted by hand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows: dict[str, dict[str, str]] = {}
        for spec in (CUSTOMERS, INVOICES, PAYMENTS):
            (folder / spec.name).write_text(",".join(spec.required) + "\n")

    def _save(self) -> None:
        with (self.folder / CUSTOMERS.name).open("w", newline="") as fh:
            out = csv.DictWriter(fh, [*CUSTOMERS.required, "deleted"])
            out.writeheader()
            out.writerows(self.rows.values())

    async def put_customer(self, source_id: str | None, name: str) -> str:
        sid = source_id or f"c{len(self.rows) + 1}"
        stamp = f"2026-01-01T00:00:{len(self.rows):02d}+00:00"
        self.rows[sid] = {"id": sid, "name": name, "currency": "USD", "updated_at": stamp}
        self._save()
        return sid

    async def delete_customer(self, source_id: str) -> None:
        self.rows[source_id]["deleted"] = "true"
        self._save()

    async def make_invoice(self) -> str:
        return "csv/invoice/i1"

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        path = self.folder / STATUS_FILE
        if not path.exists():
            return {}
        with path.open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["source_ref"] == source_ref]
        return {k: v for k, v in rows[-1].items() if k != "written_at"} if rows else {}

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        return None


class TestCsvSource(SourceContract):
    delta = False

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        plat = source("csv")
        conn = SourceConnection(tmp_path / "tokens.json", directory=tmp_path)

        async def reopen() -> SourceReader:
            return plat.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, CsvFolder(tmp_path), reopen)
        finally:
            await reader.aclose()


async def test_the_status_file_says_what_each_column_is(tmp_path: Path) -> None:
    writer = source("csv").connect(SourceConnection(tmp_path / "t.json", directory=tmp_path))
    update = StatusUpdate(
        source_ref="csv/invoice/i9",
        ledger="xero",
        status="paid",
        currency="EUR",
        total=Decimal("10.00"),
        balance=Decimal("0.00"),
        ledger_number="INV-9",
        ledger_id="9",
        link=None,
        at=None,
    )
    assert isinstance(writer, StatusWriter)
    assert [o.result for o in await writer.write_back([update])] == ["written"] * 1
    with (tmp_path / STATUS_FILE).open(newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["ledger_number"] == "INV-9"
    assert row["amount_paid"] == "10.00"
    assert (row["ledger"], row["currency"], row["status"]) == ("xero", "EUR", "paid")
