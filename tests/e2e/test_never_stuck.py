"""Never stuck, never silent (issue 19 §5), with real processes: ``syncledger sync --once``
against a served QBO sandbox or a ledger that is not there ends in one line and a
non-zero exit, never a wait until killed; and no line or log record it writes shows a
password from a NATS or ledger URL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.pipeline import ingest_items
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from tests.support.processes import SandboxServer
from tests.support.records import customer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "stuck"
PASSWORD = "Pa55-w0rd-never-shown"
HANG_GUARD_S = 120  # a deadline against hangs, not a timing assertion


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer("qbo", tmp_path / "ledger").start()
    yield server
    server.stop()


async def import_customers(cfg: Settings, count: int) -> None:
    async def gen() -> AsyncIterator[SourceItem]:
        for i in range(1, count + 1):
            yield customer(f"c{i}")

    async with open_runtime(cfg) as rt:
        await ingest_items(rt, gen())


def cli(
    args: list[str], env: dict[str, str], *, debug_logs: bool = False
) -> subprocess.CompletedProcess[str]:
    """``syncledger ARGS`` in a fresh process; with ``debug_logs`` every logger writes at
    DEBUG (``SYNCLEDGER_LOG_LEVEL=debug``) through the CLI's own handlers (so what it
    masks, it masks for all of them)."""
    code = "from syncledger.core.cli import main; main()"
    debug = {"SYNCLEDGER_LOG_LEVEL": "debug"} if debug_logs else {}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env, **debug},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


def env_for(tmp_path: Path, nats: EmbeddedNats, ledger_url: str) -> dict[str, str]:
    return {
        "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_LEDGER_URL": ledger_url,
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_LEDGER_WAIT_S": "3",
    }


async def prepared(tmp_path: Path, nats: EmbeddedNats, ledger_url: str) -> dict[str, str]:
    env = env_for(tmp_path, nats, ledger_url)
    cfg = Settings(data_dir=tmp_path / "state", nats_url=nats.url, entity=ENTITY)
    await import_customers(cfg, 3)
    return env


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


async def test_a_broken_token_file_ends_sync_once_with_one_line(
    tmp_path: Path, nats_server: EmbeddedNats, sandbox: SandboxServer
) -> None:
    env = await prepared(tmp_path, nats_server, sandbox.url)
    token_file = tmp_path / "state" / "tokens" / "qbo.json"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("{not json")
    token_file.chmod(0o600)
    result = cli(["sync", "--once"], env)
    assert result.returncode == 2  # a credential to fix is a configuration error
    assert one_line(result.stderr) == (
        f"error: cannot authenticate to QuickBooks Online at {sandbox.url}: the token file "
        f"{token_file} is not valid JSON: delete it and set SYNCLEDGER_QBO_REFRESH_TOKEN to a "
        "refresh token from a new authorisation of the connection"
    )
    assert sandbox.counts()["customer"] == 0


async def test_run_stops_with_one_line_on_a_broken_token_file(
    tmp_path: Path, nats_server: EmbeddedNats, sandbox: SandboxServer
) -> None:
    env = await prepared(tmp_path, nats_server, sandbox.url)
    token_file = tmp_path / "state" / "tokens" / "qbo.json"
    token_file.parent.mkdir(parents=True)
    token_file.write_text('{"access_token": "a"}')
    token_file.chmod(0o600)
    result = cli(["run"], env)
    assert result.returncode == 2  # a credential to fix is a configuration error
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: the token file {token_file} is not a token file (no access/refresh token): "
        "delete it and set SYNCLEDGER_QBO_REFRESH_TOKEN to a refresh token from a new "
        "authorisation of the connection"
    ]
    assert sandbox.counts()["customer"] == 0


async def test_a_refused_client_secret_ends_sync_once_with_one_line(
    tmp_path: Path, nats_server: EmbeddedNats, sandbox: SandboxServer
) -> None:
    env = await prepared(tmp_path, nats_server, sandbox.url)
    result = cli(["sync", "--once"], {**env, "SYNCLEDGER_QBO_CLIENT_SECRET": PASSWORD})
    assert result.returncode == 2  # a credential to fix is a configuration error
    line = one_line(result.stderr)
    assert line.startswith(f"error: cannot authenticate to QuickBooks Online at {sandbox.url}: ")
    assert "(invalid_client)" in line
    assert "SYNCLEDGER_QBO_CLIENT_ID, SYNCLEDGER_QBO_CLIENT_SECRET" in line
    assert PASSWORD not in result.stderr + result.stdout
    assert sandbox.counts()["customer"] == 0


async def test_a_ledger_that_is_not_there_ends_with_one_line_and_its_records_wait(
    tmp_path: Path, nats_server: EmbeddedNats, sandbox: SandboxServer
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = await prepared(tmp_path, nats_server, nowhere)
    result = cli(["sync", "--once"], env)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert line.startswith(f"error: QuickBooks Online at {nowhere} did not answer for 3 s (")
    assert line.endswith("; 3 records wait and will be pushed when it is back")

    back = cli(["sync", "--once"], {**env, "SYNCLEDGER_LEDGER_URL": sandbox.url})
    assert back.returncode == 0, back.stderr
    assert sandbox.counts()["customer"] == 3  # nothing was given up while it was away


async def test_no_line_or_log_record_shows_a_url_password(
    tmp_path: Path, nats_server: EmbeddedNats
) -> None:
    ledger_url = f"http://books:{PASSWORD}@127.0.0.1:{free_port()}"
    env = await prepared(tmp_path, nats_server, ledger_url)
    away = cli(["sync", "--once"], env, debug_logs=True)
    assert away.returncode == 3
    assert "QuickBooks Online at http://books:***@127.0.0.1:" in away.stderr
    refused_url = f"nats://syncledger:{PASSWORD}@127.0.0.1:{nats_server.port}"
    refused = cli(["status"], {**env, "SYNCLEDGER_NATS_URL": refused_url}, debug_logs=True)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].startswith("error: NATS at ")
    for result in (away, refused):
        assert "DEBUG" in result.stderr  # every logger wrote: the check below covers them
        assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what", ["nothing listening", "an HTTP server"])
def test_a_nats_url_that_is_no_nats_server_ends_with_one_line(tmp_path: Path, what: str) -> None:
    port = free_port()
    http = None
    if what == "an HTTP server":
        http = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(port)
    try:
        (tmp_path / "state").mkdir()  # a read command needs its data directory
        env = {
            "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
            "SYNCLEDGER_NATS_URL": f"nats://app:hunter2secret@127.0.0.1:{port}",
        }
        result = cli(["status"], env)
    finally:
        if http is not None:
            http.kill()
            http.wait()
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert "cannot reach NATS" in line and f"127.0.0.1:{port}" in line
    assert "hunter2secret" not in result.stderr + result.stdout


def wait_listening(port: int) -> None:
    import socket
    import time

    end = time.monotonic() + 10
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the HTTP server never listened")
