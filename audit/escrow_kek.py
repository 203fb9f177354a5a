"""``audit keys escrow`` and ``audit keys recover``: the KEK split into custodians' share
files, and rebuilt from them into the place the KEK is read from.

Escrow needs the running keystore (its KEK id and environment) and records
``KeyEncryptionKeyEscrowed`` (custodians, threshold, KEK id; never a share). Recovery
runs while the KEK is lost, so without the log: it rebuilds the KEK, checks it is the one
``keys.db`` is wrapped by and made for this environment, and writes it only where no other
key is (:func:`syncledger.core.keystore.install_kek`); the command then records
``KeyEncryptionKeyRecovered`` once the keystore opens again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError
from syncledger.audit.escrow import EscrowError, EscrowShare, combine_shares, read_share, split_kek
from syncledger.audit.events import KeyEncryptionKeyEscrowed, KeyEncryptionKeyRecovered
from syncledger.audit.kek import read_kek_file
from syncledger.audit.keyfiles import write_secret_file
from syncledger.core.key_environment import kek_tag_file, mismatch, write_tag
from syncledger.core.keystore import SqliteKeyStore, inspect_keys_db, install_kek, kek_id_of


def _running_keys(ctx: AuditContext) -> tuple[SqliteKeyStore, Path, str]:
    keys, kek_file = ctx.keystore, ctx.kek_file
    if not isinstance(keys, SqliteKeyStore) or kek_file is None:
        raise AuditError("KEK escrow needs the data directory's keys.db and its KEK file")
    if keys.environment is None:
        raise AuditError("the keystore was opened without an environment (SYNCLEDGER_ENVIRONMENT)")
    return keys, kek_file, keys.environment


def environment_of(ctx: AuditContext) -> str:
    """The environment the running keystore was opened for."""
    return _running_keys(ctx)[2]


async def escrow_kek(
    ctx: AuditContext,
    custodians: Sequence[str],
    threshold: int,
    deliver: Callable[[list[EscrowShare]], object],
) -> list[EscrowShare]:
    """One share per custodian of the KEK in use, handed to ``deliver`` (files, or the
    terminal); then the escrow is recorded (never a share)."""
    keys, kek_file, environment = _running_keys(ctx)
    kek = read_kek_file(kek_file)
    if kek_id_of(kek) != keys.kek_id:
        raise AuditError(
            f"{kek_file} holds {kek_id_of(kek)}, but keys.db is opened with {keys.kek_id}: "
            "finish the KEK rotation (audit keys rotate) before escrowing"
        )
    shares = split_kek(kek, environment, custodians, threshold)
    deliver(shares)
    event = KeyEncryptionKeyEscrowed(
        kek_id=keys.kek_id,
        environment=environment,
        custodians=tuple(custodians),
        threshold=threshold,
    )
    await ctx.append_audit(event, "kek-escrow", keys.kek_id)
    return shares


def share_file_name(share: EscrowShare) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", share.custodian).strip("-.") or "custodian"
    return f"kek-share-{share.index}-of-{share.count}-{slug}.txt"


def write_shares(shares: Sequence[EscrowShare], out_dir: Path) -> list[Path]:
    """Each share in its own new file (0600) under ``out_dir`` (0700); none overwritten."""
    paths = [out_dir / share_file_name(s) for s in shares]
    taken = [p for p in paths if p.exists()]
    if taken:
        raise AuditError(f"{taken[0]} already exists: give an empty --out-dir")
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for share, path in zip(shares, paths, strict=True):
        write_secret_file(path, share.to_text().encode())
    return paths


@dataclass(frozen=True)
class Recovery:
    kek_id: str
    environment: str
    custodians: tuple[str, ...]
    threshold: int
    path: Path
    written: bool  # False: that very KEK was in place already


def read_shares(files: Sequence[Path]) -> list[EscrowShare]:
    return [read_share(path) for path in files]


def recovered_kek(files: Sequence[Path], environment: str) -> tuple[bytes, list[EscrowShare]]:
    """The KEK the share files rebuild (nothing written)."""
    shares = read_shares(files)
    return combine_shares(shares, environment), shares


def recover_kek(files: Sequence[Path], target: Path, environment: str, keys_db: Path) -> Recovery:
    """Rebuild the KEK from ``files`` and put it at ``target`` (tagged), after checking it
    is the KEK ``keys_db`` (when there is one) is wrapped by, in this environment."""
    kek, shares = recovered_kek(files, environment)
    kek_id = kek_id_of(kek)
    if keys_db.exists():
        _check_keys_db(keys_db, kek_id, environment)
    written = install_kek(target, kek)
    write_tag(kek_tag_file(target), environment)
    names = tuple(dict.fromkeys(s.custodian for s in shares))
    return Recovery(kek_id, environment, names, shares[0].threshold, target, written)


def _check_keys_db(keys_db: Path, kek_id: str, environment: str) -> None:
    facts = inspect_keys_db(keys_db)
    if facts.environment is not None and facts.environment != environment:
        raise mismatch("the keystore", keys_db, facts.environment, environment)
    others = sorted(k for k in facts.kek_usage if k != kek_id)
    if others:
        raise EscrowError(
            f"{keys_db} has data keys wrapped by {', '.join(others)}, not by {kek_id} (the "
            "KEK these shares rebuild; escrowed before a rotation?): use the shares of the "
            "current KEK, or a keys.db backup of that time"
        )


async def record_recovery(ctx: AuditContext, recovery: Recovery) -> None:
    event = KeyEncryptionKeyRecovered(
        kek_id=recovery.kek_id,
        environment=recovery.environment,
        custodians=recovery.custodians,
        threshold=recovery.threshold,
    )
    await ctx.append_audit(event, "kek-escrow", recovery.kek_id)
