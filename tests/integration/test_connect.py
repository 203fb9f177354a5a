"""``syncledger connect`` end to end without the internet: the sandbox served as a process
(``syncledger sandbox <ledger> --port N``), ``connect`` run as a process whose
authorization URL an HTTP client follows (the sandbox consents at once and redirects back
with code + state), then ``sync --once`` pushing with the stored tokens alone, the
tenant chosen, ``LedgerConnected`` in the log, and ``connections`` telling it.

The sandbox's built-in first grant is spent before connecting, so a sync that works can
only have used the tokens ``connect`` stored."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import nats as nats_py
import pytest

from syncledger.adapters.freshbooks.sandbox import server as freshbooks_sandbox
from syncledger.adapters.qbo.sandbox import server as qbo_sandbox
from syncledger.adapters.sage.sandbox import server as sage_sandbox
from syncledger.adapters.xero.sandbox import server as xero_sandbox
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.support.processes import SandboxServer

pytestmark = [pytest.mark.integration]

AT = "2024-01-05T00:00:00Z"
CUSTOMERS = f"id,name,email,currency,updated_at\nC-1,Quay Supplies,ap@quay.example.com,USD,{AT}\n"
INVOICES = (
    "id,number,customer_id,issue_date,due_date,currency,total,status,updated_at,description,"
    f"quantity,unit_price\nI-1,3001,C-1,2024-01-05,2024-02-04,USD,125.00,open,{AT},Work,1,"
    "125.00\n"
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
SPENT = {
    "qbo": ("/oauth2/v1/tokens/bearer", qbo_sandbox.DEFAULT_REFRESH_TOKEN),
    "xero": ("/connect/token", xero_sandbox.DEFAULT_REFRESH_TOKEN),
    "sage": ("/token", sage_sandbox.DEFAULT_REFRESH_TOKEN),
    "freshbooks": ("/auth/oauth/token", freshbooks_sandbox.DEFAULT_REFRESH_TOKEN),
}
CLIENT = {
    "qbo": (qbo_sandbox.DEFAULT_CLIENT_ID, qbo_sandbox.DEFAULT_CLIENT_SECRET),
    "xero": (xero_sandbox.DEFAULT_CLIENT_ID, xero_sandbox.DEFAULT_CLIENT_SECRET),
    "sage": (sage_sandbox.DEFAULT_CLIENT_ID, sage_sandbox.DEFAULT_CLIENT_SECRET),
    "freshbooks": (freshbooks_sandbox.DEFAULT_CLIENT_ID, freshbooks_sandbox.DEFAULT_CLIENT_SECRET),
}


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
        "BROWSER": "true",  # webbrowser runs `true`: no browser opens; the test follows the URL
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def _spend_first_grant(ledger: str, url: str) -> None:
    path, refresh = SPENT[ledger]
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    if ledger == "freshbooks":  # every FreshBooks grant carries the app's redirect URI
        client_id, secret = CLIENT[ledger]
        registered = freshbooks_sandbox.DEFAULT_REDIRECT_URI
        form |= {"client_id": client_id, "client_secret": secret, "redirect_uri": registered}
    assert httpx.post(url + path, data=form, auth=CLIENT[ledger]).status_code == 200


def _authorize_url(stream: IO[str]) -> str:
    for line in stream:
        if line.startswith("http"):
            return line.strip()
    raise AssertionError("connect printed no authorization URL")


def _connect(
    env: dict[str, str], ledger: str, *options: str, no_browser: bool | None
) -> tuple[int, str, str]:
    """Run ``connect <ledger> <options>`` as a process; follow its URL as a browser would
    (the redirect to the loopback listener, or pasted back with --no-browser; None: pasted
    back without the flag, the registered redirect URI not being a loopback one)."""
    args = ["connect", ledger, *options] + (["--no-browser"] if no_browser else [])
    proc = subprocess.Popen(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdin is not None
    url = _authorize_url(proc.stderr)
    back = httpx.get(url).headers["location"]  # the sandbox consents at once
    if no_browser is not False:
        proc.stdin.write(back + "\n")
        proc.stdin.flush()
    else:
        assert httpx.get(back).status_code == 200  # the loopback listener takes it
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out, err


def _csv(root: Path) -> Path:
    root.mkdir()
    (root / "customers.csv").write_text(CUSTOMERS)
    (root / "invoices.csv").write_text(INVOICES)
    (root / "payments.csv").write_text(PAYMENTS)
    return root


async def _logged(nats_url: str, entity: str) -> list[dict[str, object]]:
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


@pytest.mark.parametrize(
    ("ledger", "no_browser", "tenant"),
    [
        ("qbo", True, "sandbox-realm"),
        ("xero", False, xero_sandbox.DEFAULT_TENANT_ID),
        ("sage", False, sage_sandbox.DEFAULT_BUSINESS_ID),
        # its registered redirect URI is not on this machine: pasted back without the flag
        ("freshbooks", None, freshbooks_sandbox.DEFAULT_ACCOUNT_ID),
    ],
)
def test_connect_then_sync_with_the_stored_tokens(
    tmp_path: Path, nats: EmbeddedNats, ledger: str, no_browser: bool | None, tenant: str
) -> None:
    sandbox = SandboxServer(ledger, tmp_path / "sandbox").start()
    try:
        data = tmp_path / "state"
        env = _env(nats, data, ledger, sandbox.url)
        _spend_first_grant(ledger, sandbox.url)

        code, out, err = _connect(env, ledger, no_browser=no_browser)
        assert code == 0, (out, err)
        assert f" {tenant}" in out and "syncledger sync --once" in out

        tokens = data / "tokens" / f"{ledger}.json"
        assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
        stored = json.loads(tokens.read_text())
        for secret in (stored["access_token"], stored["refresh_token"]):
            assert secret not in out + err
        record = json.loads((data / "tokens" / f"{ledger}.connection.json").read_text())
        assert record["tenant"] == tenant

        assert _cli(env, "import", str(_csv(tmp_path / "csv"))).returncode == 0
        synced = _cli(env, "sync", "--once")
        assert synced.returncode == 0, (synced.stdout, synced.stderr)
        assert sandbox.counts()["invoice"] == 1

        logged = asyncio.run(_logged(nats.url, f"connect-{ledger}"))
        assert [e["data"]["tenant"] for e in logged] == [tenant]  # type: ignore[index]
        assert stored["refresh_token"] not in json.dumps(logged)

        shown = _cli(env, "connections", "--json")
        rows = {r["ledger"]: r for r in json.loads(shown.stdout)["connections"]}
        assert rows[ledger]["status"] == "connected" and rows[ledger]["tenant"] == tenant
        assert rows[ledger]["last_refresh"]
        other = "xero" if ledger == "qbo" else "qbo"
        assert rows[other]["status"] == "never"
        assert rows[other]["reconnect"] == f"syncledger connect {other}"
    finally:
        sandbox.stop()


def test_the_sandbox_command_prints_how_to_connect(tmp_path: Path) -> None:
    sandbox = SandboxServer("qbo", tmp_path).start()
    try:
        pass
    finally:
        sandbox.stop()
    printed = sandbox.log.read_text()
    assert qbo_sandbox.DEFAULT_CLIENT_ID in printed and qbo_sandbox.DEFAULT_CLIENT_SECRET in printed
    assert "sandbox-realm" in printed
    assert f"SYNCLEDGER_LEDGER_URL={sandbox.url} syncledger connect qbo --no-browser" in printed
