"""Configuration mistakes end with one line naming where the mistake is (and the nearest
valid name) and exit 2; `-h`, `--version`, a bare command, `| head` behave (issue 16)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from syncledger.core.errors import ConfigurationError
from syncledger.core.settings import Settings
from syncledger.core.settings_check import check_environment, load_settings, read_toml

README = Path(__file__).resolve().parents[2] / "README.md"


def cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


def test_an_unknown_variable_names_the_nearest_known_one() -> None:
    with pytest.raises(
        ConfigurationError, match=r"SYNCLEDGER_NATSURL \(did you mean SYNCLEDGER_NATS_URL\?\)"
    ):
        check_environment({"SYNCLEDGER_NATSURL": "nats://x:4222"})


def test_platform_credentials_and_tooling_variables_are_known() -> None:
    check_environment(
        {
            "SYNCLEDGER_QBO_CLIENT_ID": "x",
            "SYNCLEDGER_ZOHO_BOOKS_REFRESH_TOKEN": "x",
            "SYNCLEDGER_GOOGLE_CONTACTS_CSV_FILE": "x",
            "SYNCLEDGER_HUBSPOT_ACCESS_TOKEN": "x",
            "SYNCLEDGER_DEBUG": "1",
            "SYNCLEDGER_LOG_LEVEL": "info",
            "SYNCLEDGER_TESTS_NO_DOCKER": "1",
            "SYNCLEDGER_UPDATE_SCREENSHOTS": "1",
            "SYNCLEDGER_CHECKPOINT_EVERY_S": "60",
            "PATH": "/bin",
        }
    )


def test_a_misspelt_credential_names_the_platforms_own_name() -> None:
    with pytest.raises(ConfigurationError, match=r"did you mean SYNCLEDGER_XERO_TENANT_ID\?"):
        check_environment({"SYNCLEDGER_XERO_TENANTID": "x"})


def test_a_variable_an_alert_channel_names_is_known() -> None:
    check_environment({"SYNCLEDGER_SLACK_URL": "x"}, extra={"SYNCLEDGER_SLACK_URL"})


def test_a_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "syncledger.toml"
    path.write_text('entity = "x"\nledger =\n')
    with pytest.raises(ConfigurationError, match=r"syncledger.toml: not valid TOML: .*line 2"):
        read_toml(path)


def test_an_unknown_toml_key_names_line_and_nearest_setting(tmp_path: Path) -> None:
    path = tmp_path / "syncledger.toml"
    path.write_text('entity = "x"\n\ncheckpoint_every = 60\n')
    with pytest.raises(ConfigurationError) as err:
        read_toml(path)
    assert str(err.value) == (
        f"{path} line 3: unknown setting 'checkpoint_every' (did you mean checkpoint_every_s?)"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "SYNCLEDGER_CHECKPOINT_EVERY_S",
            "0",
            "SYNCLEDGER_CHECKPOINT_EVERY_S: Input should be greater than 0",
        ),
        (
            "SYNCLEDGER_FIELD_AUTHORITY",
            "not json",
            "SYNCLEDGER_FIELD_AUTHORITY is not valid JSON: give {",
        ),
        (
            "SYNCLEDGER_NATS_URL",
            "garbage",
            "SYNCLEDGER_NATS_URL: not a NATS server URL: give nats://host:4222",
        ),
        (
            "SYNCLEDGER_NATS_URL",
            "http://127.0.0.1:8222",
            "SYNCLEDGER_NATS_URL: not a NATS server URL",
        ),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as err:
        load_settings({})
    assert str(err.value).startswith(expected)


def test_intervals_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in ("backsync_every_s", "reconcile_every_s", "source_poll_every_s", "ack_wait_s"):
        monkeypatch.setenv(f"SYNCLEDGER_{field.upper()}", "0")
        with pytest.raises(ConfigurationError, match=f"SYNCLEDGER_{field.upper()}: "):
            load_settings({})
        monkeypatch.delenv(f"SYNCLEDGER_{field.upper()}")


def test_ledger_ids_are_case_insensitive() -> None:
    assert load_settings({"ledger": "QBO"}).ledger == "qbo"
    assert load_settings({"ledger": "Zoho-Books"}).ledger == "zoho-books"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [f for f in Settings.model_fields if f"SYNCLEDGER_{f.upper()}" not in text]
    assert missing == []


# ---------------------------------------------------------------------- as a user runs it


def test_an_unknown_variable_stops_a_command_with_exit_2(tmp_path: Path) -> None:
    result = cli(["status"], tmp_path, {"SYNCLEDGER_DATADIR": str(tmp_path)})
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "error: unknown environment variable SYNCLEDGER_DATADIR "
        "(did you mean SYNCLEDGER_DATA_DIR?) (unset it or correct its name)"
    )


def test_a_broken_toml_file_stops_a_command_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "syncledger.toml").write_text('entity = "x"\nledger = \n')
    result = cli(["status"], tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(
        r"error: syncledger.toml: not valid TOML: .*\(at line 2, column \d+\); fix that line",
        one_line(result.stderr),
    )


def test_a_bad_toml_value_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "syncledger.toml").write_text('entity = "x"\ncheckpoint_every_s = 0\n')
    result = cli(["run"], tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "error: syncledger.toml line 2: setting checkpoint_every_s: Input should be greater than 0"
    )
    assert not (tmp_path / ".syncledger").exists()


def test_checkpoint_every_zero_stops_run_with_one_line(tmp_path: Path) -> None:
    result = cli(["run"], tmp_path, {"SYNCLEDGER_CHECKPOINT_EVERY_S": "0"})
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "error: SYNCLEDGER_CHECKPOINT_EVERY_S: Input should be greater than 0"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["errors"],
        ["trace", "csv/invoice/INV-1"],
        ["conflicts"],
        ["review"],
        ["sends"],
        ["report", "daily"],
        ["audit", "verify-log"],
        ["audit", "hold", "list", "--data-dir", "elsewhere"],
    ],
)
def test_a_read_command_without_a_data_directory_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    result = cli(args, tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("error: no data directory at ")
    assert list(tmp_path.iterdir()) == []  # no KEK, no log, no read models


def test_help_version_and_a_bare_command(tmp_path: Path) -> None:
    short = cli(["-h"], tmp_path)
    assert short.returncode == 0 and "Usage: syncledger" in short.stdout
    assert cli(["status", "-h"], tmp_path).returncode == 0
    version = cli(["--version"], tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"syncledger \d+\.\d+\S*\n", version.stdout)
    for bare in ([], ["audit"], ["projections"]):
        result = cli(bare, tmp_path)
        assert result.returncode == 2
        assert "Usage: syncledger" in result.stdout + result.stderr, bare
        assert "error:" not in result.stderr, bare


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_is_offered(tmp_path: Path, shell: str) -> None:
    """The script for a named shell (README). ``--show-completion`` prints the script of
    the shell it detects among its parent processes, so under make or CI it may find none:
    the named-shell route is the one that does not depend on who started the command."""
    result = cli([], tmp_path, env={"_SYNCLEDGER_COMPLETE": f"source_{shell}"})
    assert result.returncode == 0 and "_SYNCLEDGER_COMPLETE" in result.stdout


@pytest.mark.parametrize("args", [["sandbox", "--list"], ["audit", "--help"]])
def test_a_closed_pipe_is_not_an_error(tmp_path: Path, args: list[str]) -> None:
    """`syncledger … | head -1`: the reader leaves early; no 'Broken pipe' line (exit 1,
    as README's exit-code table says)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything was written
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == ""
    assert proc.returncode == 1
