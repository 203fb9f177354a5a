"""Keys carry their environment (issue 18): keys.db, the KEK file and the signing keyring
record dev / staging / prod; another environment is refused with one line naming both
(exit 2); files made before tags existed are adopted once, with a note."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from syncledger.core.errors import ConfigurationError
from syncledger.core.exit_codes import exit_code_of
from syncledger.core.key_environment import EnvironmentMismatch, read_tag
from syncledger.core.keystore import OpenedKeystore, load_or_create_kek, open_keystore
from syncledger.core.settings import Settings
from syncledger.core.settings_check import check_environment, load_settings


def opened(data: Path, environment: str) -> OpenedKeystore:
    kek_file = data / "kek.key"
    result = open_keystore(data / "keys.db", load_or_create_kek(kek_file), kek_file, environment)
    result.keys.close()
    return result


def tags(data: Path) -> tuple[str | None, str | None, str | None]:
    db = sqlite3.connect(data / "keys.db")
    row = db.execute("SELECT value FROM keystore_meta WHERE name='environment'").fetchone()
    db.close()
    return (
        None if row is None else row[0],
        read_tag(data / "kek.key.environment"),
        read_tag(data / "audit" / "signing" / "environment"),
    )


def untag(data: Path) -> None:
    db = sqlite3.connect(data / "keys.db")
    db.execute("DROP TABLE keystore_meta")
    db.commit()
    db.close()
    (data / "kek.key.environment").unlink()
    (data / "audit" / "signing" / "environment").unlink()


def test_a_new_data_directory_tags_every_key_file_silently(tmp_path: Path) -> None:
    result = opened(tmp_path, "prod")
    assert result.adopted == () and result.warnings == ()
    assert tags(tmp_path) == ("prod", "prod", "prod")
    assert stat.S_IMODE((tmp_path / "kek.key.environment").stat().st_mode) == 0o600
    again = opened(tmp_path, "prod")
    assert again.adopted == () and again.warnings == ()


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ((), "the key-encryption key"),
        (("kek.key.environment",), "the signing keyring"),
        (("kek.key.environment", "audit/signing/environment"), "the keystore"),
    ],
)
def test_each_key_file_of_another_environment_is_refused_naming_both(
    tmp_path: Path, remove: tuple[str, ...], named: str
) -> None:
    opened(tmp_path, "prod")
    for name in remove:
        (tmp_path / name).unlink()
    with pytest.raises(EnvironmentMismatch) as caught:
        opened(tmp_path, "dev")
    message = str(caught.value)
    assert message.startswith(named) and "\n" not in message
    assert "made for the prod environment" in message and "runs as dev" in message
    assert exit_code_of(caught.value) == 2
    assert tags(tmp_path)[0] == "prod"  # nothing was re-tagged
    for name in remove:
        assert not (tmp_path / name).exists()  # nor adopted before the refusal


def test_untagged_files_are_adopted_once_with_a_note_each(tmp_path: Path) -> None:
    opened(tmp_path, "dev")
    (tmp_path / "audit" / "signing" / "keyring.json").write_text("{}")
    untag(tmp_path)
    first = opened(tmp_path, "staging")
    assert len(first.adopted) == 3 and first.warnings == ()
    assert all("as staging (SYNCLEDGER_ENVIRONMENT)" in line for line in first.adopted)
    assert tags(tmp_path) == ("staging", "staging", "staging")
    assert opened(tmp_path, "staging").adopted == ()
    with pytest.raises(EnvironmentMismatch):
        opened(tmp_path, "dev")


def test_a_keyring_not_made_yet_in_an_old_directory_is_left_alone(tmp_path: Path) -> None:
    opened(tmp_path, "dev")
    untag(tmp_path)
    adopted = opened(tmp_path, "dev").adopted
    assert len(adopted) == 2
    assert not (tmp_path / "audit" / "signing" / "environment").exists()


def test_a_kek_whose_tag_cannot_be_written_stays_untagged_and_says_so(tmp_path: Path) -> None:
    """As on a read-only secret mount (the tag's temporary file cannot be created: even
    root cannot open a directory for writing)."""
    kek_file = tmp_path / "secrets" / "kek.key"
    load_or_create_kek(kek_file)
    (kek_file.parent / f".kek.key.environment.{os.getpid()}.tmp").mkdir()
    result = open_keystore(tmp_path / "keys.db", load_or_create_kek(kek_file), kek_file, "prod")
    result.keys.close()
    (warning,) = result.warnings
    assert warning.startswith("cannot tag the key-encryption key")
    assert not (kek_file.parent / "kek.key.environment").exists()


def test_a_tag_that_names_no_environment_is_an_error(tmp_path: Path) -> None:
    opened(tmp_path, "dev")
    (tmp_path / "kek.key.environment").write_text("production\n")
    with pytest.raises(Exception, match="names the environment 'production', not one of"):
        opened(tmp_path, "dev")


def test_the_environment_setting_defaults_to_dev_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SYNCLEDGER_ENVIRONMENT", raising=False)
    assert Settings().environment == "dev"
    monkeypatch.setenv("SYNCLEDGER_ENVIRONMENT", "prod")
    assert load_settings({}).environment == "prod"
    check_environment({"SYNCLEDGER_ENVIRONMENT": "prod"})  # a known variable
    monkeypatch.setenv("SYNCLEDGER_ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="SYNCLEDGER_ENVIRONMENT"):
        load_settings({})


def test_the_command_refuses_a_data_directory_of_another_environment(tmp_path: Path) -> None:
    """A real process: the data directory set up as prod, opened as dev (exit 2, one line)."""
    env = {**os.environ, "SYNCLEDGER_DATA_DIR": str(tmp_path / "data")}
    env["SYNCLEDGER_KEK_FILE"] = str(tmp_path / "kek.key")
    env.pop("SYNCLEDGER_ENVIRONMENT", None)
    opened_dir = tmp_path / "data"
    opened_dir.mkdir()
    kek_file = tmp_path / "kek.key"
    open_keystore(opened_dir / "keys.db", load_or_create_kek(kek_file), kek_file, "prod")
    kek_file.with_name("kek.key.environment").unlink()  # reach the keystore's own tag
    (opened_dir / "audit" / "signing" / "environment").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", "audit", "keys", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "keys.db was made for the prod environment" in lines[0] and "as dev" in lines[0]


def test_every_command_opens_the_keystore_for_the_configured_environment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through bootstrap: an old, untagged data directory is adopted with a line each (info);
    a data directory of another environment is refused."""
    from syncledger.core.bootstrap import _keystore

    data = tmp_path / "data"
    kek_file = data / "kek.key"
    opened_before = open_keystore(data / "keys.db", load_or_create_kek(kek_file), kek_file, "dev")
    opened_before.keys.close()
    untag(data)
    with caplog.at_level(logging.INFO):
        _keystore(Settings(data_dir=data, kek_file=kek_file, environment="prod"), log_known=True)
    adopted = [r.getMessage() for r in caplog.records if "as prod" in r.getMessage()]
    assert len(adopted) == 2 and all(r.levelno == logging.INFO for r in caplog.records)
    with pytest.raises(EnvironmentMismatch, match="runs as staging"):
        _keystore(Settings(data_dir=data, kek_file=kek_file, environment="staging"), log_known=True)
