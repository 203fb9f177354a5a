"""``audit keys backup`` / ``restore-test`` (issue 18): a keys.db backup with its KEK is
proved to restore — every live data key unwraps, one sealed field per subject in the log
decrypts — or the test fails and says what; nothing is written to the data directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncledger.audit import cli
from syncledger.audit.context import AuditContext
from syncledger.audit.escrow import split_kek
from syncledger.audit.escrow_kek import write_shares
from syncledger.audit.restore import RestoreReport, backup_keystore, run_restore_test
from syncledger.audit.sample import write_sample_log
from syncledger.core.key_environment import EnvironmentMismatch
from syncledger.core.keystore import SqliteKeyStore, kek_id_of, load_or_create_kek
from syncledger.core.store_memory import MemoryEventStore

START = datetime(2024, 1, 1, tzinfo=UTC)
#: the CSV import's other files (docs/csv.md), empty
HEADERS = {
    "invoices.csv": "id,number,customer_id,issue_date,due_date,currency,exchange_rate,discount,"
    "total,status,updated_at,description,quantity,unit_price,tax_amount,item_code,line_type",
    "payments.csv": "id,customer_id,invoice_id,amount,currency,paid_on,method,reference,updated_at",
}
runner = CliRunner()


def data_dir(tmp_path: Path, environment: str = "dev", customers: int = 3) -> AuditContext:
    """A data directory: keys.db + KEK file (real files), a sample log sealed with them."""
    data = tmp_path / "data"
    kek_file = tmp_path / "secrets" / "kek.key"
    kek = load_or_create_kek(kek_file)
    keys = SqliteKeyStore(data / "keys.db", kek, kek_id_of(kek), environment)
    ctx = AuditContext(MemoryEventStore(), keys, data, "acme", "ops", kek_file=kek_file)
    asyncio.run(write_sample_log(ctx.store, keys, customers=customers, start=START))
    return ctx


def subject_keys(ctx: AuditContext) -> list[str]:
    live, _ = ctx.keystore.key_ids()  # type: ignore[attr-defined]
    return list(live)


def restore(
    ctx: AuditContext,
    backup: Path,
    *,
    shares: list[Path] | None = None,
    kek_file: Path | None = None,
) -> RestoreReport:
    return asyncio.run(run_restore_test(ctx, backup, shares or [], kek_file))


def digest_tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_a_backup_restores_every_live_key_and_a_field_per_subject(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path)
    victim = subject_keys(ctx)[0]
    ctx.keystore.shred(victim)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "bk" / "keys.db", "dev")
    assert backup.live_keys == 2 and backup.environment == "dev"
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600
    before = digest_tree(ctx.data_dir)
    report = restore(ctx, backup.path)
    assert report.ok, report.lines()
    assert (report.restorable, report.shredded, report.failed) == (2, 1, [])
    assert (report.opened, report.erased, report.sample_failed, report.missing) == (2, 1, [], [])
    assert report.lines()[0].startswith("OK: ")
    assert digest_tree(ctx.data_dir) == before  # nothing written to the data directory


def test_a_wal_format_backup_is_only_read(tmp_path: Path) -> None:
    """As `sqlite3 keys.db ".backup …"` makes it (still in WAL format), in a path a URI
    must escape: tested without a lock, a -wal or a -shm appearing beside it."""
    ctx = data_dir(tmp_path)
    shelf = tmp_path / "back ups #1?"
    shelf.mkdir()
    backup = shelf / "keys.db"
    live = sqlite3.connect(ctx.data_dir / "keys.db")
    copy = sqlite3.connect(backup)
    live.backup(copy)
    copy.close()
    live.close()
    assert backup.read_bytes()[18:20] == b"\x02\x02"  # the WAL format, as copied
    before = digest_tree(shelf)
    assert restore(ctx, backup).ok
    assert digest_tree(shelf) == before


def test_a_backup_is_never_written_over(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path)
    out = tmp_path / "keys.bak"
    out.write_bytes(b"earlier backup")
    with pytest.raises(Exception, match="already exists"):
        backup_keystore(ctx.data_dir / "keys.db", out, "dev")
    assert out.read_bytes() == b"earlier backup"


def test_a_wrong_kek_fails_every_key(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "dev").path
    wrong = tmp_path / "wrong.key"
    load_or_create_kek(wrong)
    report = restore(ctx, backup, kek_file=wrong)
    assert not report.ok
    assert report.restorable == 0 and len(report.failed) == 3 and len(report.sample_failed) == 3
    assert report.lines()[0].startswith("FAILED: ")


def test_a_damaged_wrapped_key_fails_that_key(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "dev").path
    damaged = subject_keys(ctx)[1]
    db = sqlite3.connect(backup)
    (wrapped,) = db.execute("SELECT wrapped FROM data_keys WHERE key_id=?", (damaged,)).fetchone()
    flipped = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    db.execute("UPDATE data_keys SET wrapped=? WHERE key_id=?", (flipped, damaged))
    db.commit()
    db.close()
    report = restore(ctx, backup)
    assert not report.ok
    assert report.failed == [damaged] and report.restorable == 2
    assert report.sample_failed == [damaged]
    assert f"  does not unwrap: {damaged}" in report.lines()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_corrupted_backup_file_fails_in_one_line(tmp_path: Path, damage: str) -> None:
    ctx = data_dir(tmp_path)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "dev").path
    raw = backup.read_bytes()
    backup.write_bytes(raw[:3000] if damage == "truncated" else os.urandom(len(raw)))
    report = restore(ctx, backup)
    assert not report.ok and report.unreadable is not None
    (line,) = report.lines()
    assert line.startswith(f"FAILED: {backup} ")


def test_subjects_added_after_the_backup_are_reported_missing(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path, customers=2)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "dev").path
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=3, start=START))
    report = restore(ctx, backup)
    assert not report.ok and len(report.missing) == 1 and report.opened == 2


def test_a_backup_of_another_environment_is_refused(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path, "prod")
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "prod").path
    dev = data_dir(tmp_path / "dev", "dev")
    with pytest.raises(EnvironmentMismatch, match=r"keys\.bak was made for the prod"):
        restore(dev, backup)
    with pytest.raises(EnvironmentMismatch):
        backup_keystore(ctx.data_dir / "keys.db", tmp_path / "other.bak", "dev")


def test_the_kek_may_come_from_escrow_shares(tmp_path: Path) -> None:
    ctx = data_dir(tmp_path)
    backup = backup_keystore(ctx.data_dir / "keys.db", tmp_path / "keys.bak", "dev").path
    kek = load_or_create_kek(tmp_path / "secrets" / "kek.key")
    files = write_shares(split_kek(kek, "dev", ["a", "b", "c"], 2), tmp_path / "shares")
    assert restore(ctx, backup, shares=files[1:]).ok
    with pytest.raises(Exception, match="2 needed"):
        restore(ctx, backup, shares=files[:1])


# ---------------------------------------------------------------- the commands


@pytest.fixture
def wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AuditContext]:
    ctx = data_dir(tmp_path)
    monkeypatch.setenv("SYNCLEDGER_DATA_DIR", str(ctx.data_dir))
    monkeypatch.delenv("SYNCLEDGER_ENVIRONMENT", raising=False)

    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield ctx

    cli.set_context_factory(factory)
    yield ctx
    cli._factory = None


def test_backup_and_restore_test_commands(wired: AuditContext, tmp_path: Path) -> None:
    out = tmp_path / "bk" / "keys.db"
    made = runner.invoke(cli.audit_app, ["keys", "backup", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "backed up 3 live data keys (dev" in made.stdout
    ok = runner.invoke(cli.audit_app, ["keys", "restore-test", "--keys-db", str(out)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"OK: {out} with kek-")
    both = ["--kek-file", "k", "--share", "s"]
    refused = runner.invoke(cli.audit_app, ["keys", "restore-test", "--keys-db", str(out), *both])
    assert refused.exit_code == 2 and "not both" in refused.stderr
    out.write_bytes(b"not a database at all, just some bytes" * 200)
    bad = runner.invoke(cli.audit_app, ["keys", "restore-test", "--keys-db", str(out)])
    assert bad.exit_code == 1
    assert bad.stderr.startswith(f"FAILED: {out} ")


def test_the_real_commands_back_up_and_prove_a_restore(tmp_path: Path) -> None:
    """Real processes on a real data directory (embedded log server): import personal data,
    back keys.db up, escrow the KEK, lose it, recover it from two shares, restore-test."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, header in HEADERS.items():
        (csv_dir / name).write_text(header + "\n")
    (csv_dir / "customers.csv").write_text(
        "id,name,currency,contact_name,email,phone,tax_id,billing_address,updated_at\n"
        + "".join(
            f"C{i},Customer {i},USD,Person {i},p{i}@example.com,,,,2026-01-01\n" for i in range(3)
        )
    )
    env = {**os.environ, "SYNCLEDGER_DATA_DIR": str(tmp_path / "data")}
    env["SYNCLEDGER_KEK_FILE"] = str(tmp_path / "secrets" / "kek.key")
    env["SYNCLEDGER_ENVIRONMENT"] = "staging"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncledger.core.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            cwd=tmp_path,
        )

    imported = run("import", str(csv_dir))
    assert imported.returncode == 0, imported.stderr
    backup = run("audit", "keys", "backup", "--out", "keys.bak")
    assert backup.returncode == 0, backup.stderr
    escrow = run(
        "audit", "keys", "escrow", "--custodians", "3", "--threshold", "2", "--out-dir", "shares"
    )
    assert escrow.returncode == 0, escrow.stderr
    shares = sorted(str(p) for p in (tmp_path / "shares").iterdir())
    kek_file = tmp_path / "secrets" / "kek.key"
    kek = kek_file.read_bytes()
    kek_file.unlink()
    lost = run("audit", "keys", "restore-test", "--keys-db", "keys.bak")
    assert lost.returncode == 2, lost.stderr
    assert "key-encryption key" in lost.stderr and "is missing" in lost.stderr
    recover = run("audit", "keys", "recover", "--share", shares[0], "--share", shares[2])
    assert recover.returncode == 0, recover.stderr
    assert kek_file.read_bytes() == kek
    test = run("audit", "keys", "restore-test", "--keys-db", "keys.bak")
    assert test.returncode == 0, test.stderr
    counted = re.search(r"data keys (\d+) restorable, 0 shredded, 0 failed; (.*)", test.stdout)
    assert counted is not None, test.stdout
    assert int(counted[1]) >= 3  # the customers' keys (and any other data key made)
    assert counted[2] == "log subjects 3 opened, 0 erased, 0 failed, 0 missing from the backup"
