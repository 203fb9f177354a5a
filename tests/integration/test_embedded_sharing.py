"""Sharing the embedded server of a data directory (``syncledger.core.embedded.attach``): the first
user starts it, later ones join it, the last one out stops it — including a server that
another user restarted after the first one died. Each attachment holds its own lock file
description, so attachments in one process behave as separate processes would."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from syncledger.core.embedded import attach

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


def test_later_users_join_the_running_server_and_the_last_one_stops_it(tmp_path: Path) -> None:
    first = attach(tmp_path)
    second = attach(tmp_path)
    assert first.started and not second.started
    assert second.server.pid == first.server.pid is not None
    pid = first.server.pid
    assert not first.release(), "stopped a server another user still had"
    assert alive(pid)
    assert second.release()
    assert not alive(pid)
    assert not (tmp_path / "nats" / "server.json").exists()


def test_the_last_user_also_stops_a_server_another_user_restarted(tmp_path: Path) -> None:
    first = attach(tmp_path)
    assert first.server.pid is not None
    os.kill(first.server.pid, signal.SIGKILL)
    first.server._proc.wait()  # type: ignore[union-attr]
    restarter = attach(tmp_path)  # finds it dead: starts another on the same store
    assert restarter.started and restarter.server.pid != first.server.pid
    restarted = restarter.server.pid
    assert restarted is not None
    assert not restarter.release()  # the first user is still attached
    assert alive(restarted)
    assert first.release()
    assert not alive(restarted), "the server nobody uses any more was left running"
    assert not (tmp_path / "nats" / "server.json").exists()
