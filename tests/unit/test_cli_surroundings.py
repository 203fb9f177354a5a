"""Broken surroundings (issue 16's list of bad inputs that ended in tracebacks or
"internal error"): each ends with one line naming what is wrong and what to do, and the
exit code of README's table — never a traceback, never "internal error"."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncledger.core.keystore import SqliteKeyStore, load_or_create_kek


def cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.returncode == code, result.stderr
    return lines[0]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A data directory whose keystore holds a data key (as after a first import)."""
    data = tmp_path / "state"
    kek = load_or_create_kek(data / "kek.key", keystore=data / "keys.db")
    keys = SqliteKeyStore(data / "keys.db", kek)
    keys.data_key("dsk-1", create=True)
    keys.close()
    return data


def test_a_truncated_kek_names_the_file_and_the_backup(state: Path) -> None:
    (state / "kek.key").write_text((state / "kek.key").read_text()[:20])
    line = one_line(cli(["status", "--data-dir", str(state)], state.parent), 2)
    assert line.startswith(f"error: the key-encryption key {state / 'kek.key'} does not hold")
    assert line.endswith("restore it from your backup")


def test_a_kek_that_is_not_base64_names_the_file_and_the_backup(state: Path) -> None:
    (state / "kek.key").write_text("this is not base64 at all!")
    line = one_line(cli(["errors", "--data-dir", str(state)], state.parent), 2)
    assert line == (
        f"error: cannot read the key-encryption key {state / 'kek.key'}: it is not base64 "
        "(Error): restore it from your backup"
    )


def test_a_corrupt_keystore_names_the_file_and_the_backup(state: Path) -> None:
    for leftover in state.glob("keys.db-*"):
        leftover.unlink()
    (state / "keys.db").write_bytes(b"garbage " * 512)
    line = one_line(cli(["status", "--data-dir", str(state)], state.parent), 2)
    assert line.startswith(f"error: the keystore {state / 'keys.db'} cannot be read (")
    assert "restore it from your backup" in line
    assert (state / "keys.db").read_bytes() == b"garbage " * 512  # left as it was


def test_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    csv = tmp_path / "csv"
    csv.mkdir()
    line = one_line(cli(["import", str(csv), "--data-dir", str(a_file)], tmp_path), 2)
    assert line.startswith(f"error: the data directory {a_file} is a file, not a directory")
    assert a_file.read_text() == "x"


def test_a_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "state"
    csv = tmp_path / "csv"
    csv.mkdir()
    line = one_line(cli(["import", str(csv), "--data-dir", str(target)], tmp_path), 2)
    assert line.startswith(f"error: cannot create the data directory {target} (")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_an_unwritable_data_dir(tmp_path: Path) -> None:
    target = tmp_path / "state"
    target.mkdir(mode=0o500)
    csv = tmp_path / "csv"
    csv.mkdir()
    try:
        line = one_line(cli(["import", str(csv), "--data-dir", str(target)], tmp_path), 2)
    finally:
        target.chmod(0o700)
    assert line.startswith(f"error: cannot write to the data directory {target}")


def test_field_authority_that_is_not_json(state: Path) -> None:
    result = cli(
        ["status", "--data-dir", str(state)],
        state.parent,
        {"SYNCLEDGER_FIELD_AUTHORITY": "invoice=ledger"},
    )
    assert one_line(result, 2) == (
        'error: SYNCLEDGER_FIELD_AUTHORITY is not valid JSON: give {"invoice": "ledger", '
        '"customer": "source"}'
    )


@pytest.mark.parametrize("url", ["garbage", "http://127.0.0.1:8222", "nats//host"])
def test_a_garbage_nats_url(state: Path, url: str) -> None:
    result = cli(["status", "--data-dir", str(state)], state.parent, {"SYNCLEDGER_NATS_URL": url})
    assert one_line(result, 2).startswith("error: SYNCLEDGER_NATS_URL: not a NATS server URL")


def test_the_kek_is_never_replaced(state: Path) -> None:
    """None of the refusals above writes a new key over the old one."""
    before = base64.b64decode((state / "kek.key").read_text())
    (state / "keys.db").write_bytes(b"garbage " * 512)
    cli(["status", "--data-dir", str(state)], state.parent)
    assert base64.b64decode((state / "kek.key").read_text()) == before
