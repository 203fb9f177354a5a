"""KEK rotation: every data key re-wrapped, old KEK useless, crash in between recoverable."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError
from syncledger.audit.index import LogIndex
from syncledger.audit.kek import kek_fingerprint, rotate_kek
from syncledger.core.errors import KeyStoreError
from syncledger.core.keystore import MemoryKeyStore, SqliteKeyStore, load_or_create_kek
from syncledger.core.store_memory import MemoryEventStore


def open_store(tmp_path: Path) -> tuple[SqliteKeyStore, Path]:
    kek_file = tmp_path / "kek.key"
    kek = load_or_create_kek(kek_file)
    return SqliteKeyStore(tmp_path / "keys.db", kek, kek_fingerprint(kek)), kek_file


def context(tmp_path: Path, keys: SqliteKeyStore, kek_file: Path) -> AuditContext:
    return AuditContext(MemoryEventStore(), keys, tmp_path, "acme", "ops", kek_file=kek_file)


def test_rotation_rewraps_every_live_key_and_retires_the_old_kek(tmp_path: Path) -> None:
    keys, kek_file = open_store(tmp_path)
    data = {f"dsk-{i}": keys.data_key(f"dsk-{i}", create=True) for i in range(5)}
    keys.shred("dsk-4")
    old_kek = load_or_create_kek(kek_file)
    ctx = context(tmp_path, keys, kek_file)
    result = asyncio.run(rotate_kek(ctx))
    assert result.rewrapped == 4 and result.old_kek_id == kek_fingerprint(old_kek)
    new_kek = load_or_create_kek(kek_file)
    assert new_kek != old_kek and result.new_kek_id == kek_fingerprint(new_kek)
    keys.close()

    reopened = SqliteKeyStore(tmp_path / "keys.db", new_kek, kek_fingerprint(new_kek))
    assert all(reopened.data_key(k) == v for k, v in data.items() if k != "dsk-4")
    assert reopened.is_shredded("dsk-4")
    assert reopened.kek_usage() == {result.new_kek_id: 4}
    stale = SqliteKeyStore(tmp_path / "keys.db", old_kek)
    with pytest.raises(KeyStoreError, match="does not unwrap"):
        stale.data_key("dsk-0")
    index = asyncio.run(LogIndex.build(ctx.store))
    (event,) = list(index.of_type("KeyEncryptionKeyRotated"))
    assert event.data["rewrapped"] == 4
    assert base64.b64encode(new_kek).decode() not in event.raw.decode()


def test_a_rotation_interrupted_after_rewrapping_is_finished_on_rerun(tmp_path: Path) -> None:
    keys, kek_file = open_store(tmp_path)
    key = keys.data_key("dsk-a", create=True)
    new_kek = b"\x07" * 32
    pending = kek_file.with_name("kek.key.next")
    pending.write_text(base64.b64encode(new_kek).decode())
    keys.rewrap(new_kek, kek_fingerprint(new_kek))  # ... and the process died here
    result = asyncio.run(rotate_kek(context(tmp_path, keys, kek_file)))
    assert result.resumed and not pending.exists()
    assert load_or_create_kek(kek_file) == new_kek
    assert SqliteKeyStore(tmp_path / "keys.db", new_kek).data_key("dsk-a") == key


def test_a_rotation_interrupted_before_rewrapping_starts_over(tmp_path: Path) -> None:
    keys, kek_file = open_store(tmp_path)
    key = keys.data_key("dsk-a", create=True)
    kek_file.with_name("kek.key.next").write_text(base64.b64encode(b"\x09" * 32).decode())
    result = asyncio.run(rotate_kek(context(tmp_path, keys, kek_file)))
    assert not result.resumed and result.rewrapped == 1
    new_kek = load_or_create_kek(kek_file)
    assert new_kek != b"\x09" * 32
    assert SqliteKeyStore(tmp_path / "keys.db", new_kek).data_key("dsk-a") == key


def test_rewrap_with_a_wrong_current_kek_changes_nothing(tmp_path: Path) -> None:
    keys, _ = open_store(tmp_path)
    keys.data_key("dsk-a", create=True)
    keys.close()
    wrong = SqliteKeyStore(tmp_path / "keys.db", b"\x01" * 32)
    with pytest.raises(KeyStoreError):
        wrong.rewrap(b"\x02" * 32, "kek-x")
    assert set(wrong.kek_usage()) != {"kek-x"}


def test_rotation_needs_the_sqlite_keystore(tmp_path: Path) -> None:
    ctx = AuditContext(MemoryEventStore(), MemoryKeyStore(), tmp_path, "acme", "ops")
    with pytest.raises(AuditError, match="SQLite keystore"):
        asyncio.run(rotate_kek(ctx))
