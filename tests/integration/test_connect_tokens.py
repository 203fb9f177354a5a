"""``syncledger connect`` for the token-based ledgers end to end without the internet:
the sandbox served as a process (``syncledger sandbox netsuite --port N``), ``connect``
run as a process with the account id, keys and token (secrets from variables, never
printed), checked with one read against the sandbox: wrong credentials are one line and
exit 2 (noted as "refused" for ``connections``), an unreachable address exit 3, right
ones stored 0600; then ``sync --once`` pushes with only the stored credentials (no
``SYNCLEDGER_NETSUITE_*`` variable set), ``LedgerConnected`` is in the log without a
secret, a stored credential that stops working stops the sync (it is what the sync
used), and a variable that is set wins over the stored file."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats as nats_py
import pytest

from syncledger.adapters.netsuite.sandbox import server as netsuite_sandbox
from syncledger.adapters.odoo.sandbox import server as odoo_sandbox
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.support.processes import SandboxServer

pytestmark = [pytest.mark.integration]

AT = "2024-01-05T00:00:00Z"
CUSTOMERS = f"id,name,email,currency,updated_at\nC-1,Quay Supplies,ap@quay.example.com,USD,{AT}\n"
INVOICE_HEAD = (
    "id,number,customer_id,issue_date,due_date,currency,total,status,updated_at,description,"
    "quantity,unit_price\n"
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
NETSUITE_SECRETS = {
    "SYNCLEDGER_NETSUITE_CONSUMER_SECRET": netsuite_sandbox.DEFAULT_CONSUMER_SECRET,
    "SYNCLEDGER_NETSUITE_TOKEN_SECRET": netsuite_sandbox.DEFAULT_TOKEN_SECRET,
}
NETSUITE_FLAGS = (
    "--account-id", netsuite_sandbox.DEFAULT_ACCOUNT_ID,
    "--consumer-key", netsuite_sandbox.DEFAULT_CONSUMER_KEY,
    "--token-id", netsuite_sandbox.DEFAULT_TOKEN_ID,
)  # fmt: skip


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


def _env(nats: EmbeddedNats, data: Path, ledger: str, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
    return env | {
        "SYNCLEDGER_DATA_DIR": str(data),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": f"connect-{ledger}",
        "SYNCLEDGER_LEDGER": ledger,
        "SYNCLEDGER_LEDGER_URL": url,
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _csv(root: Path, invoice: str, number: str) -> Path:
    root.mkdir()
    line = f"{invoice},{number},C-1,2024-01-05,2024-02-04,USD,125.00,open,{AT},Work,1,125.00\n"
    (root / "customers.csv").write_text(CUSTOMERS)
    (root / "invoices.csv").write_text(INVOICE_HEAD + line)
    (root / "payments.csv").write_text(PAYMENTS)
    return root


async def _connected_events(nats_url: str, entity: str) -> list[dict[str, object]]:
    nc = await nats_py.connect(nats_url)
    try:
        store = JetStreamEventStore(nc, stream="SYNCLEDGER")
        found = []
        async for event in store.read():
            doc = json.loads(event.raw)
            if doc["type"] == "LedgerConnected" and doc["entity"] == entity:
                found.append(doc)
        return found
    finally:
        await nc.close()


def _statuses(env: dict[str, str]) -> dict[str, dict[str, object]]:
    shown = _cli(env, "connections", "--json")
    assert shown.returncode == 0, shown.stderr
    return {r["ledger"]: r for r in json.loads(shown.stdout)["connections"]}


def test_netsuite_connect_checks_stores_and_sync_uses_only_what_was_stored(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    sandbox = SandboxServer("netsuite", tmp_path / "sandbox").start()
    try:
        data = tmp_path / "state"
        env = _env(nats, data, "netsuite", sandbox.url)
        secret = netsuite_sandbox.DEFAULT_TOKEN_SECRET

        wrong = env | NETSUITE_SECRETS | {"SYNCLEDGER_NETSUITE_TOKEN_SECRET": "not-the-secret"}
        refused = _cli(wrong, "connect", "netsuite", *NETSUITE_FLAGS)
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1 and "refused" in refused.stderr
        assert "not-the-secret" not in refused.stdout + refused.stderr
        assert not (data / "tokens" / "netsuite.credentials.json").exists()
        assert _statuses(env)["netsuite"]["status"] == "refused"

        away = env | NETSUITE_SECRETS | {"SYNCLEDGER_LEDGER_URL": f"http://127.0.0.1:{free_port()}"}
        unreachable = _cli(away, "connect", "netsuite", *NETSUITE_FLAGS)
        assert unreachable.returncode == 3, (unreachable.stdout, unreachable.stderr)

        done = _cli(env | NETSUITE_SECRETS, "connect", "netsuite", *NETSUITE_FLAGS)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert netsuite_sandbox.DEFAULT_ACCOUNT_ID in done.stdout
        assert secret not in done.stdout + done.stderr
        stored_at = data / "tokens" / "netsuite.credentials.json"
        assert stat.S_IMODE(stored_at.stat().st_mode) == 0o600
        assert json.loads(stored_at.read_text())["token_secret"] == secret
        row = _statuses(env)["netsuite"]
        assert row["status"] == "connected" and row["tenant"] == netsuite_sandbox.DEFAULT_ACCOUNT_ID

        assert _cli(env, "import", str(_csv(tmp_path / "csv1", "I-1", "3001"))).returncode == 0
        synced = _cli(env, "sync", "--once")  # no SYNCLEDGER_NETSUITE_* variable at all
        assert synced.returncode == 0, (synced.stdout, synced.stderr)
        assert sandbox.counts()["invoice"] == 1

        logged = asyncio.run(_connected_events(nats.url, "connect-netsuite"))
        assert [e["data"]["method"] for e in logged] == ["credentials"]  # type: ignore[index]
        assert secret not in json.dumps(logged)

        broken = json.loads(stored_at.read_text()) | {"token_secret": "revoked"}
        stored_at.write_text(json.dumps(broken))
        assert _cli(env, "import", str(_csv(tmp_path / "csv2", "I-2", "3002"))).returncode == 0
        assert _cli(env, "sync", "--once").returncode != 0  # the stored secret is what is used
        assert sandbox.counts()["invoice"] == 1

        over = env | {"SYNCLEDGER_NETSUITE_TOKEN_SECRET": secret}  # a variable wins
        synced = _cli(over, "sync", "--once")
        assert synced.returncode == 0, (synced.stdout, synced.stderr)
        assert sandbox.counts()["invoice"] == 2
    finally:
        sandbox.stop()


def test_odoo_connect_then_sync_with_the_stored_key(tmp_path: Path, nats: EmbeddedNats) -> None:
    sandbox = SandboxServer("odoo", tmp_path / "sandbox").start()
    try:
        data = tmp_path / "state"
        env = _env(nats, data, "odoo", sandbox.url)
        key = {"SYNCLEDGER_ODOO_API_KEY": odoo_sandbox.DEFAULT_API_KEY}
        flags = ("--database", odoo_sandbox.DEFAULT_DATABASE)
        done = _cli(env | key, "connect", "odoo", *flags)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert odoo_sandbox.DEFAULT_API_KEY not in done.stdout + done.stderr

        assert _cli(env, "import", str(_csv(tmp_path / "csv", "I-1", "3001"))).returncode == 0
        synced = _cli(env, "sync", "--once")  # the key only in the stored file
        assert synced.returncode == 0, (synced.stdout, synced.stderr)
        assert sandbox.counts()["invoice"] == 1
        assert _statuses(env)["odoo"]["tenant"] == odoo_sandbox.DEFAULT_DATABASE
    finally:
        sandbox.stop()
