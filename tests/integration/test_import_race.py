"""Real processes on a real nats-server (issue 19 §1 last bullet, §3): two `syncledger
import` of one folder at once append each record version once; a value no ledger can
hold is refused at import, and an event an older version let into the log never stops
`status`, `errors` or `replay`."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.events import SourceRecordObserved, make_envelope
from syncledger.core.ingest import Ingestor
from syncledger.core.model import RecordRef
from syncledger.core.settings import Settings
from syncledger.core.subjects import entity_filter, source_subject
from tests.support.processes import Proc

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "race"
CUSTOMERS, INVOICES = 20, 2000
STAMP = "2026-01-02T00:00:00Z"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def cfg(tmp_path: Path, nats: EmbeddedNats) -> Settings:
    return Settings(data_dir=tmp_path / "state", nats_url=nats.url, entity=ENTITY)


def _write(path: Path, name: str, rows: list[dict[str, str]]) -> None:
    with open(path / f"{name}.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _invoice(i: int | str, total: str) -> dict[str, str]:
    return {
        "id": f"I{i}", "number": f"R-{i}", "customer_id": "C1",
        "issue_date": "2026-01-02", "currency": "USD", "total": total, "updated_at": STAMP,
        "description": "Service call", "quantity": "1", "unit_price": total,
    }  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Customers with personal data (sealed, hashed with a keyed MAC), invoices, and one
    invoice whose total no ledger can hold."""
    path = tmp_path / "export"
    path.mkdir()
    customers = [
        {
            "id": f"C{i}",
            "name": f"Race {i}",
            "currency": "USD",
            "email": f"c{i}@example.com",
            "updated_at": STAMP,
        }
        for i in range(CUSTOMERS)
    ]
    invoices = [_invoice(i, f"{100 + i}.00") for i in range(INVOICES)] + [_invoice("BAD", "1e61")]
    _write(path, "customers", customers)
    _write(path, "invoices", invoices)
    (path / "payments.csv").write_text(
        "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
    )
    return path


def command(cfg: Settings, log: Path, *args: str) -> Proc:
    env = {"SYNCLEDGER_DATA_DIR": str(cfg.data_dir), "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
           "SYNCLEDGER_ENTITY": ENTITY}  # fmt: skip
    return Proc(list(args), env, log).start()


def finished(proc: Proc, deadline_s: float = 300) -> int:
    assert proc.popen is not None
    try:
        return proc.popen.wait(deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{' '.join(proc.args)} did not finish") from None


async def source_versions(cfg: Settings) -> Counter[tuple[str, str, str]]:
    async with open_runtime(cfg) as rt:
        events = [json.loads(s.raw) async for s in rt.store.read(entity_filter(ENTITY, "source"))]
    return Counter((e["type"], e["data"]["ref"], e["data"]["content_sha256"]) for e in events)


async def test_two_imports_of_one_folder_append_each_version_once(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    logs = [tmp_path / f"import-{n}.log" for n in range(2)]
    imports = [command(cfg, log, "import", str(folder)) for log in logs]
    # the one that appended the bad row's version says so (exit 1: it needs attention);
    # the other found it unchanged
    codes = sorted(finished(p) for p in imports)
    assert codes == [0, 1], [log.read_text() for log in logs]
    versions = await source_versions(cfg)
    assert set(versions.values()) == {1}  # no version twice
    assert Counter(t for t, _, _ in versions) == {
        "SourceRecordObserved": CUSTOMERS + INVOICES,
        "SourceRecordRejected": 1,  # the 1e61 invoice, refused at import
    }


async def test_two_runtimes_racing_from_the_same_start_append_each_version_once(
    cfg: Settings, folder: Path
) -> None:
    """Both importers load the empty log before either appends, so every append of the
    slower one meets a real conflict (JetStream 10071) on a real server."""
    async with open_runtime(cfg) as one, open_runtime(cfg) as two:
        importers = [Ingestor(rt.store, rt.keys, entity=ENTITY, actor="race") for rt in (one, two)]
        for importer in importers:
            await importer.load()
        reports = await asyncio.gather(
            *(importer.ingest(CsvSource(folder).changes()) for importer in importers)
        )
    versions = await source_versions(cfg)
    assert set(versions.values()) == {1}
    assert len(versions) == CUSTOMERS + INVOICES + 1
    assert sum(r.observed + r.refused for r in reports) == len(versions)
    assert sum(r.unchanged for r in reports) == len(versions)


async def test_a_bad_event_in_the_log_stops_no_command(
    cfg: Settings, folder: Path, tmp_path: Path
) -> None:
    assert finished(command(cfg, tmp_path / "import.log", "import", str(folder))) == 1
    assert (
        "1 record refused (`syncledger errors` says why)" in (tmp_path / "import.log").read_text()
    )
    ref = RecordRef(system="csv", kind="invoice", id="OLD")
    older = SourceRecordObserved(  # what a version without the ingest check appended
        ref=str(ref), kind="invoice", version=STAMP, content_sha256="old",
        record={"currency": "USD", "total": "1e309"}, customer_ref="csv/customer/C1",
    )  # fmt: skip
    async with open_runtime(cfg) as rt:
        subject = source_subject(ENTITY, ref)
        await rt.store.append([make_envelope(older, entity=ENTITY, subject=subject, actor="v0")])
    outputs = {}
    # each runs to its end; status and errors exit 1: a record and an event need attention
    for name, code in (("status", 1), ("errors", 1), ("replay", 0)):
        log = tmp_path / f"{name}.log"
        assert finished(command(cfg, log, name)) == code, log.read_text()
        outputs[name] = log.read_text()
    assert "1 event could not be folded" in outputs["status"]
    assert "csv/invoice/IBAD (refused at import)" in outputs["errors"]
    assert "SourceRecordObserved of csv/invoice/OLD" in outputs["errors"]
    assert "310 digits before the point" in outputs["errors"]
    assert "rebuilt" in outputs["replay"]
