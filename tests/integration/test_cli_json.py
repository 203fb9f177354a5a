"""Commands that say what happened (issue 16), as processes on a data dir with a real
embedded nats-server and the QBO sandbox book: ``--json`` prints one object with the
keys docs/json-output.md documents and the same exit code as the text; exit 1 when the
command ran but something needs attention (records refused at import or by the sync,
open problems in ``errors``/``status``), 0 when nothing does; and in a pipe no progress
is drawn (stderr stays empty)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.core.embedded import EmbeddedNats, free_port

pytestmark = [pytest.mark.integration]

CUSTOMERS = "id,name,email,currency,updated_at\n"
INVOICES = (
    "id,number,customer_id,issue_date,currency,total,status,updated_at,"
    "description,quantity,unit_price\n"
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
AT = "2024-01-05T00:00:00Z"
#: two customers (one with an address that is not one: the sync refuses it); an invoice
#: that is fine, one whose total is not its lines (refused by the sync), one whose total
#: no ledger can hold (13 integer digits: refused at import, before the log)
TROUBLED = (
    CUSTOMERS + f"C-1,Harbor Electric,ap@harbor.example.com,USD,{AT}\nC-2,Birch,bad@@x,USD,{AT}\n",
    INVOICES
    + f"I-1,1001,C-1,2024-01-05,USD,125.00,open,{AT},Work,1,125.00\n"
    + f"I-2,1002,C-1,2024-01-05,USD,99.00,open,{AT},Work,1,50.00\n"
    + f"I-3,1003,C-1,2024-01-05,USD,1234567890123.00,open,{AT},Work,1,1234567890123.00\n",
)
#: records of their own: the module's tests share one sandbox book, where a customer of
#: the same name pushed by another test would be found and linked instead of sent
CLEAN = (
    CUSTOMERS + f"C-9,Quay Supplies,ap@quay.example.com,USD,{AT}\n",
    INVOICES + f"I-9,2001,C-9,2024-01-05,USD,125.00,open,{AT},Work,1,125.00\n",
)


def _folder(root: Path, customers: str, invoices: str) -> Path:
    root.mkdir(parents=True)
    (root / "customers.csv").write_text(customers, encoding="utf-8")
    (root / "invoices.csv").write_text(invoices, encoding="utf-8")
    (root / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def cli(
    nats: EmbeddedNats, data: Path, entity: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
    env |= {
        "SYNCLEDGER_DATA_DIR": str(data),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": entity,
    }
    return subprocess.run(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def answer(done: subprocess.CompletedProcess[str], code: int) -> dict[str, object]:
    """The command's one JSON object (stdout is that object and nothing else), with
    the exit code the process ended with."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    obj: dict[str, object] = json.loads(done.stdout)
    assert obj["exit_code"] == code
    return obj


def test_each_command_answers_in_json_and_says_when_something_needs_attention(
    nats: EmbeddedNats, data: Path, tmp_path: Path
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(nats, data, "troubled", *args)

    folder = _folder(tmp_path / "export", *TROUBLED)
    imported = answer(run("import", str(folder), "--json"), 1)
    assert set(imported) == {
        "new_versions", "unchanged", "deleted", "refused", "by_kind", "exit_code"
    }  # fmt: skip
    assert imported["refused"] == 1 and imported["new_versions"] == 4

    synced = run("sync", "--once", "--json")
    assert synced.stderr == ""  # in a pipe: no progress bar, nothing else either
    got = answer(synced, 1)
    assert set(got) == {"entity", "ledger", "records", "invoice_emails", "attention", "exit_code"}
    records = got["records"]
    assert isinstance(records, dict)
    assert records["sent"] == 2 and records["refused"] == 2
    assert set(records) >= {"sent", "matched", "up_to_date", "refused", "given_up"}

    errors = answer(run("errors", "--json"), 1)
    assert set(errors) == {"entity", "records", "mismatches", "unfoldable_events", "exit_code"}
    listed = errors["records"]
    assert isinstance(listed, list)
    assert {r["source_ref"] for r in listed} == {
        "csv/customer/C-2", "csv/invoice/I-2", "csv/invoice/I-3"
    }  # fmt: skip
    first = listed[0]
    assert set(first) == {"source_ref", "kind", "ledger", "problem", "attempts", "since", "reasons"}
    assert set(first["reasons"][0]) == {"code", "message", "fix"}
    assert run("errors").returncode == 1

    status = answer(run("status", "--json"), 1)
    assert set(status) == {
        "entity", "events", "records", "open_mismatches", "records_needing_attention",
        "alerts_waiting", "alerts_parked", "channels_parked", "unfoldable_events", "exit_code",
        "records_waiting_for_rollout",
    }  # fmt: skip
    assert status["records_needing_attention"] == 3
    assert run("status").returncode == 1

    trace = answer(run("trace", "csv/invoice/I-1", "--json"), 0)
    assert set(trace) == {"ref", "entity", "events", "ledger_entry", "written_back", "exit_code"}
    assert str(trace["ledger_entry"]).startswith("qbo/invoice/")
    steps = trace["events"]
    assert isinstance(steps, list) and set(steps[0]) == {"seq", "recorded_at", "type", "summary"}

    review = answer(run("review", "--json"), 0)
    assert review == {"entity": "troubled", "ledger": "qbo", "waiting": [], "exit_code": 0}
    conflicts = answer(run("conflicts", "--json"), 0)
    assert set(conflicts) == {"entity", "ledger", "open", "detected", "exit_code"}
    assert conflicts["open"] == []

    back = answer(run("backsync", "--json"), 0)
    assert set(back) == {
        "entity", "ledger", "changed", "new_to_log", "our_own_writes", "without_our_reference",
        "conflicts", "written_back", "waiting_to_write_back", "customer_details", "lines",
        "exit_code",
    }  # fmt: skip


def test_nothing_needing_attention_exits_0(nats: EmbeddedNats, data: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(nats, data, "clean", *args)

    folder = _folder(tmp_path / "export", *CLEAN)
    imported = run("import", str(folder))
    assert imported.returncode == 0 and imported.stderr == "", imported.stderr
    assert imported.stdout.strip() == "2 new record versions, 0 unchanged, 0 deletions"
    synced = run("sync", "--once")
    assert synced.returncode == 0 and synced.stderr == "", synced.stderr
    assert synced.stdout.splitlines() == ["2 records sent to the ledger", "no open errors"]
    assert answer(run("errors", "--json"), 0)["records"] == []
    status = run("status")
    assert status.returncode == 0, status.stdout
    again = answer(run("sync", "--once", "--json"), 0)
    assert again["records"] == dict.fromkeys(again["records"], 0)  # type: ignore[arg-type]


def test_sandbox_list_in_json(nats: EmbeddedNats, data: Path) -> None:
    listed = answer(cli(nats, data, "x", "sandbox", "--list", "--json"), 0)
    assert set(listed) == {"ledgers", "exit_code"}
    assert "qbo" in listed["ledgers"]  # type: ignore[operator]
