"""A read command's "create nothing" mode ends with the command: a process that runs
several commands (a script, the test suite) must not carry it into the next one."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from syncledger.core.bootstrap import READING_ONLY
from syncledger.core.cli import app
from syncledger.core.errors import ConfigurationError


def test_read_only_mode_ends_with_the_read_command(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(app, ["status", "--data-dir", str(missing)])
    # the app itself raises; main() turns it into one line and exit 2
    assert isinstance(result.exception, ConfigurationError) and not missing.exists()
    assert READING_ONLY.get() is False
