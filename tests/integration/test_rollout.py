"""Incremental rollout end to end as processes (issue 16): a real embedded nats-server,
the QBO sandbox served over HTTP, a CSV export of 3 customers with an invoice and a
payment each, and the commands a person runs with a ``[rollout]`` table in their
``syncledger.toml``.

Scope = one customer: only its records reach the ledger; the others are logged, held once
each and shown as waiting for rollout (status, trace), not as errors. The table removed
(everything in scope): the backlog is pushed in dependency order, each record once, nothing
pushed before touched, zero duplicates, reconciliation clean."""

from __future__ import annotations

import asyncio
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

AT = "2024-01-05T00:00:00Z"
NAMES = {1: "Quay Supplies", 2: "Harbor Electric", 3: "Birch Roofing"}
CUSTOMERS = "id,name,email,currency,updated_at\n" + "".join(
    f"C-{n},{name},ap{n}@rollout.example.com,USD,{AT}\n" for n, name in NAMES.items()
)
INVOICES = (
    "id,number,customer_id,issue_date,due_date,currency,total,status,updated_at,description,"
    "quantity,unit_price\n"
) + "".join(
    f"I-{n},{5000 + n},C-{n},2024-01-05,2024-02-04,USD,125.00,open,{AT},Work,1,125.00\n"
    for n in NAMES
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n" + "".join(
    f"P-{n},C-{n},I-{n},50.00,USD,2024-01-20,{AT}\n" for n in NAMES
)
ONE_CUSTOMER = '[rollout]\ncustomers = ["C-1"]\n'


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


def logged(nats: EmbeddedNats, kind: str) -> list[dict[str, Any]]:
    return [e for e in asyncio.run(_log(nats.url)) if e["type"] == kind]


def refs(events: list[dict[str, Any]], key: str) -> list[str]:
    return [str(e["data"][key]) for e in events]


class Cli:
    """The commands, run as processes in a working directory holding syncledger.toml."""

    def __init__(self, cwd: Path, nats: EmbeddedNats, sandbox: SandboxServer) -> None:
        self.cwd = cwd
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
        self.env = env | {
            "SYNCLEDGER_DATA_DIR": str(cwd / "state"),
            "SYNCLEDGER_NATS_URL": nats.url,
            "SYNCLEDGER_ENTITY": "rollout",
            "SYNCLEDGER_LEDGER": "qbo",
            "SYNCLEDGER_LEDGER_URL": sandbox.url,
        }

    def settings(self, text: str) -> None:
        (self.cwd / "syncledger.toml").write_text(text)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
            cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip

    def answer(self, code: int, *args: str) -> dict[str, Any]:
        done = self.run(*args, "--json")
        assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
        obj: dict[str, Any] = json.loads(done.stdout)
        return obj


def _export(root: Path) -> Path:
    root.mkdir()
    (root / "customers.csv").write_text(CUSTOMERS)
    (root / "invoices.csv").write_text(INVOICES)
    (root / "payments.csv").write_text(PAYMENTS)
    return root


def test_a_scope_of_one_customer_then_everything(
    tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer
) -> None:
    cli = Cli(tmp_path, nats, sandbox)
    cli.settings(ONE_CUSTOMER)
    assert cli.run("import", str(_export(tmp_path / "export"))).returncode == 0

    # scope = C-1: only its records are in the ledger, the others wait for rollout
    first = cli.answer(0, "sync", "--once")
    assert first["records"]["sent"] == 3 and first["records"]["waiting_for_rollout"] == 6
    assert first["records"]["refused"] == 0
    counts = sandbox.counts()
    assert (counts["customer"], counts["invoice"], counts["payment"]) == (1, 1, 1)
    held = logged(nats, "RecordHeldForRollout")
    assert sorted(refs(held, "source_ref")) == sorted(
        f"csv/{kind}/{p}-{n}" for n in (2, 3) for kind, p in
        (("customer", "C"), ("invoice", "I"), ("payment", "P"))
    )  # fmt: skip
    [scope] = logged(nats, "RolloutScopeChanged")
    assert scope["data"]["rule"] == {"customers": ["C-1"]}

    status = cli.answer(0, "status")  # waiting for rollout is not "needs attention"
    assert status["records_waiting_for_rollout"] == 6
    assert status["records_needing_attention"] == 0
    waiting = {(r["kind"], r["count"]) for r in status["records"]
               if r["status"] == "waiting_for_rollout"}  # fmt: skip
    assert waiting == {("customer", 2), ("invoice", 2), ("payment", 2)}
    text = cli.run("status")
    assert text.returncode == 0 and "6 records wait for rollout" in text.stdout
    assert cli.run("errors").returncode == 0
    trace = cli.run("trace", "csv/invoice/I-2")
    assert trace.returncode == 0 and "waiting for rollout on qbo" in trace.stdout
    assert "not in any ledger yet" in trace.stdout
    assert cli.run("reconcile", "--full").returncode == 0

    again = cli.answer(0, "sync", "--once")  # the same scope: nothing new, nothing held again
    assert again["records"]["sent"] == 0
    assert len(logged(nats, "RecordHeldForRollout")) == 6

    # widened to everything: the backlog in dependency order, each once
    before = refs(logged(nats, "LedgerPushSucceeded"), "source_ref")
    cli.settings("")
    second = cli.answer(0, "sync", "--once")
    assert second["records"]["sent"] == 6 and second["records"]["waiting_for_rollout"] == 0
    released = refs(logged(nats, "RecordReleasedForRollout"), "ref")
    assert released == [
        "csv/customer/C-2", "csv/customer/C-3", "csv/invoice/I-2", "csv/invoice/I-3",
        "csv/payment/P-2", "csv/payment/P-3",
    ]  # fmt: skip
    pushed = refs(logged(nats, "LedgerPushSucceeded"), "source_ref")
    assert pushed[: len(before)] == before  # nothing pushed before the widening touched
    after = pushed[len(before) :]
    assert sorted(after) == sorted(released)
    for n in (2, 3):
        order = [after.index(f"csv/{kind}/{p}-{n}") for kind, p in
                 (("customer", "C"), ("invoice", "I"), ("payment", "P"))]  # fmt: skip
        assert order == sorted(order)
    assert len(pushed) == len(set(pushed)) == 9
    changes = logged(nats, "RolloutScopeChanged")
    assert len(changes) == 2 and changes[-1]["data"]["rule"] is None

    third = cli.answer(0, "sync", "--once")
    assert third["records"]["sent"] == 0
    assert len(logged(nats, "RecordReleasedForRollout")) == 6
    assert len(logged(nats, "RolloutScopeChanged")) == 2
    counts = sandbox.counts()
    assert (counts["customer"], counts["invoice"], counts["payment"]) == (3, 3, 3)
    assert cli.answer(0, "status")["records_waiting_for_rollout"] == 0
    clean = cli.run("reconcile", "--full")
    assert clean.returncode == 0, (clean.stdout, clean.stderr)
