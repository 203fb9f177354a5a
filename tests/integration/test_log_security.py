"""Only syncledger may touch its log (issue 19 §4): the embedded nats-server authenticates,
every role has least privilege, and another OS user can read neither the credentials nor
the store. Also the external-server case: credentials from settings, the admin user only
for first-time setup, and a log that went missing is never created again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js import api as js_api

from syncledger.core.bootstrap import connect, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import EventStoreUnavailable, LogMissing
from syncledger.core.nats_users import ADMIN_USER, APP_USER, READER_USER
from syncledger.core.settings import Settings
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.event_store_contract import observed
from tests.support.servers import OpenNats

pytestmark = pytest.mark.integration

DENIED = nats.errors.TimeoutError  # the server drops a request the user may not make


@pytest.fixture
async def app(server: EmbeddedNats) -> AsyncIterator[JetStreamEventStore]:
    nc = await nats.connect(server.url)
    store = JetStreamEventStore(nc, ack_timeout=1.0, retries=0)
    await store.append([observed(f"c{i}") for i in range(3)])
    yield store
    await store.close()
    await nc.close()


async def _admin_view(server: EmbeddedNats) -> js_api.StreamInfo:
    nc = await nats.connect(server.admin_url)
    try:
        return await nc.jetstream().stream_info("SYNCLEDGER")
    finally:
        await nc.close()


async def test_a_connection_without_credentials_is_refused(server: EmbeddedNats) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.address, allow_reconnect=False, connect_timeout=2)


async def test_a_wrong_password_is_refused_and_never_shown(server: EmbeddedNats) -> None:
    wrong = server.url.replace(server.passwords[APP_USER], "not-the-password")
    with pytest.raises(EventStoreUnavailable, match="refused syncledger's credentials") as err:
        await connect(wrong, address=server.address)
    assert "not-the-password" not in str(err.value)


async def test_the_app_user_cannot_delete_purge_or_rewrite_the_log(
    server: EmbeddedNats, app: JetStreamEventStore
) -> None:
    js = app._nc.jetstream(timeout=1.0)
    attempts = [
        js.delete_stream("SYNCLEDGER"),
        js.purge_stream("SYNCLEDGER"),
        js.delete_msg("SYNCLEDGER", 1),
        js.update_stream(js_api.StreamConfig(name="SYNCLEDGER", subjects=["sl.>"], max_msgs=1)),
    ]
    for attempt in attempts:
        with pytest.raises(DENIED):
            await attempt
    info = await _admin_view(server)
    assert info.state.messages == 3 and info.state.first_seq == 1
    assert info.config.deny_delete and info.config.deny_purge and info.config.max_msgs in (None, -1)


@pytest.mark.parametrize("role", [ADMIN_USER, READER_USER])
async def test_nobody_but_syncledger_publishes_to_the_log(
    server: EmbeddedNats, app: JetStreamEventStore, role: str
) -> None:
    nc = await nats.connect(server.url_for(role))
    try:
        forged = observed("forged-invoice")
        with pytest.raises(DENIED):
            await nc.request(forged.subject, forged.to_bytes(), timeout=1.0)
    finally:
        await nc.close()
    assert (await _admin_view(server)).state.messages == 3
    assert await app.subject_last_seq(observed("forged-invoice").subject) == 0


async def test_the_reader_reads_the_log(server: EmbeddedNats, app: JetStreamEventStore) -> None:
    nc = await nats.connect(server.reader_url)
    try:
        reader = JetStreamEventStore(nc)
        assert [e.seq async for e in reader.read()] == [1, 2, 3]
    finally:
        await nc.close()


def test_secrets_are_private_and_never_logged(server: EmbeddedNats) -> None:
    assert server.nats_dir.stat().st_mode & 0o777 == 0o700
    for name in ("credentials.json", "nats-server.conf"):
        assert (server.nats_dir / name).stat().st_mode & 0o777 == 0o600
    log = server.log_file.read_text()
    assert all(password not in log for password in server.passwords.values())


# ---------------------------------------------------------------------- another OS user

_AS_ANOTHER_USER = textwrap.dedent(
    """
    import json, socket, sys
    data, port = sys.argv[1], int(sys.argv[2])
    def reads(path):
        try:
            open(path, "rb").read(1)
            return True
        except OSError:
            return False
    def lists(path):
        import os
        try:
            os.listdir(path)
            return True
        except OSError:
            return False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.recv(4096)  # INFO
        s.sendall(b'CONNECT {"verbose":false}\\r\\n')
        s.sendall(b'PUB sl.demo.source.csv.invoice.x 2\\r\\nhi\\r\\n')
        answer = s.recv(4096).decode()
    print(json.dumps({
        "control": reads(data + "/readable.txt"),
        "credentials": reads(data + "/nats/credentials.json"),
        "config": reads(data + "/nats/nats-server.conf"),
        "store": lists(data + "/nats/jetstream"),
        "kek": reads(data + "/keys.db"),  # the KEK itself is not in the data directory
        "server": answer,
    }))
    """
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A data directory another user may enter (pytest's own tmp dirs are 0700: there
    nobody could even look, and the test would prove nothing)."""
    base = Path(tempfile.mkdtemp(prefix="sl-other-user-", dir="/tmp"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir(mode=0o755)
    (data / "readable.txt").write_text("a file another user may read")
    (data / "readable.txt").chmod(0o644)
    yield data
    shutil.rmtree(base)


def _as_another_user(data: Path, port: int) -> dict[str, object]:
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    result = subprocess.run(
        [*as_nobody, "/usr/bin/python3", "-c", _AS_ANOTHER_USER, str(data), str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen: dict[str, object] = json.loads(result.stdout)
    return seen


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
async def test_another_os_user_cannot_read_the_secrets_or_the_store_or_publish(
    shared_dir: Path,
) -> None:
    async with open_runtime(Settings(data_dir=shared_dir)) as rt:
        assert rt.embedded is not None
        seen = _as_another_user(shared_dir, rt.embedded.port)
        assert await rt.store.last_seq() == 0  # nothing was published
    assert seen["control"], "the other user could not read even a world-readable file"
    assert not (seen["credentials"] or seen["config"] or seen["store"] or seen["kek"])
    assert "Authorization Violation" in str(seen["server"])


# ---------------------------------------------------------------------- an external server


def _secret(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A stand-in for an operator's server: authenticated, no log on it yet."""
    with EmbeddedNats(tmp_path / "cluster", stream=None) as embedded:
        yield embedded


def _external(tmp_path: Path, server: EmbeddedNats, data: str, admin: bool) -> Settings:
    settings = {
        "data_dir": tmp_path / data,
        "nats_url": server.address,
        "nats_user": APP_USER,
        "nats_password_file": _secret(tmp_path / "app-pw", server.passwords[APP_USER]),
    }
    if admin:
        settings["nats_admin_user"] = ADMIN_USER
        settings["nats_admin_password_file"] = _secret(
            tmp_path / "admin-pw", server.passwords[ADMIN_USER]
        )
    return Settings(**settings)


async def test_an_external_log_is_made_by_the_admin_once_and_never_again(
    tmp_path: Path, cluster: EmbeddedNats
) -> None:
    cfg = _external(tmp_path, cluster, "worker-1", admin=True)
    async with open_runtime(cfg) as rt:  # first-time setup: the admin user creates it
        await rt.store.append([observed("x", entity="demo")])
    assert json.loads((cfg.data_dir / "log.json").read_text())["SYNCLEDGER"]["created"] == "yes"
    nc = await nats.connect(cluster.admin_url)
    await nc.jetstream().delete_stream("SYNCLEDGER")  # lost, by whatever means
    await nc.close()
    with pytest.raises(LogMissing, match="will not start a new, empty log") as err:
        async with open_runtime(cfg):  # admin credentials still set: not first-time any more
            pass
    assert str(cfg.data_dir) in str(err.value)
    assert cluster.passwords[APP_USER] not in str(err.value)
    assert cluster.passwords[ADMIN_USER] not in str(err.value)
    nc = await nats.connect(cluster.admin_url)
    with pytest.raises(nats.js.errors.NotFoundError):
        await nc.jetstream().stream_info("SYNCLEDGER")
    await nc.close()


async def test_the_app_user_alone_cannot_create_the_log(
    tmp_path: Path, cluster: EmbeddedNats
) -> None:
    cfg = _external(tmp_path, cluster, "worker-1", admin=False)
    with pytest.raises(EventStoreUnavailable, match="first-time setup needs the admin user"):
        async with open_runtime(cfg):
            pass
    assert not (cfg.data_dir / "log.json").exists()


# ---------------------------------------------------------------------- earlier versions


def _earlier_versions_layout(data: Path) -> OpenNats:
    """A data directory as earlier versions left it: an unauthenticated server's store
    with the log in it, ``nats/url``, no ``log.json``."""
    server = OpenNats(data)
    (data / "nats").mkdir(parents=True)
    (data / "nats" / "url").write_text(server.address)
    return server


async def test_a_data_dir_from_before_authentication_keeps_its_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _earlier_versions_layout(data) as old:
        nc = await nats.connect(old.url)
        store = JetStreamEventStore(nc)
        await store.ensure_stream(create=True)
        await store.append([observed("kept-1"), observed("kept-2")])
        await store.close()
        await nc.close()
    async with open_runtime(Settings(data_dir=data)) as rt:
        assert await rt.store.last_seq() == 2
    marker = json.loads((data / "log.json").read_text())["SYNCLEDGER"]
    assert marker["created"] == "no (found)" and marker["last_seq"] == 2
    assert not (data / "nats" / "url").exists()


async def test_a_server_an_earlier_version_still_runs_is_not_joined_by_a_second(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with _earlier_versions_layout(data):
        with pytest.raises(EventStoreUnavailable, match="earlier syncledger version"):
            async with open_runtime(Settings(data_dir=data)):
                pass
        starts = (data / "nats" / "nats-server.log").read_text().count("Starting nats-server")
        assert starts == 1, "a second server started on the store"
