"""keys.db, the files SQLite keeps beside it and every key file are 0600, their directories
0700, whatever the umask of the process that created them (issue 18)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.audit.context import AuditContext
from syncledger.audit.kek import rotate_kek
from syncledger.audit.sample import write_sample_log
from syncledger.audit.signing import SigningKeyring
from syncledger.core.bootstrap import prepare_data_dir
from syncledger.core.keystore import SqliteKeyStore, kek_id_of, load_or_create_kek, subject_key_id
from syncledger.core.store_memory import MemoryEventStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """A umask that lets everyone read new files: the modes must not depend on it."""
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def open_keystore(data: Path) -> SqliteKeyStore:
    kek = load_or_create_kek(data / "kek.key", keystore=data / "keys.db")
    return SqliteKeyStore(data / "keys.db", kek, kek_id_of(kek))


def test_a_new_data_dir_is_0700(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare_data_dir(data)
    assert mode(data) == 0o700


def test_keys_db_its_wal_and_shm_and_the_kek_are_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_keystore(data)
    store.data_key(subject_key_id("acme", "hubspot/customer/1"), create=True)
    files = [data / "keys.db", data / "keys.db-wal", data / "keys.db-shm", data / "kek.key"]
    assert all(f.exists() for f in files)
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(data) == 0o700  # made by the keystore when nothing made it before
    store.close()


def test_an_existing_keys_db_readable_by_others_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_keystore(data).close()
    (data / "keys.db").chmod(0o644)
    store = open_keystore(data)
    assert mode(data / "keys.db") == 0o600
    store.close()


def test_a_rotated_kek_and_signing_keys_are_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keystore = open_keystore(data)
    ctx = AuditContext(
        MemoryEventStore(), keystore, data, "acme", "tester", kek_file=data / "kek.key"
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    asyncio.run(write_sample_log(ctx.store, keystore, customers=1, start=start))
    asyncio.run(rotate_kek(ctx))
    assert mode(data / "kek.key") == 0o600 and not (data / "kek.key.next").exists()
    signing = ctx.audit_dir / "signing"
    SigningKeyring.open(signing).create()
    pems = list(signing.glob("*.pem"))
    assert len(pems) == 1 and mode(pems[0]) == 0o600
    assert mode(signing / "keyring.json") == 0o600 and mode(signing) == 0o700
    keystore.close()
