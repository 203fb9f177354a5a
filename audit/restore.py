"""``audit keys restore-test``: does a keys.db backup, with a KEK, restore?

The backup is copied (SQLite's backup API) into a scratch directory that is removed
afterwards, and opened there with the KEK and the configured environment: nothing is
written to the real data directory, and the backup file is opened read-only and immutable
(no lock, no -wal/-shm beside it). Then every live data key in it is unwrapped, and one
sealed personal field per data subject found in the log is decrypted with it (the first
event sealed under each subject's key).

Counted: data keys restorable / shredded / failed; log subjects opened / erased (shredded
in the backup) / failed / missing (no key in the backup: made after it, and lost if this
backup were restored). The test passes only when nothing failed and nothing is missing.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syncledger.audit.context import AuditContext
from syncledger.audit.escrow_kek import environment_of, recovered_kek
from syncledger.audit.kek import read_kek_file
from syncledger.core.errors import KeyStoreError, SubjectErased
from syncledger.core.events import Envelope, SealedPii
from syncledger.core.key_environment import mismatch
from syncledger.core.keystore import (
    PiiSealer,
    SqliteKeyStore,
    backup_keys_db,
    inspect_keys_db,
    kek_id_of,
    read_only_uri,
)

MAX_LISTED = 5  # failures named in the report; the counts hold them all


@dataclass
class RestoreReport:
    backup: Path
    kek_id: str
    restorable: int = 0
    shredded: int = 0
    failed: list[str] = field(default_factory=list)
    opened: int = 0
    erased: int = 0
    sample_failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: str | None = None  # why the backup could not be opened at all

    @property
    def ok(self) -> bool:
        return not (self.unreadable or self.failed or self.sample_failed or self.missing)

    def lines(self) -> list[str]:
        if self.unreadable is not None:
            return [f"FAILED: {self.unreadable}"]
        verdict = "OK" if self.ok else "FAILED"
        out = [
            f"{verdict}: {self.backup} with {self.kek_id}: data keys {self.restorable} "
            f"restorable, {self.shredded} shredded, {len(self.failed)} failed; log subjects "
            f"{self.opened} opened, {self.erased} erased, {len(self.sample_failed)} failed, "
            f"{len(self.missing)} missing from the backup"
        ]
        out += [f"  does not unwrap: {k}" for k in self.failed[:MAX_LISTED]]
        out += [f"  does not decrypt: {k}" for k in self.sample_failed[:MAX_LISTED]]
        out += [f"  not in the backup: {k}" for k in self.missing[:MAX_LISTED]]
        return out


class UnreadableBackup(KeyStoreError):
    """The backup is not a keys.db SQLite can read (the restore test fails on it)."""


def check_backup(backup: Path, environment: str) -> None:
    """The backup readable and made for ``environment`` (an untagged one is accepted):
    :class:`UnreadableBackup`, or ``EnvironmentMismatch`` naming the backup."""
    if not backup.is_file():
        raise UnreadableBackup(f"{backup} is not a file: give --keys-db a keys.db backup")
    try:
        facts = inspect_keys_db(backup, immutable=True)
    except KeyStoreError as exc:
        why = exc.__cause__ or exc  # SQLite's own words
        raise UnreadableBackup(f"{backup} cannot be read as a keys.db ({why})") from exc
    if facts.environment is not None and facts.environment != environment:
        raise mismatch("the keys.db backup", backup, facts.environment, environment)


def copy_backup(backup: Path, scratch: Path) -> Path:
    """``backup`` copied into ``scratch`` (the backup is opened read-only)."""
    target = scratch / "keys.db"
    try:
        source = sqlite3.connect(read_only_uri(backup, immutable=True), uri=True)
        try:
            backup_keys_db(source, target)
        finally:
            source.close()
    except (sqlite3.Error, KeyStoreError) as exc:
        raise UnreadableBackup(f"{backup} cannot be copied as a keys.db ({exc})") from exc
    return target


async def restore_test(
    ctx: AuditContext, backup: Path, kek: bytes, environment: str
) -> RestoreReport:
    """The report; an ``EnvironmentMismatch`` when the backup is of another environment."""
    report = RestoreReport(backup, kek_id_of(kek))
    try:
        check_backup(backup, environment)
        with tempfile.TemporaryDirectory(prefix="syncledger-restore-") as scratch:
            await _test_copy(ctx, copy_backup(backup, Path(scratch)), kek, report)
    except UnreadableBackup as exc:
        report.unreadable = str(exc)
    return report


async def _test_copy(ctx: AuditContext, copy: Path, kek: bytes, report: RestoreReport) -> None:
    try:
        keys = SqliteKeyStore(copy, kek, kek_id_of(kek))
    except KeyStoreError as exc:
        raise UnreadableBackup(f"{report.backup} cannot be opened as a keys.db") from exc
    try:
        _unwrap_all(keys, report)
        await _sample_log(ctx, keys, report)
    except sqlite3.Error as exc:  # a page damaged beyond what opening it reads
        raise UnreadableBackup(f"{report.backup} is damaged ({exc})") from exc
    finally:
        keys.close()


def _unwrap_all(keys: SqliteKeyStore, report: RestoreReport) -> None:
    live, shredded = keys.key_ids()
    report.shredded = len(shredded)
    for key_id in live:
        try:
            keys.data_key(key_id)
        except KeyStoreError:
            report.failed.append(key_id)
        else:
            report.restorable += 1


async def _sample_log(ctx: AuditContext, keys: SqliteKeyStore, report: RestoreReport) -> None:
    seen: set[str] = set()
    sealer = PiiSealer(keys)
    async for stored in ctx.store.read():
        if b'"pii"' not in stored.raw:
            continue
        envelope = stored.envelope()
        if envelope.pii is None or envelope.pii.key_id in seen:
            continue
        seen.add(envelope.pii.key_id)
        _open_one(sealer, keys, envelope, envelope.pii, report)


def _open_one(
    sealer: PiiSealer,
    keys: SqliteKeyStore,
    envelope: Envelope,
    sealed: SealedPii,
    report: RestoreReport,
) -> None:
    try:
        sealer.open(sealed, envelope.id)
    except SubjectErased:
        report.erased += 1
    except KeyStoreError:
        known = sealed.key_id in set().union(*keys.key_ids())
        (report.sample_failed if known else report.missing).append(sealed.key_id)
    else:
        report.opened += 1


async def run_restore_test(
    ctx: AuditContext, backup: Path, shares: Sequence[Path], kek_file: Path | None
) -> RestoreReport:
    """The restore test with the KEK rebuilt from ``shares``, or read from ``kek_file``
    (default: the KEK in use)."""
    environment = environment_of(ctx)
    if shares:
        kek, _ = recovered_kek(shares, environment)
    else:
        path = kek_file or ctx.kek_file
        if path is None:
            raise KeyStoreError("no KEK file configured: give --kek-file or --share")
        kek = read_kek_file(path)
    return await restore_test(ctx, backup, kek, environment)


@dataclass(frozen=True)
class Backup:
    path: Path
    live_keys: int
    environment: str | None
    kek_ids: tuple[str, ...]


def backup_keystore(keys_db: Path, out: Path, environment: str) -> Backup:
    """A consistent copy of ``keys_db`` (SQLite's backup API, the file opened read-only)
    at ``out`` (new, 0600); refused for a keys.db of another environment."""
    if not keys_db.is_file():
        raise KeyStoreError(f"{keys_db} does not exist: nothing to back up (wrong --data-dir?)")
    facts = inspect_keys_db(keys_db)
    if facts.environment is not None and facts.environment != environment:
        raise mismatch("the keystore", keys_db, facts.environment, environment)
    try:
        source = sqlite3.connect(read_only_uri(keys_db), uri=True)
    except sqlite3.Error as exc:
        raise KeyStoreError(f"cannot open {keys_db} ({exc})") from exc
    try:
        backup_keys_db(source, out)
    finally:
        source.close()
    live = sum(facts.kek_usage.values())
    return Backup(out, live, facts.environment, tuple(sorted(facts.kek_usage)))
