"""Per-data-subject data keys, wrapped by a key-encryption key (KEK).

The keystore is *state*, not a projection: it cannot be rebuilt from the log (that is
the point of crypto-shredding). :class:`SqliteKeyStore` keeps wrapped keys in their own
SQLite file under the data directory; :class:`MemoryKeyStore` is its fake for unit tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from syncledger.core.errors import KeyStoreError, SubjectErased
from syncledger.core.events import SealedPii
from syncledger.core.ids import canonical_json, sha256_hex
from syncledger.core.key_environment import (
    KEYRING_TAG,
    check_tag,
    checked_environment,
    kek_tag_file,
    mismatch,
    write_tag,
)


def kek_id_of(kek: bytes) -> str:
    """A key-encryption-key id that names the key without revealing it."""
    return "kek-" + hashlib.sha256(b"syncledger-kek-id\x00" + kek).hexdigest()[:16]


def subject_key_id(entity: str, data_subject: str) -> str:
    """A stable key id for a data subject that reveals nothing about it."""
    return "dsk-" + sha256_hex(f"{entity}\x00{data_subject}".encode())[:32]


class KeyStore(Protocol):
    def data_key(self, key_id: str, *, create: bool = False) -> bytes:
        """The 256-bit data key; ``SubjectErased`` once shredded."""
        ...

    def shred(self, key_id: str) -> bool:
        """Destroy the key for good. True when a key existed and is now gone."""
        ...

    def is_shredded(self, key_id: str) -> bool: ...


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._shredded: set[str] = set()

    def data_key(self, key_id: str, *, create: bool = False) -> bytes:
        if key_id in self._shredded:
            raise SubjectErased(f"data key {key_id} was shredded")
        if key_id not in self._keys:
            if not create:
                raise KeyStoreError(f"no data key {key_id}")
            self._keys[key_id] = AESGCM.generate_key(bit_length=256)
        return self._keys[key_id]

    def shred(self, key_id: str) -> bool:
        existed = self._keys.pop(key_id, None) is not None
        self._shredded.add(key_id)
        return existed

    def is_shredded(self, key_id: str) -> bool:
        return key_id in self._shredded


class SqliteKeyStore:
    """Wrapped data keys in ``<data-dir>/keys.db``; the KEK comes from a file or env.

    ``environment``: the configured one (``SYNCLEDGER_ENVIRONMENT``); a ``keys.db`` made for
    another is refused, an untagged one is tagged (:attr:`adopted`). None: no check."""

    def __init__(
        self, path: Path, kek: bytes, kek_id: str = "kek-1", environment: str | None = None
    ) -> None:
        if len(kek) != 32:
            raise KeyStoreError("the key-encryption key must be 32 bytes")
        self._kek = AESGCM(kek)
        self._kek_id = kek_id
        self._lock = threading.Lock()
        self._cache: dict[str, bytes] = {}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = _open_keys_db(path)
        self.environment: str | None = None
        self.adopted = False
        if environment is not None:
            self._claim(path, environment)

    def _claim(self, path: Path, environment: str) -> None:
        found = _stored_environment(self._db, path)
        if found is not None and found != environment:
            self._db.close()
            raise mismatch("the keystore", path, found, environment)
        if found is None:
            self._db.execute(
                "INSERT OR IGNORE INTO keystore_meta VALUES ('environment', ?)", (environment,)
            )
            self.adopted = True
            self._claim(path, environment)  # another process may have tagged it first
            return
        self.environment = found

    def close(self) -> None:
        self._db.close()

    def _unwrap(self, key_id: str, nonce: bytes, wrapped: bytes) -> bytes:
        try:
            return self._kek.decrypt(nonce, wrapped, key_id.encode())
        except InvalidTag as exc:
            raise KeyStoreError(f"data key {key_id} does not unwrap with {self._kek_id}") from exc

    def data_key(self, key_id: str, *, create: bool = False) -> bytes:
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        with self._lock:
            row = self._row(key_id)
            if row is None and create:
                self._insert_new(key_id)
                row = self._row(key_id)  # ours, or another process's made just before
            if row is None:
                raise KeyStoreError(f"no data key {key_id}")
            if row[2] is not None:
                raise SubjectErased(f"data key {key_id} was shredded at {row[2]}")
            key = self._unwrap(key_id, row[0], row[1])
            self._cache[key_id] = key
            return key

    def uncached(self, key_ids: Iterable[str]) -> list[str]:
        """Of ``key_ids``, those whose key this process has not read or made yet."""
        return [k for k in dict.fromkeys(key_ids) if k not in self._cache]

    def create_missing(self, key_ids: Iterable[str]) -> None:
        """A key for each of ``key_ids`` that has none, all in one transaction (one fsync
        for many new customers), then every live one cached, so ``data_key`` answers
        without SQLite. A shredded key stays shredded (``data_key`` still refuses it).
        Thread-safe: ``core.keys_ahead`` calls it off the event loop."""
        wanted = self.uncached(key_ids)
        if not wanted:
            return
        try:
            with self._lock:
                rows = self._rows(wanted)
                missing = [k for k in wanted if k not in rows]
                if missing:
                    self._insert_all(missing)
                    rows = self._rows(wanted)  # ours, or another process's made just before
                for key_id, (nonce, wrapped, shredded_at) in rows.items():
                    if shredded_at is None:
                        self._cache[key_id] = self._unwrap(key_id, nonce, wrapped)
        except sqlite3.Error as exc:
            raise KeyStoreError(f"cannot store new data keys ({exc})") from exc

    def _rows(self, key_ids: list[str]) -> dict[str, Any]:
        """key id -> (nonce, wrapped, shredded_at) of those stored."""
        rows = {k: self._row(k) for k in key_ids}
        return {k: row for k, row in rows.items() if row is not None}

    def _insert_all(self, key_ids: list[str]) -> None:
        """New wrapped keys in one transaction; a key another process stored first wins."""
        now = datetime.now(UTC).isoformat()
        rows = [(k, self._kek_id, *self._wrapped_new(k), now) for k in key_ids]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR IGNORE INTO data_keys VALUES (?,?,?,?,?,NULL)", rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _wrapped_new(self, key_id: str) -> tuple[bytes, bytes]:
        """(nonce, wrapped) of a new random data key."""
        nonce = os.urandom(12)
        return nonce, self._kek.encrypt(nonce, AESGCM.generate_key(bit_length=256), key_id.encode())

    def _row(self, key_id: str) -> Any:
        return self._db.execute(
            "SELECT nonce, wrapped, shredded_at FROM data_keys WHERE key_id=?", (key_id,)
        ).fetchone()

    def _insert_new(self, key_id: str) -> None:
        """A new wrapped key, unless another process (two imports at once) stored one
        first: every process must seal and hash with the same key."""
        nonce, wrapped = self._wrapped_new(key_id)
        self._db.execute(
            "INSERT OR IGNORE INTO data_keys VALUES (?,?,?,?,?,NULL)",
            (key_id, self._kek_id, nonce, wrapped, datetime.now(UTC).isoformat()),
        )

    def shred(self, key_id: str) -> bool:
        with self._lock:
            self._cache.pop(key_id, None)
            cur = self._db.execute(
                "UPDATE data_keys SET nonce=NULL, wrapped=NULL, shredded_at=? "
                "WHERE key_id=? AND shredded_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
            if cur.rowcount == 0:
                self._db.execute(
                    "INSERT OR IGNORE INTO data_keys VALUES (?,NULL,NULL,NULL,?,?)",
                    (key_id, datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat()),
                )
            self._db.execute("VACUUM")  # do not leave the wrapped key in free pages
            return cur.rowcount > 0

    def is_shredded(self, key_id: str) -> bool:
        row = self._db.execute(
            "SELECT shredded_at FROM data_keys WHERE key_id=?", (key_id,)
        ).fetchone()
        return row is not None and row[0] is not None

    # ---- KEK rotation (added for the audit module; see audit/kek.py)

    @property
    def kek_id(self) -> str:
        """The id of the key-encryption key new data keys are wrapped with."""
        return self._kek_id

    def kek_usage(self) -> dict[str, int]:
        """How many live (not shredded) data keys are wrapped under each KEK id."""
        rows = self._db.execute(
            "SELECT COALESCE(kek_id, ''), COUNT(*) FROM data_keys "
            "WHERE shredded_at IS NULL GROUP BY kek_id"
        ).fetchall()
        return {str(kek_id): int(count) for kek_id, count in rows}

    def rewrap(self, new_kek: bytes, new_kek_id: str) -> int:
        """Re-wrap every live data key under ``new_kek`` in one transaction, then use it.

        Every key is unwrapped with the current KEK first; if any fails, nothing changes.
        Returns how many keys were re-wrapped. Shredded keys stay shredded.
        """
        if len(new_kek) != 32:
            raise KeyStoreError("the key-encryption key must be 32 bytes")
        new = AESGCM(new_kek)
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, nonce, wrapped FROM data_keys WHERE shredded_at IS NULL"
            ).fetchall()
            updates = []
            for key_id, nonce, wrapped in rows:
                key = self._unwrap(key_id, nonce, wrapped)
                fresh = os.urandom(12)
                updates.append(
                    (new_kek_id, fresh, new.encrypt(fresh, key, key_id.encode()), key_id)
                )
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "UPDATE data_keys SET kek_id=?, nonce=?, wrapped=? WHERE key_id=?", updates
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._kek, self._kek_id = new, new_kek_id
            return len(updates)

    # ---- restore tests and backups (see audit/restore.py)

    def key_ids(self) -> tuple[list[str], list[str]]:
        """Every data key id: (live, shredded)."""
        rows = self._db.execute(
            "SELECT key_id, shredded_at IS NOT NULL FROM data_keys ORDER BY key_id"
        ).fetchall()
        return [str(k) for k, gone in rows if not gone], [str(k) for k, gone in rows if gone]

    def backup_to(self, dest: Path) -> None:
        """A consistent copy of keys.db (SQLite's online backup) in a new 0600 file."""
        with self._lock:
            backup_keys_db(self._db, dest)


#: keys.db and the files SQLite keeps beside it (they hold wrapped keys too)
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _private_db_file(path: Path) -> None:
    """``keys.db`` created 0600 before SQLite opens it (SQLite gives its -wal and -shm
    files the database file's mode); an existing one of ours readable by others is made
    0600 (a file another account owns is left as it is: that account set it up)."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
        for suffix in _SQLITE_SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if not side.exists():
                continue
            mode = side.stat()
            if mode.st_mode & 0o077 and mode.st_uid == os.getuid():
                side.chmod(0o600)
    except OSError as exc:
        raise KeyStoreError(
            f"cannot create or protect the keystore {path} ({exc.strerror or exc}): give the "
            "user running syncledger write access to the data directory"
        ) from exc


def _stored_environment(db: sqlite3.Connection, path: Path) -> str | None:
    row = db.execute("SELECT value FROM keystore_meta WHERE name='environment'").fetchone()
    return None if row is None else checked_environment(str(row[0]), path)


def backup_keys_db(source: sqlite3.Connection, dest: Path) -> None:
    """``source`` copied by SQLite's backup API into ``dest``, created 0600 (never over an
    existing file: a backup is not overwritten by accident)."""
    try:
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError as exc:
        raise KeyStoreError(f"{dest} already exists: give a new file for the backup") from exc
    try:
        target = sqlite3.connect(str(dest))
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise KeyStoreError(f"cannot back up the keystore to {dest} ({exc})") from exc


@dataclass(frozen=True)
class KeysDbFacts:
    """What a ``keys.db`` says about itself, read without its KEK."""

    environment: str | None
    kek_usage: dict[str, int]


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """A SQLite URI opening ``path`` read-only; ``immutable``: a file nothing changes (a
    backup), so SQLite takes no lock and creates no -wal/-shm beside it."""
    return f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")


def inspect_keys_db(path: Path, *, immutable: bool = False) -> KeysDbFacts:
    """Its environment tag and live keys per KEK id, read only (the file is not changed)."""
    try:
        db = sqlite3.connect(read_only_uri(path, immutable=immutable), uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            env = _stored_environment(db, path) if "keystore_meta" in tables else None
            rows = db.execute(
                "SELECT COALESCE(kek_id, ''), COUNT(*) FROM data_keys "
                "WHERE shredded_at IS NULL GROUP BY kek_id"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise KeyStoreError(f"the keystore {path} cannot be read ({exc})") from exc
    return KeysDbFacts(env, {str(k): int(n) for k, n in rows})


def _open_keys_db(path: Path) -> sqlite3.Connection:
    """The keystore's SQLite file (0600); one SQLite cannot read is a KeyStoreError naming it."""
    _private_db_file(path)
    try:
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS data_keys (key_id TEXT PRIMARY KEY, kek_id TEXT,"
            " nonce BLOB, wrapped BLOB, created_at TEXT NOT NULL, shredded_at TEXT)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS keystore_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
    except sqlite3.DatabaseError as exc:
        raise KeyStoreError(
            f"the keystore {path} cannot be read ({exc}): restore it from your backup "
            "(it holds the data keys of every sealed personal field; it cannot be rebuilt "
            "from the log)"
        ) from exc
    return db


#: the file in a data directory that names its KEK's place under the config directory
DATA_DIR_ID_FILE = "kek.id"


@dataclass(frozen=True)
class KekLocation:
    """Where a data directory's KEK is, and the one line to warn with (old layout)."""

    path: Path
    warning: str | None = None


def kek_location(data_dir: Path, configured: Path | None, config_home: Path) -> KekLocation:
    """The KEK file of ``data_dir``. In order: ``SYNCLEDGER_KEK_FILE`` when set; a
    ``kek.key`` already beside ``keys.db`` (data directories set up before, with a warning
    to move it); else ``<config_home>/syncledger/<data-dir-id>/kek.key``, away from the data
    directory and its backups. The id is random, kept in ``<data dir>/kek.id``: it follows
    the data directory when it is moved or restored, and names no path."""
    if configured is not None:
        return KekLocation(configured)
    beside = data_dir / "kek.key"
    if beside.exists():
        return KekLocation(beside, _beside_warning(beside, data_dir, config_home))
    return KekLocation(config_home / "syncledger" / _data_dir_id(data_dir) / "kek.key")


def _beside_warning(beside: Path, data_dir: Path, config_home: Path) -> str:
    return (
        f"warning: the key-encryption key {beside} sits beside keys.db, so one copy of the "
        "data directory holds both: move it out (e.g. to "
        f"{config_home / 'syncledger' / 'kek.key'}) and set SYNCLEDGER_KEK_FILE to it"
    )


def _data_dir_id(data_dir: Path) -> str:
    """The data directory's id, created with its first keystore (the same in every process
    that races to create it). A data directory whose keys.db exists without one is an error:
    its KEK's place is unknown, and a new key would unwrap nothing."""
    id_file = data_dir / DATA_DIR_ID_FILE
    if id_file.exists():
        return _read_id(id_file)
    keys_db = data_dir / "keys.db"
    if keys_db.exists():
        raise KeyStoreError(
            f"{keys_db} holds data keys, but neither {data_dir / 'kek.key'} nor {id_file} "
            "(which names where its key-encryption key is) exists: restore them from your "
            "backup, or set SYNCLEDGER_KEK_FILE to the key file"
        )
    return _publish(id_file, os.urandom(8).hex().encode(), _read_id)


def _read_id(id_file: Path) -> str:
    try:
        text = id_file.read_text().strip()
    except OSError as exc:
        raise KeyStoreError(f"cannot read {id_file} ({exc.strerror or exc})") from exc
    if not text or not all(c in "0123456789abcdef" for c in text):
        raise KeyStoreError(
            f"{id_file} does not hold a data directory id: restore it from your backup, or "
            "set SYNCLEDGER_KEK_FILE to the key-encryption key file"
        )
    return text


def load_or_create_kek(path: Path, keystore: Path | None = None) -> bytes:
    """The local KEK file (0600). Production points ``SYNCLEDGER_KEK_FILE`` at a secret.

    Only first-time setup creates one: when ``keystore`` (the ``keys.db`` its data keys are
    wrapped in) exists, a missing KEK is an error naming both files — a new key would
    make every sealed personal field unreadable."""
    if path.exists():
        return _read_kek(path)
    if keystore is not None and keystore.exists():
        raise KeyStoreError(
            f"the key-encryption key {path} is missing, but the keystore {keystore} holds "
            "data keys wrapped by it: restore the key file from a backup (or fix "
            "SYNCLEDGER_KEK_FILE); a new key would leave every sealed personal field unreadable"
        )
    return _create_kek(path)


def _read_kek(path: Path) -> bytes:
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except OSError as exc:
        raise KeyStoreError(
            f"cannot read the key-encryption key {path} ({exc.strerror or exc}): give the "
            "user running syncledger read access to it (or fix SYNCLEDGER_KEK_FILE)"
        ) from exc
    except ValueError as exc:
        raise KeyStoreError(
            f"cannot read the key-encryption key {path}: it is not base64 "
            f"({type(exc).__name__}): restore it from your backup"
        ) from exc
    if len(raw) != 32:
        raise KeyStoreError(
            f"the key-encryption key {path} does not hold a base64 32-byte key (it holds "
            f"{len(raw)} bytes; truncated?): restore it from your backup"
        )
    return raw


def _create_kek(path: Path) -> bytes:
    """A new KEK, published complete; if another process was first, its key wins."""
    key = AESGCM.generate_key(bit_length=256)
    try:
        return _publish(path, base64.b64encode(key), _read_kek)
    except OSError as exc:
        raise KeyStoreError(
            f"cannot create the key-encryption key {path} ({exc.strerror or exc}): set "
            "SYNCLEDGER_KEK_FILE to a file the user running syncledger may create"
        ) from exc


def install_kek(path: Path, kek: bytes) -> bool:
    """Put ``kek`` at ``path`` (0600, in a 0700 directory, published whole). True when
    written; False when that very key is there already; a ``KeyStoreError`` when another
    key is there (it is never overwritten)."""
    if not path.exists():
        try:
            if _publish(path, base64.b64encode(kek), _read_kek) == kek:
                return True
        except OSError as exc:
            raise KeyStoreError(f"cannot write the key-encryption key {path} ({exc})") from exc
    if _read_kek(path) != kek:
        raise KeyStoreError(
            f"{path} holds another key-encryption key ({kek_id_of(_read_kek(path))}); "
            f"refusing to overwrite it with {kek_id_of(kek)}: move it aside first if it is "
            "the wrong one"
        )
    return False


@dataclass(frozen=True)
class OpenedKeystore:
    """The keystore; what it tagged (a line each, to log as info) and the tags it could
    not write (a line each, to log as warnings)."""

    keys: SqliteKeyStore
    adopted: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def open_keystore(path: Path, kek: bytes, kek_file: Path, environment: str) -> OpenedKeystore:
    """``keys.db`` opened for ``environment`` (``SYNCLEDGER_ENVIRONMENT``), with its KEK
    file and the data directory's signing keyring: any of them made for another
    environment is refused (:mod:`syncledger.core.key_environment`) before anything is
    tagged; untagged ones are then tagged — silently for a new data directory, with a
    line each for files made before tags existed."""
    fresh = not path.exists()
    kek_tag, ring_tag = kek_tag_file(kek_file), path.parent / KEYRING_TAG
    kek_tagged = check_tag(kek_tag, environment, "the key-encryption key", kek_file)
    ring_tagged = check_tag(ring_tag, environment, "the signing keyring", ring_tag.parent)
    keys = SqliteKeyStore(path, kek, kek_id_of(kek), environment)
    adopted: list[str] = []
    if keys.adopted and not fresh:
        adopted.append(f"tagged the keystore {path} as {environment} (SYNCLEDGER_ENVIRONMENT)")
    tagging = [(kek_tag, f"the key-encryption key {kek_file}")] if not kek_tagged else []
    if not ring_tagged and (fresh or (ring_tag.parent / "keyring.json").exists()):
        tagging.append((ring_tag, f"the signing keyring {ring_tag.parent}"))
    warnings = []
    for tag, what in tagging:
        failed = write_tag(tag, environment)
        if failed is not None:
            warnings.append(_untagged(what, environment, tag, failed))
        elif not fresh:
            adopted.append(f"tagged {what} as {environment} (SYNCLEDGER_ENVIRONMENT)")
    return OpenedKeystore(keys, tuple(adopted), tuple(warnings))


def _untagged(what: str, environment: str, tag: Path, why: str) -> str:
    return (
        f"cannot tag {what} as {environment} ({tag}: {why}): it stays untagged; the "
        "keystore's tag still guards this data directory"
    )


T = TypeVar("T")


def _publish(path: Path, content: bytes, read: Callable[[Path], T]) -> T:
    """``content`` written aside (0600) and linked into place, so a process starting at the
    same moment reads either no file or the whole of it; if one was first, it wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process published first: its content wins
    finally:
        tmp.unlink()
    return read(path)


class PiiSealer:
    """Seals / opens personal fields of an event with the data subject's key."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def seal(self, key_id: str, fields: dict[str, Any], event_id: str) -> SealedPii:
        key = self._keys.data_key(key_id, create=True)
        nonce = os.urandom(12)
        plaintext = canonical_json(fields)
        ct = AESGCM(key).encrypt(nonce, plaintext, event_id.encode())
        return SealedPii(
            key_id=key_id,
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(ct).decode(),
        )

    def open(self, sealed: SealedPii, event_id: str) -> dict[str, Any]:
        """Plain personal fields; raises :class:`SubjectErased` after shredding."""
        key = self._keys.data_key(sealed.key_id)
        try:
            raw = AESGCM(key).decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                event_id.encode(),
            )
        except InvalidTag as exc:
            raise KeyStoreError(f"personal data of event {event_id} fails authentication") from exc
        result: dict[str, Any] = json.loads(raw)
        return result
