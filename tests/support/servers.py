"""Real servers for integration tests: testcontainers when a Docker engine answers,
otherwise the local binaries (nats-server from the venv, PostgreSQL from Debian)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from syncledger.core.embedded import EmbeddedNats, free_port, server_config


@lru_cache(maxsize=1)
def docker_available() -> bool:
    if os.environ.get("SYNCLEDGER_TESTS_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def nats_server() -> Iterator[str]:
    """A JetStream server with ``sync_interval: always``; yields its URL."""
    if docker_available():
        from testcontainers.community.nats import NatsContainer

        with tempfile.TemporaryDirectory() as tmp:
            conf = Path(tmp) / "js.conf"
            conf.write_text(
                'listen: 0.0.0.0:4222\njetstream { store_dir: "/data", sync_interval: always }\n'
            )
            container = NatsContainer("nats:2.12-alpine").with_volume_mapping(
                str(conf), "/etc/nats/js.conf"
            )
            container.with_command("-c /etc/nats/js.conf")
            with container:
                yield container.nats_uri()
        return
    with tempfile.TemporaryDirectory(prefix="sl-nats-") as tmp, OpenNats(Path(tmp)) as srv:
        yield srv.url


class OpenNats(EmbeddedNats):
    """A JetStream server that admits anyone and holds no log, like the Docker one above:
    for contract suites that create and delete streams of their own. syncledger's own
    embedded server always authenticates (tests/integration/test_log_security.py)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, stream=None)

    def config(self) -> str:
        return server_config(self.port, self.store_dir)

    @property
    def url(self) -> str:
        return self.address


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server; yields a SQLAlchemy URL (psycopg 3 driver)."""
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as pg:
            yield pg.get_connection_url()
        return
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found: run `make test` (it installs the "
            "Debian postgresql package) or install it yourself"
        )
    tmp = tempfile.mkdtemp(prefix="sl-pg-")
    data = Path(tmp) / "data"
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(tmp, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *args: subprocess.run(  # noqa: E731
        [*as_user, *args], check=True, capture_output=True
    )
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(Path(tmp) / "pg.log"),
            "-w",
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)
