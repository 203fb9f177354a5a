"""The log itself, with real processes (issue 19 §4).

- However many commands start at once on a stopped data directory, one embedded
  nats-server serves them (never two on one store), and no event is lost or doubled.
- A server other processes use outlives the ``run`` that started it (SIGTERM).
- ``run`` ends with one line and a non-zero exit when its server dies.
- A log that was deleted, corrupted or replaced by an empty one stops every command with
  one line; syncledger never starts a fresh log in its place.
- A missing key-encryption key beside its keystore stops every command; none is made.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nats
import nats.js.errors
import pytest

from syncledger.core.bootstrap import kek_file, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.settings import Settings
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import observed
from tests.support.processes import Proc, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TRIALS = 20
STREAM_DIR = Path("nats", "jetstream", "jetstream", "$G", "streams", "SYNCLEDGER")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")}
    return {**env, **extra}


def folder(path: Path, ids: list[str]) -> Path:
    """A small import folder: customers only (invoice and payment files hold headers)."""
    path.mkdir(parents=True)
    rows = "".join(f"{i},Customer {i},USD,2026-01-01T00:00:00Z\n" for i in ids)
    (path / "customers.csv").write_text("id,name,currency,updated_at\n" + rows)
    (path / "invoices.csv").write_text(
        "id,number,customer_id,issue_date,currency,total,updated_at,description,quantity,"
        "unit_price\n"
    )
    (path / "payments.csv").write_text(
        "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
    )
    return path


def at_once(out: Path, commands: list[list[str]]) -> tuple[list[int], list[str]]:
    """Run ``commands`` as processes released at the same instant; exit codes, outputs."""
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.concurrent_cli", json.dumps(commands), str(out)],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    logs = [(out / f"command-{i}.log").read_text() for i in range(len(commands))]
    return json.loads(result.stdout), logs


_LINE = re.compile(r"^\[(\d+)\] (\S+ \S+) \[INF\] (Starting nats-server|Server Exiting)")


def server_lives(data: Path) -> list[tuple[int, datetime, datetime | None]]:
    """Each nats-server that ran on ``data``'s store: pid, start, end (from its log)."""
    lives: dict[int, list[datetime | None]] = {}
    for line in (data / "nats" / "nats-server.log").read_text().splitlines():
        found = _LINE.match(line)
        if found:
            at = datetime.strptime(found[2], "%Y/%m/%d %H:%M:%S.%f")
            span = lives.setdefault(int(found[1]), [None, None])
            span[0 if found[3].startswith("Starting") else 1] = at
    return [(pid, start, end) for pid, (start, end) in lives.items() if start is not None]


def recorded(data: Path) -> dict[str, int] | None:
    try:
        raw = json.loads((data / "nats" / "server.json").read_text())
    except FileNotFoundError:
        return None
    return {"pid": int(raw["pid"]), "port": int(raw["port"])}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


async def refs_in_log(data: Path) -> list[str]:
    async with open_runtime(Settings(data_dir=data)) as rt:
        return [json.loads(e.raw)["data"]["ref"] async for e in rt.store.read()]


def status(data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", "status", "--data-dir", str(data)],
        cwd=REPO,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(900)
async def test_commands_started_at_once_share_one_server_and_lose_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # `status` reads: where no data directory exists it says so and creates nothing
    # (exit 2), which is not what this test is about — the directory exists, empty
    data.mkdir()
    expected: list[str] = []
    shared = 0
    for trial in range(TRIALS):
        a_ids = [f"A{trial}-{i}" for i in range(2)]
        b_ids = [f"B{trial}-{i}" for i in range(3)]
        a = folder(tmp_path / f"in-a{trial}", a_ids)
        b = folder(tmp_path / f"in-b{trial}", b_ids)
        before = len(server_lives(data)) if (data / "nats").exists() else 0
        codes, logs = at_once(
            tmp_path / f"trial-{trial}",
            [
                ["import", str(a), "--data-dir", str(data)],
                ["import", str(b), "--data-dir", str(data)],
                ["status", "--data-dir", str(data)],
            ],
        )
        assert codes == [0, 0, 0], logs
        assert recorded(data) is None, "the last command out must stop the server"
        shared += len(server_lives(data)) - before == 1
        expected += [f"csv/customer/{i}" for i in a_ids + b_ids]
        assert sorted(await refs_in_log(data)) == sorted(expected)  # none lost, none twice
    lives = sorted(server_lives(data), key=lambda life: life[1])
    assert all(end is not None for _, _, end in lives), "every server was stopped"
    for (pid, _, end), (next_pid, start, _) in itertools.pairwise(lives):
        assert end is not None and end <= start, f"servers {pid} and {next_pid} shared the store"
    print(f"{shared} of {TRIALS} trials: all three commands on one server")
    assert shared > 0, "commands started together never shared a running server"


@pytest.mark.timeout(300)
async def test_a_server_other_processes_use_outlives_the_run_that_started_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    run = Proc(["run", "--data-dir", str(data)], clean_env(), tmp_path / "run.log").start()
    try:
        wait_for(lambda: recorded(data) is not None, "run to start the embedded server")
        server = recorded(data)
        assert server is not None
        async with open_runtime(Settings(data_dir=data)) as rt:
            assert rt.embedded is not None and rt.embedded.pid == server["pid"]  # joined it
            await _until_worker_consumes(rt.nc)
            run.stop()  # SIGTERM
            assert run.popen is not None and run.popen.returncode == 0, (
                tmp_path / "run.log"
            ).read_text()
            assert alive(server["pid"]), "SIGTERM to run stopped a server still in use"
            [seq] = await rt.store.append([observed("after-sigterm", entity="demo")])
            assert await rt.store.last_seq() == seq
        assert not alive(server["pid"]), "the last process out stops the server"
        assert recorded(data) is None
    finally:
        run.kill()


async def _until_worker_consumes(nc: nats.NATS) -> None:
    js = nc.jetstream()
    for _ in range(600):
        try:
            await js.consumer_info("SYNCLEDGER", "sync-demo-qbo")
            return
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.1)
    raise AssertionError("run's worker never started consuming")


@pytest.mark.timeout(300)
async def test_run_ends_with_one_line_when_its_server_dies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "run.log"
    env = clean_env(SYNCLEDGER_NATS_RECONNECT_S="2")
    run = Proc(["run", "--data-dir", str(data)], env, log).start()
    try:
        wait_for(lambda: recorded(data) is not None, "run to start the embedded server")
        server = recorded(data)
        assert server is not None
        nc = await nats.connect(EmbeddedNats(data, port=server["port"]).url)
        await _until_worker_consumes(nc)
        await nc.close()
        os.kill(server["pid"], signal.SIGKILL)
        wait_for(lambda: run.popen is not None and run.popen.poll() is not None, "run to stop")
        assert run.popen is not None and run.popen.returncode != 0
        lines = log.read_text().splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        assert errors == [lines[-1]], log.read_text()
        assert "lost the connection to NATS" in lines[-1]
        assert recorded(data) is None
    finally:
        run.kill()


async def _a_log_of_three(data: Path) -> Path:
    async with open_runtime(Settings(data_dir=data)) as rt:
        await rt.store.append([observed(f"r{i}", entity="demo") for i in range(3)])
    assert (data / STREAM_DIR).is_dir()
    return data / STREAM_DIR


async def _replace_with_an_empty_stream(data: Path) -> None:
    """What an operator's `nats stream rm` + re-add would leave: the same name, empty."""
    with EmbeddedNats(data, stream=None) as server:
        admin = await nats.connect(server.admin_url)
        await admin.jetstream().delete_stream("SYNCLEDGER")
        await JetStreamEventStore(admin).ensure_stream(create=True)
        await admin.close()


async def _messages(data: Path) -> int:
    with EmbeddedNats(data, stream=None) as server:
        admin = await nats.connect(server.admin_url)
        info = await admin.jetstream().stream_info("SYNCLEDGER")
        await admin.close()
    return int(info.state.messages)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("damage", ["deleted", "corrupted", "replaced"])
async def test_a_lost_log_stops_every_command_and_no_fresh_one_is_made(
    tmp_path: Path, damage: str
) -> None:
    data = tmp_path / "data"
    stream = await _a_log_of_three(data)
    if damage == "deleted":
        shutil.rmtree(data / "nats" / "jetstream")
    elif damage == "corrupted":
        (stream / "meta.inf").write_bytes(b"not a stream")
    else:
        await _replace_with_an_empty_stream(data)
    result = status(data)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: the log"), (
        result.stderr
    )
    assert str(data) in result.stderr
    assert "new, empty log" in result.stderr or "events were lost" in result.stderr
    if damage == "deleted":
        assert not stream.exists()
    elif damage == "corrupted":
        assert (stream / "meta.inf").read_bytes() == b"not a stream"
    else:
        assert await _messages(data) == 0
    assert recorded(data) is None


@pytest.mark.timeout(300)
async def test_a_missing_kek_beside_its_keystore_stops_every_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _a_log_of_three(data)
    kek = kek_file(Settings(data_dir=data)).path  # away from the data directory
    assert kek.exists() and not (data / "kek.key").exists()
    kek.unlink()
    typo = data / "kek.kye"
    for result, missing in (
        (status(data), kek),
        (status(data, SYNCLEDGER_KEK_FILE=str(typo)), typo),
    ):
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1, result.stderr
        assert str(missing) in result.stderr and str(data / "keys.db") in result.stderr
        assert not missing.exists(), "a new key was made"


@pytest.mark.timeout(300)
async def test_a_missing_keystore_beside_its_log_stops_every_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _a_log_of_three(data)
    keys = data / "keys.db"
    keys.unlink()
    result = status(data)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(keys) in result.stderr and "restore" in result.stderr
    assert not keys.exists(), "an empty keystore was started over the log"
