"""The KEK does not sit beside keys.db by default (issue 18): a new data directory's KEK is
under $XDG_CONFIG_HOME/syncledger/<data-dir-id>/, an existing <data dir>/kek.key is still
used (with a one-line warning to move it), SYNCLEDGER_KEK_FILE wins over both."""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

import pytest

from syncledger.core.bootstrap import _keystore, kek_file
from syncledger.core.errors import KeyStoreError
from syncledger.core.keystore import (
    DATA_DIR_ID_FILE,
    SqliteKeyStore,
    kek_location,
    load_or_create_kek,
)
from syncledger.core.settings import Settings

SUBJECT = "dsk-someone"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_dir_keeps_its_kek_under_the_config_dir(
    tmp_path: Path, config_home: Path
) -> None:
    data = tmp_path / "data"
    keys = _keystore(Settings(data_dir=data), log_known=False)
    key = keys.data_key(SUBJECT, create=True)
    keys.close()
    ident = (data / DATA_DIR_ID_FILE).read_text()
    kek = config_home / "syncledger" / ident / "kek.key"
    assert kek.exists() and mode(kek) == 0o600 and mode(kek.parent) == 0o700
    assert not (data / "kek.key").exists()
    assert not list(data.rglob("kek.key*")), "no copy of the KEK in the data directory"
    again = _keystore(Settings(data_dir=data), log_known=True)  # found again: same key
    assert again.data_key(SUBJECT) == key
    again.close()


def test_the_id_follows_a_moved_data_dir_and_names_no_path(
    tmp_path: Path, config_home: Path
) -> None:
    data = tmp_path / "data"
    first = kek_file(Settings(data_dir=data)).path
    moved = data.rename(tmp_path / "elsewhere")
    assert kek_file(Settings(data_dir=moved)).path == first
    assert str(tmp_path) not in first.parent.name


def test_an_existing_kek_beside_keys_db_still_works_and_says_to_move_it(
    tmp_path: Path, config_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    old = load_or_create_kek(data / "kek.key", keystore=data / "keys.db")  # an old layout
    SqliteKeyStore(data / "keys.db", old).close()
    with caplog.at_level(logging.WARNING):
        keys = _keystore(Settings(data_dir=data), log_known=True)
    keys.close()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "\n" not in warning and str(data / "kek.key") in warning
    assert "move it" in warning and "SYNCLEDGER_KEK_FILE" in warning
    assert not (data / DATA_DIR_ID_FILE).exists() and not config_home.exists()
    assert keys.kek_id.startswith("kek-")


def test_a_configured_kek_file_wins_and_creates_no_id(tmp_path: Path, config_home: Path) -> None:
    data, secret = tmp_path / "data", tmp_path / "secrets" / "kek.key"
    (data).mkdir()
    (data / "kek.key").write_text("an old one beside it is not read")
    where = kek_file(Settings(data_dir=data, kek_file=secret))
    assert where.path == secret and where.warning is None
    assert not (data / DATA_DIR_ID_FILE).exists()


def test_keys_without_their_kek_or_its_id_are_an_error_not_a_new_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keys.db").write_bytes(b"")
    with pytest.raises(KeyStoreError) as err:
        kek_location(data, None, tmp_path / "config")
    assert str(data / "keys.db") in str(err.value) and "SYNCLEDGER_KEK_FILE" in str(err.value)
    assert not (data / DATA_DIR_ID_FILE).exists()


def test_a_lost_kek_under_the_config_dir_is_an_error_naming_it(
    tmp_path: Path, config_home: Path
) -> None:
    data = tmp_path / "data"
    _keystore(Settings(data_dir=data), log_known=False).close()
    kek = kek_file(Settings(data_dir=data)).path
    kek.unlink()
    with pytest.raises(KeyStoreError) as err:
        _keystore(Settings(data_dir=data), log_known=True)
    assert str(kek) in str(err.value) and not kek.exists()


def test_processes_setting_up_one_data_dir_at_once_agree_on_its_id(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "config"
    data.mkdir()
    seen: list[Path] = []
    start = threading.Barrier(8)

    def locate() -> None:
        start.wait()
        seen.append(kek_location(data, None, home).path)

    threads = [threading.Thread(target=locate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len(set(seen)) == 1
    assert not [p for p in data.iterdir() if p.name.startswith(".")], "no temporary left"
