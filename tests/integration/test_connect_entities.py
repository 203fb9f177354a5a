"""``syncledger connect <ledger> --entity <name>``: each entity with a ledger of its own
(an ``[entity_ledgers.<name>]`` table naming its URL: its own company) is connected to its
own sandbox company and keeps its tokens where that entity reads them
(``<data dir>/tokens/<entity>/<ledger>.json``); ``sync --once --entity`` then pushes with
those tokens alone (each sandbox's built-in first grant is spent first, and a token one
sandbox issued means nothing to the other); ``connections`` lists each entity's own
connection; an entity the configuration does not name is one line and exit 2.

Everything runs as processes against served sandboxes and an embedded nats-server, as in
``test_connect.py`` / ``test_connect_tokens.py``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.adapters.odoo.sandbox import server as odoo_sandbox
from syncledger.core.embedded import EmbeddedNats, free_port
from tests.integration.test_connect import _connect, _csv, _spend_first_grant
from tests.support.processes import SandboxServer

pytestmark = [pytest.mark.integration]
ENTITIES = ("north", "south")


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


def _env(nats: EmbeddedNats, data: Path, ledger: str, urls: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
    tables = {entity: {"ledger_url": url} for entity, url in urls.items()}
    return env | {
        "SYNCLEDGER_DATA_DIR": str(data),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_LEDGER": ledger,
        "SYNCLEDGER_ENTITIES": ",".join(urls),
        "SYNCLEDGER_ENTITY_LEDGERS": json.dumps(tables),
        "BROWSER": "true",
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _connect_qbo(env: dict[str, str], entity: str) -> tuple[int, str, str]:
    """``connect qbo --entity <entity> --no-browser`` as a process, its authorization URL
    followed as a browser would and the address it ends on pasted back."""
    return _connect(env, "qbo", "--entity", entity, no_browser=True)


def _rows(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    shown = _cli(env, "connections", "--json", *args)
    assert shown.returncode == 0, shown.stderr
    rows: list[dict[str, object]] = json.loads(shown.stdout)["connections"]
    return rows


def _one_line_refusal(done: subprocess.CompletedProcess[str], entity: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"unknown entity '{entity}'" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_each_entity_connects_its_own_company_and_syncs_with_its_own_tokens(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    sandboxes = {e: SandboxServer("qbo", tmp_path / f"ledger-{e}").start() for e in ENTITIES}
    try:
        data = tmp_path / "state"
        env = _env(nats, data, "qbo", {e: s.url for e, s in sandboxes.items()})
        for entity, sandbox in sandboxes.items():
            _spend_first_grant("qbo", sandbox.url)
            code, out, err = _connect_qbo(env, entity)
            assert code == 0, (out, err)
            assert f"for entity {entity}" in out and f"sync --once --entity {entity}" in out

        assert not (data / "tokens" / "qbo.json").exists()  # nothing in the shared place
        stored = {}
        for entity in ENTITIES:
            tokens = data / "tokens" / entity / "qbo.json"
            assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
            stored[entity] = json.loads(tokens.read_text())["refresh_token"]
            assert (data / "tokens" / entity / "qbo.connection.json").exists()
        assert stored["north"] != stored["south"]

        rows = _rows(env)
        mine = {r["entity"]: r for r in rows if r["entity"] is not None}
        assert set(mine) == set(ENTITIES)
        assert all(r["ledger"] == "qbo" and r["status"] == "connected" for r in mine.values())
        shared = {r["ledger"]: r for r in rows if r["entity"] is None}
        assert shared["qbo"]["status"] == "never"
        assert [r["entity"] for r in _rows(env, "--entity", "south")] == ["south"]
        text = _cli(env, "connections").stdout
        assert any(
            line.startswith("north/qbo") and "connected" in line for line in text.split("\n")
        )

        for n, (entity, sandbox) in enumerate(sandboxes.items()):
            folder = _csv(tmp_path / f"csv-{entity}")
            assert _cli(env, "import", str(folder), "--entity", entity).returncode == 0
            synced = _cli(env, "sync", "--once", "--entity", entity)
            assert synced.returncode == 0, (synced.stdout, synced.stderr)
            assert sandbox.counts()["invoice"] == 1
            later = list(sandboxes.values())[n + 1 :]
            assert all(s.counts().get("invoice", 0) == 0 for s in later)  # its own company only
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()


def test_an_entity_the_configuration_does_not_name_is_refused(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    env = _env(nats, tmp_path / "state", "qbo", {"north": "http://127.0.0.1:9"})
    _one_line_refusal(_cli(env, "connect", "qbo", "--entity", "west"), "west")
    _one_line_refusal(_cli(env, "connections", "--entity", "west"), "west")
    assert not (tmp_path / "state" / "tokens").exists()


def test_odoo_credentials_are_kept_per_entity(tmp_path: Path, nats: EmbeddedNats) -> None:
    sandbox = SandboxServer("odoo", tmp_path / "sandbox").start()
    try:
        data = tmp_path / "state"
        env = _env(nats, data, "odoo", {"north": sandbox.url, "south": sandbox.url})
        key = {"SYNCLEDGER_ODOO_API_KEY": odoo_sandbox.DEFAULT_API_KEY}
        flags = ("--database", odoo_sandbox.DEFAULT_DATABASE, "--entity", "north")
        done = _cli(env | key, "connect", "odoo", *flags)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert (data / "tokens" / "north" / "odoo.credentials.json").exists()
        assert not (data / "tokens" / "odoo.credentials.json").exists()

        assert _cli(env, "import", str(_csv(tmp_path / "csv")), "--entity", "north").returncode == 0
        synced = _cli(env, "sync", "--once", "--entity", "north")  # the key only in its file
        assert synced.returncode == 0, (synced.stdout, synced.stderr)
        assert sandbox.counts()["invoice"] == 1

        south = {r["entity"]: r["status"] for r in _rows(env) if r["entity"] is not None}
        assert south == {"north": "connected", "south": "never"}
    finally:
        sandbox.stop()
