"""Only first-time setup creates a key-encryption key or a log; NATS credentials come from
settings without ever appearing in a message (issue 19 §4)."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from syncledger.core.bootstrap import external_endpoint, strip_credentials, with_credentials
from syncledger.core.errors import ConfigurationError, KeyStoreError, LogMissing
from syncledger.core.keystore import SqliteKeyStore, load_or_create_kek
from syncledger.core.log_setup import LogMarker, check_position
from syncledger.core.nats_users import ROLES, authorization_block
from syncledger.core.settings import Settings


def test_first_time_setup_creates_a_private_kek_and_later_runs_read_it(tmp_path: Path) -> None:
    kek_file = tmp_path / "kek.key"
    key = load_or_create_kek(kek_file, keystore=tmp_path / "keys.db")
    assert kek_file.stat().st_mode & 0o777 == 0o600
    assert load_or_create_kek(kek_file, keystore=tmp_path / "keys.db") == key


def test_a_missing_kek_beside_its_keystore_is_an_error_naming_both(tmp_path: Path) -> None:
    kek_file, keys_db = tmp_path / "kek.key", tmp_path / "keys.db"
    SqliteKeyStore(keys_db, load_or_create_kek(kek_file, keystore=keys_db)).close()
    kek_file.unlink()
    with pytest.raises(KeyStoreError) as err:
        load_or_create_kek(kek_file, keystore=keys_db)
    assert str(kek_file) in str(err.value) and str(keys_db) in str(err.value)
    assert not kek_file.exists()


def test_processes_creating_the_kek_at_once_all_get_the_same_key(tmp_path: Path) -> None:
    kek_file = tmp_path / "kek.key"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        keys.append(load_or_create_kek(kek_file, keystore=tmp_path / "keys.db"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert base64.b64decode(kek_file.read_text()) == keys[0]
    assert [p.name for p in tmp_path.iterdir()] == ["kek.key"]  # no leftovers


def test_an_unreadable_kek_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    kek_file = tmp_path / "kek.key"
    kek_file.write_text("not base64 at all!")
    with pytest.raises(KeyStoreError, match="cannot read the key-encryption key"):
        load_or_create_kek(kek_file)
    assert kek_file.read_text() == "not base64 at all!"


def test_the_marker_keeps_the_furthest_position_seen(tmp_path: Path) -> None:
    marker = LogMarker(tmp_path)
    assert marker.seen("SYNCLEDGER") is None
    marker.remember("SYNCLEDGER", "nats://host:4222", 0, created=True)
    marker.remember("SYNCLEDGER", "nats://host:4222", 7, created=False)
    marker.remember("SYNCLEDGER", "nats://host:4222", 5, created=False)  # a stale reader
    seen = marker.seen("SYNCLEDGER")
    assert seen is not None and seen.last_seq == 7 and seen.server == "nats://host:4222"
    assert marker.path.stat().st_mode & 0o777 == 0o600


def test_nats_credentials_come_from_a_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cr3t-Pa55\n")
    url = with_credentials("nats://nats:4222", "syncledger", tmp_path / "pw", "SYNCLEDGER_NATS")
    assert url == "nats://syncledger:s3cr3t-Pa55@nats:4222"
    assert strip_credentials(url) == "nats://nats:4222"


def test_an_admin_is_optional_and_its_password_stays_out_of_the_address(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("app-pw")
    (tmp_path / "admin").write_text("admin-pw")
    end = external_endpoint(
        Settings(
            data_dir=tmp_path,
            nats_url="nats://nats:4222",
            nats_user="syncledger",
            nats_password_file=tmp_path / "app",
            nats_admin_user="syncledger-admin",
            nats_admin_password_file=tmp_path / "admin",
        )
    )
    assert end.admin_url == "nats://syncledger-admin:admin-pw@nats:4222"
    assert end.address == "nats://nats:4222"


@pytest.mark.parametrize("password", ["has@at", "has/slash", "has space", "has#hash"])
def test_a_password_that_cannot_travel_in_a_url_is_refused_without_showing_it(
    tmp_path: Path, password: str
) -> None:
    (tmp_path / "pw").write_text(password)
    with pytest.raises(ConfigurationError) as err:
        with_credentials("nats://nats:4222", "syncledger", tmp_path / "pw", "SYNCLEDGER_NATS")
    assert password not in str(err.value)


def test_a_user_without_a_password_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SYNCLEDGER_NATS_PASSWORD_FILE"):
        with_credentials("nats://nats:4222", "syncledger", None, "SYNCLEDGER_NATS")
    with pytest.raises(ConfigurationError, match="cannot read"):
        with_credentials("nats://nats:4222", "syncledger", tmp_path / "nope", "SYNCLEDGER_NATS")


def test_the_documented_nats_users_are_the_embedded_servers_users() -> None:
    """docs/security.md and compose.yaml give a self-run server the very permissions the
    embedded one enforces (tested in tests/integration/test_log_security.py)."""
    import yaml

    repo = Path(__file__).resolve().parents[2]
    block = authorization_block()
    assert block in (repo / "docs" / "security.md").read_text()
    compose = yaml.safe_load((repo / "compose.yaml").read_text())
    assert block in compose["configs"]["nats_conf"]["content"].replace("$$", "$")
    secrets = set(compose["services"]["nats"]["secrets"])
    assert secrets == {f"nats_{role.name}_password" for role in ROLES}


async def test_a_position_recorded_meanwhile_by_another_command_is_no_false_alarm(
    tmp_path: Path,
) -> None:
    marker = LogMarker(tmp_path)
    marker.remember("SYNCLEDGER", "server", 5, created=True)

    class GrowingLog:
        """The log answers 10; while it answers, another command that saw it at 12
        records that position (its close raced with our open)."""

        stream = "SYNCLEDGER"

        async def last_seq(self) -> int:
            marker.remember("SYNCLEDGER", "server", 12, created=False)
            return 10

    assert await check_position(GrowingLog(), marker, server="server") == 10  # type: ignore[arg-type]
    seen = marker.seen("SYNCLEDGER")
    assert seen is not None and seen.last_seq == 12


async def test_a_log_shorter_than_seen_is_lost_events(tmp_path: Path) -> None:
    marker = LogMarker(tmp_path)
    marker.remember("SYNCLEDGER", "server", 12, created=True)

    class EmptiedLog:
        stream = "SYNCLEDGER"

        async def last_seq(self) -> int:
            return 0

    with pytest.raises(LogMissing, match="ends at event 0") as err:
        await check_position(EmptiedLog(), marker, server="server")  # type: ignore[arg-type]
    assert str(tmp_path) in str(err.value)
