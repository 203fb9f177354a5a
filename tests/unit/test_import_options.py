"""`syncledger import` options: ``--encoding`` (docs/csv.md) and ``--backfill --dry-run``
(writes nothing, predicts what the real run does, record by record)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncledger.adapters.memory import MemoryLedger
from syncledger.core import pipeline
from syncledger.core.bootstrap import open_runtime
from syncledger.core.cli import app
from syncledger.core.keystore import PiiSealer
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.mapping import Mapping
from syncledger.core.settings import Settings
from syncledger.core.subjects import entity_filter
from syncledger.core.sync_state import SyncState
from tests.unit.test_sync import ENTITY, Harness

PAYMENTS_HEADER = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
INVOICES_HEADER = (
    "id,number,customer_id,issue_date,currency,total,status,updated_at,"
    "description,quantity,unit_price\n"
)


def _folder(root: Path, customers: str, invoices: str = "", payments: str = "") -> Path:
    root.mkdir(parents=True)
    header = "id,name,email,currency,updated_at\n"
    (root / "customers.csv").write_text(header + customers, encoding="utf-8")
    (root / "invoices.csv").write_text(INVOICES_HEADER + invoices, encoding="utf-8")
    (root / "payments.csv").write_text(PAYMENTS_HEADER + payments, encoding="utf-8")
    return root


# ---------------------------------------------------------------------- --encoding

CP1252_CUSTOMERS = "id,name,currency,updated_at\nC-1,Café € Ltd,EUR,2024-01-01T00:00:00Z\n"


def _cp1252_folder(root: Path) -> Path:
    folder = _folder(root, "")
    (folder / "customers.csv").write_bytes(CP1252_CUSTOMERS.encode("cp1252"))
    assert "é".encode("cp1252") in (folder / "customers.csv").read_bytes()  # not UTF-8
    return folder


async def _names_in_log(settings: Settings) -> dict[str, object]:
    """Each customer's name as the log holds it (sealed: opened with its key)."""
    async with open_runtime(settings) as rt:
        sealer = PiiSealer(rt.keys)
        stored = [s.envelope() async for s in rt.store.read(entity_filter(ENTITY, "source"))]
        return {
            env.payload().ref: sealer.open(env.pii, env.id).get("name") if env.pii else None  # type: ignore[attr-defined]
            for env in stored
            if env.type == "SourceRecordObserved"
        }


async def test_import_reads_a_cp1252_file_given_its_encoding(tmp_path: Path) -> None:
    folder = _cp1252_folder(tmp_path / "export")
    settings = Settings(data_dir=tmp_path / "data", entity=ENTITY, ledger="qbo")
    report = await pipeline.import_csv(settings, folder, "cp1252")
    assert (report.observed, report.refused) == (1, 0)
    assert await _names_in_log(settings) == {"csv/customer/C-1": "Café € Ltd"}


async def test_without_the_encoding_the_cp1252_row_is_refused_not_garbled(
    tmp_path: Path,
) -> None:
    folder = _cp1252_folder(tmp_path / "export")
    settings = Settings(data_dir=tmp_path / "data", entity=ENTITY, ledger="qbo")
    plan = await pipeline.plan_backfill(settings, folder)
    assert plan.outcomes == {"csv/customer/C-1": "reject: malformed_row, forbidden_character"}
    plan = await pipeline.plan_backfill(settings, folder, "cp1252")
    assert plan.outcomes == {"csv/customer/C-1": "create"}


def test_the_cli_passes_the_encoding_through_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    folder = _cp1252_folder(tmp_path / "export")
    data = tmp_path / "data"
    runner = CliRunner()
    bad = runner.invoke(
        app, ["import", str(folder), "--encoding", "klingon", "--data-dir", str(data)]
    )
    assert bad.exit_code == 2 and "unknown encoding 'klingon'" in bad.output
    assert not data.exists()
    args = ["import", str(folder), "--backfill", "--dry-run", "--encoding", "cp1252"]
    planned = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert planned.exit_code == 0, planned.output
    assert planned.output.startswith("would create 1, link 0, reject 0")


# ---------------------------------------------------------------------- --dry-run writes nothing


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_dry_run_creates_no_data_dir(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "export", "C-1,Harbor Electric,,USD,2024-01-01T00:00:00Z\n")
    data = tmp_path / "data"
    args = ["import", str(folder), "--backfill", "--dry-run", "--data-dir", str(data)]
    result = CliRunner().invoke(app, [*args, "--ledger", "qbo"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("would create 1,")
    assert not data.exists()


async def test_a_dry_run_leaves_an_existing_data_dir_and_log_byte_identical(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path / "export", "C-1,Harbor Electric,,USD,2024-01-01T00:00:00Z\n")
    settings = Settings(data_dir=tmp_path / "data", entity=ENTITY, ledger="qbo")
    await pipeline.import_csv(settings, folder)  # a log, a keystore, a KEK
    book = open_ledger(settings)  # the sandbox's books, with a customer in them
    try:
        seeded = _folder(tmp_path / "other", "C-9,Seeded Ltd,,USD,2024-01-01T00:00:00Z\n")
        await pipeline.import_csv(settings, seeded)
    finally:
        await book.aclose()
    before = _snapshot(settings.data_dir)
    assert any(name.startswith("sandbox/") for name in before)
    plan = await pipeline.plan_backfill(settings, folder)
    assert plan.create == ["csv/customer/C-1"]
    assert _snapshot(settings.data_dir) == before


# ---------------------------------------------------------------------- the prediction


CHAIN_CUSTOMERS = """\
C-1,Harbor Electric,,USD,2024-01-01T00:00:00Z
C-2,Bad Mail Inc,billing@@example.com,USD,2024-01-01T00:00:00Z
C-3,Twin Co,,USD,2024-01-01T00:00:00Z
C-4,HARBOR  electric,,USD,2024-01-01T00:00:00Z
C-5,Linked Ltd,,USD,2024-01-01T00:00:00Z
"""
CHAIN_INVOICES = """\
I-1,1001,C-1,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-2,1002,C-2,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-3,1003,C-3,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-4,1004,C-9,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-5,1005,C-5,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-6,1006,C-1,2024-01-02,USD,100.00,void,2024-01-02T00:00:00Z,Service,1,100.00
I-7,1007,C-4,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
I-8,1008,C-1,2024-01-02,XYZ,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00
"""
CHAIN_PAYMENTS = """\
P-1,C-1,I-1,50.00,USD,2024-01-03,2024-01-03T00:00:00Z
P-2,C-2,I-2,50.00,USD,2024-01-03,2024-01-03T00:00:00Z
P-3,C-1,I-8,50.00,USD,2024-01-03,2024-01-03T00:00:00Z
P-4,C-1,I-99,50.00,USD,2024-01-03,2024-01-03T00:00:00Z
"""
EXPECTED = {
    "csv/customer/C-1": "create",
    "csv/customer/C-2": "reject: invalid_email",
    "csv/customer/C-3": "review",
    "csv/customer/C-4": "reject: duplicate_name",
    "csv/customer/C-5": "link",
    "csv/invoice/I-1": "create",
    "csv/invoice/I-2": "reject: customer_not_synced",  # its customer is rejected
    "csv/invoice/I-3": "reject: customer_not_synced",  # its customer waits for review
    "csv/invoice/I-4": "reject: customer_not_found",
    "csv/invoice/I-5": "create",
    "csv/invoice/I-6": "skip",  # void, never in the ledger
    "csv/invoice/I-7": "reject: customer_not_synced",  # its customer is a duplicate
    "csv/invoice/I-8": "reject: unknown_currency",
    "csv/payment/P-1": "create",
    "csv/payment/P-2": "reject: customer_not_synced",
    "csv/payment/P-3": "reject: invoice_not_synced",  # its invoice is rejected
    "csv/payment/P-4": "reject: invoice_not_found",
}


def _book() -> MemoryLedger:
    book = MemoryLedger()
    book.seed_customer("Twin Co")
    book.seed_customer("twin co")
    book.seed_customer("Linked Ltd")
    return book


async def _real_run(folder: Path, mapping: Mapping) -> dict[str, str]:
    """Import the folder into a log and let the sync worker handle everything, then
    read each record's outcome from the log."""
    h = Harness(_book(), mapping=mapping)
    handle = pipeline.open_csv(Settings(), folder, None)
    try:
        await h.ingest([item async for item in pipeline.source_items(handle.reader)])
    finally:
        await handle.reader.aclose()
    for _ in range(10):  # until idle: retries the worker asked for are handled too
        if not await h.run():
            break
    return await _outcomes(h)


async def _outcomes(h: Harness) -> dict[str, str]:
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    events = [json.loads(s.raw) async for s in h.store.read()]
    linked = {e["data"]["source_ref"] for e in events if e["type"] == "RecordLinked"}
    codes = {
        e["data"]["ref"]: ", ".join(r["code"] for r in e["data"]["reasons"])
        for e in events
        if e["type"] == "SourceRecordRejected"
    }
    out = {}
    for ref, rec in state.records.items():
        if rec.observed_sha is None:
            continue  # not a source record (a dispute's credit note)
        if rec.ledger_ref is not None:
            out[ref] = "link" if ref in linked else "create"
        elif rec.review_key is not None:
            out[ref] = "review"
        elif rec.rejected_sha == rec.observed_sha:
            out[ref] = f"reject: {codes[ref]}"
        else:
            out[ref] = "skip"
    return out


async def test_the_dry_run_predicts_the_real_run_record_by_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path / "export", CHAIN_CUSTOMERS, CHAIN_INVOICES, CHAIN_PAYMENTS)
    mapping = Mapping.from_text("memory", "")
    book = _book()
    monkeypatch.setattr(pipeline, "open_ledger", lambda _s: LedgerHandle(book, None, "memory"))
    monkeypatch.setattr(pipeline, "ledger_mapping", lambda _ledger: mapping)
    settings = Settings(data_dir=tmp_path / "data", entity=ENTITY, ledger="memory")
    plan = await pipeline.plan_backfill(settings, folder)
    assert plan.outcomes == EXPECTED
    assert await _real_run(folder, mapping) == plan.outcomes
    assert "csv/customer/C-4 has the same name as csv/customer/C-1" in plan.duplicates
    assert plan.text().startswith(
        "would create 4, link 1, reject 10, send 1 to review, skip 1 (nothing to push), "
        "create 0 ledger items"
    )
