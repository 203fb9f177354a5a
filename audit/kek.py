"""Key-encryption-key rotation: every data key re-wrapped under a fresh KEK.

Steps, each safe to crash after: (1) the new KEK is written to ``<kek file>.next``
(0600); (2) the keystore re-wraps all live data keys in one SQLite transaction, tagging
them with the new KEK's id; (3) ``.next`` replaces the KEK file. Rerunning the command
after a crash finishes step 3 if step 2 had committed, or starts over if it had not.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError
from syncledger.audit.events import KeyEncryptionKeyRotated
from syncledger.audit.keyfiles import write_secret_file
from syncledger.core.errors import KeyStoreError
from syncledger.core.keystore import SqliteKeyStore, kek_id_of


def kek_fingerprint(kek: bytes) -> str:
    """A KEK id that names the key without revealing it (use it when opening the store)."""
    return kek_id_of(kek)


@dataclass(frozen=True)
class KekRotation:
    old_kek_id: str
    new_kek_id: str
    rewrapped: int
    resumed: bool = False


def read_kek_file(path: Path) -> bytes:
    """The 32-byte KEK in ``path`` (base64); ``AuditError`` naming the file otherwise."""
    return _read_kek(path)


def _read_kek(path: Path) -> bytes:
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise AuditError(f"{path} does not hold a base64 key-encryption key") from exc
    if len(raw) != 32:
        raise AuditError(f"{path} does not hold a 32-byte key-encryption key")
    return raw


def _finish(pending: Path, kek_file: Path) -> None:
    os.replace(pending, kek_file)
    fd = os.open(kek_file.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _targets(ctx: AuditContext) -> tuple[SqliteKeyStore, Path]:
    if not isinstance(ctx.keystore, SqliteKeyStore):
        raise AuditError("KEK rotation needs the SQLite keystore (the data directory's keys.db)")
    if ctx.kek_file is None:
        raise AuditError("no KEK file configured: set SYNCLEDGER_KEK_FILE")
    return ctx.keystore, ctx.kek_file


def _resume(store: SqliteKeyStore, pending: Path, kek_file: Path) -> KekRotation | None:
    new_id = kek_fingerprint(_read_kek(pending))
    usage = store.kek_usage()
    if usage and set(usage) == {new_id}:
        _finish(pending, kek_file)
        return KekRotation(store.kek_id, new_id, usage[new_id], resumed=True)
    if new_id not in usage:
        pending.unlink()  # the earlier run stopped before re-wrapping: start over
        return None
    raise AuditError(
        f"keys.db holds keys under {', '.join(sorted(usage))}: an earlier rotation was "
        f"interrupted and keys were created since; restore keys.db and {kek_file.name} "
        "from the same backup, then rotate again"
    )


async def rotate_kek(ctx: AuditContext) -> KekRotation:
    store, kek_file = _targets(ctx)
    pending = kek_file.with_name(kek_file.name + ".next")
    if pending.exists():
        resumed = _resume(store, pending, kek_file)
        if resumed is not None:
            return resumed
    old_id = store.kek_id
    new_kek = AESGCM.generate_key(bit_length=256)
    new_id = kek_fingerprint(new_kek)
    write_secret_file(pending, base64.b64encode(new_kek))
    try:
        count = store.rewrap(new_kek, new_id)
    except KeyStoreError:
        pending.unlink()
        raise
    _finish(pending, kek_file)
    await ctx.append_audit(
        KeyEncryptionKeyRotated(old_kek_id=old_id, new_kek_id=new_id, rewrapped=count),
        "kek",
        new_id,
    )
    return KekRotation(old_id, new_id, count)
