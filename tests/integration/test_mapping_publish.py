"""Changing a ledger mapping safely, end to end as processes: a real embedded nats-server,
the QBO sandbox served over HTTP, and the commands a person runs.

The QBO mapping file is edited the way an operator edits theirs: the test runs the
commands on a copy of the installed package (every file linked to the real one) whose
``adapters/qbo/mapping.toml`` is a file of its own, so the suite's other tests keep the
shipped file. First it says ``unmatched = "review"`` (two invoices naming an unmapped
item are rejected); then it is put back to the shipped ``unmatched = "create"``:
``mapping diff`` lists exactly those two as rejected → accepted and writes nothing,
``mapping publish --yes`` publishes it, and ``sync --once`` pushes them without anybody
running ``retry``: no duplicates, reconciliation clean."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats as nats_py
import pytest

from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.support.processes import SandboxServer

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "adapters" / "qbo" / "mapping.toml").read_text()
REVIEW = SHIPPED.replace('unmatched = "create"', 'unmatched = "review"', 1)
AT = "2024-01-05T00:00:00Z"
CUSTOMERS = f"id,name,email,currency,updated_at\nC-1,Quay Supplies,ap@quay.example.com,USD,{AT}\n"
INVOICE_HEAD = (
    "id,number,customer_id,issue_date,due_date,currency,total,status,updated_at,description,"
    "quantity,unit_price,item_code\n"
)
INVOICES = INVOICE_HEAD + "".join(
    f"I-{n},{4000 + n},C-1,2024-01-05,2024-02-04,USD,125.00,open,{AT},Work,1,125.00,{code}\n"
    for n, code in ((1, "REFLOW-SKU"), (2, "REFLOW-SKU"), (3, ""))
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"


def _overlay(root: Path) -> Path:
    """A package root whose ``syncledger`` is the installed one, but for its own QBO
    mapping file (returned)."""
    package = root / "syncledger"
    package.mkdir(parents=True)
    for part in ("core", "audit", "projections"):
        (package / part).symlink_to(REPO / part)
    adapters = REPO / "adapters"
    for source in adapters.rglob("*"):
        if "__pycache__" in source.parts or source.is_dir():
            continue
        target = package / "adapters" / source.relative_to(adapters)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
    mapping = package / "adapters" / "qbo" / "mapping.toml"
    mapping.unlink()
    mapping.write_text(REVIEW)
    return mapping


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


async def _log(nats_url: str) -> list[dict[str, Any]]:
    nc = await nats_py.connect(nats_url)
    try:
        store = JetStreamEventStore(nc, stream="SYNCLEDGER")
        return [json.loads(event.raw) async for event in store.read()]
    finally:
        await nc.close()


def logged(nats: EmbeddedNats, kind: str | None = None) -> list[dict[str, Any]]:
    found = asyncio.run(_log(nats.url))
    return [e for e in found if kind is None or e["type"] == kind]


def test_a_fixed_mapping_is_diffed_published_and_reflows_the_records_it_now_accepts(
    tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer
) -> None:
    mapping = _overlay(tmp_path / "pkg")
    data = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
    env |= {
        "PYTHONPATH": str(tmp_path / "pkg"),
        "SYNCLEDGER_DATA_DIR": str(data),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": "mapping-publish",
        "SYNCLEDGER_LEDGER": "qbo",
        "SYNCLEDGER_LEDGER_URL": sandbox.url,
    }

    def cli(*args: str, answering: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
            env=env, input=answering, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip

    def answer(done: subprocess.CompletedProcess[str], code: int) -> dict[str, Any]:
        assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
        obj: dict[str, Any] = json.loads(done.stdout)
        return obj

    export = tmp_path / "export"
    export.mkdir()
    (export / "customers.csv").write_text(CUSTOMERS)
    (export / "invoices.csv").write_text(INVOICES)
    (export / "payments.csv").write_text(PAYMENTS)
    assert cli("import", str(export)).returncode == 0

    first = answer(cli("sync", "--once", "--json"), 1)  # two refused under "review"
    records = first["records"]
    assert isinstance(records, dict) and records["sent"] == 2 and records["refused"] == 2
    rejected = logged(nats, "SourceRecordRejected")
    assert {str(e["data"]["ref"]) for e in rejected} == {
        "csv/invoice/I-1",
        "csv/invoice/I-2",
    }

    # the fixed file, given with --file, then in place: listed exactly, nothing written
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(SHIPPED)
    keys = (data / "keys.db").read_bytes()
    length = len(logged(nats))
    for args in (("--file", str(fixed)), ()):
        if not args:
            mapping.write_text(SHIPPED)
        diff = answer(cli("mapping", "diff", "--json", *args), 1)
        turned = diff["rejected_to_accepted"]
        assert isinstance(turned, dict) and turned["count"] == 2
        assert [row["ref"] for row in turned["listed"]] == ["csv/invoice/I-1", "csv/invoice/I-2"]
        assert diff["accepted_to_rejected"] == {"count": 0, "listed": []}
        assert diff["fields_change"] == {"count": 0, "listed": []}
        assert diff["records"] == 4 and diff["unchanged"] == 2
        assert '-unmatched = "review"' in diff["diff"]
        assert '+unmatched = "create"' in diff["diff"]
    text = cli("mapping", "diff")
    assert text.returncode == 1 and "rejected → accepted (2):" in text.stdout
    assert len(logged(nats)) == length  # no event
    assert (data / "keys.db").read_bytes() == keys  # no key

    bad = tmp_path / "bad.toml"
    bad.write_text('[transforms.invoice]\nlines = { splt_total = "amount" }\n')
    refused = cli("mapping", "diff", "--file", str(bad))
    assert refused.returncode == 2 and "splt_total" in refused.stderr
    assert len(logged(nats)) == length

    declined = cli("mapping", "publish", answering="n\n")  # asked, answered no
    assert declined.returncode == 1, (declined.stdout, declined.stderr)
    assert "rejected → accepted (2):" in declined.stdout and "not published" in declined.stdout
    assert len(logged(nats)) == length

    published = answer(cli("mapping", "publish", "--yes", "--json"), 0)
    version = f"qbo@{hashlib.sha256(SHIPPED.encode()).hexdigest()[:12]}"
    assert published["published"] == version
    last = logged(nats, "MappingVersionPublished")[-1]
    assert last["data"]["mapping_version"] == version and last["data"]["content"] == SHIPPED
    again = answer(cli("mapping", "diff", "--json"), 0)  # in force now: nothing changes
    assert again["in_force"] == version

    second = answer(cli("sync", "--once", "--json"), 0)  # no `retry` was run
    records = second["records"]
    assert isinstance(records, dict) and records["sent"] == 2 and records["refused"] == 0
    reflows = logged(nats, "ReflowRequested")
    assert sorted(str(e["data"]["ref"]) for e in reflows) == [
        "csv/invoice/I-1",
        "csv/invoice/I-2",
    ]
    assert logged(nats, "RetryRequested") == []

    answer(cli("sync", "--once", "--json"), 0)  # once per record and version
    assert len(logged(nats, "ReflowRequested")) == 2
    counts = sandbox.counts()
    assert (counts["customer"], counts["invoice"]) == (1, 3)  # zero duplicates
    pushed = [e["data"]["source_ref"] for e in logged(nats, "LedgerPushSucceeded")]
    assert sorted(pushed) == ["csv/customer/C-1", *(f"csv/invoice/I-{n}" for n in (1, 2, 3))]

    clean = cli("reconcile", "--full")
    assert clean.returncode == 0, (clean.stdout, clean.stderr)
