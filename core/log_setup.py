"""The log's first-time setup, and the marker that lets it happen only once.

The log stream is created only when this data directory has never seen it.
``<data-dir>/log.json`` remembers each log stream the directory has used (written when
the stream is created, or first found on a server) and the furthest position its commands
saw. From then on a missing stream — or one shorter than it was — is an error that stops
every command, naming the data directory and what to do; never a fresh, empty log, which
would silently lose every event and make the sync push everything again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from syncledger.core.embedded import write_private
from syncledger.core.errors import EventStoreUnavailable, LogMissing
from syncledger.core.store_jetstream import JetStreamEventStore

MARKER_FILE = "log.json"


@dataclass(frozen=True)
class SeenLog:
    """What a data directory remembers of one log stream."""

    server: str
    since: str
    last_seq: int  # the furthest position any command of this directory saw


class LogMarker:
    """``<data-dir>/log.json``: each log stream the directory used, where it was found,
    since when, and how far it had grown (read-modify-write under ``log.lock``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / MARKER_FILE
        self._lock = data_dir / "log.lock"

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise LogMissing(
                f"{self.path} is unreadable ({type(exc).__name__}); it records which log this "
                "data directory uses: restore it from a backup"
            ) from exc
        if not isinstance(raw, dict):
            return {}
        return {str(k): dict(v) for k, v in raw.items() if isinstance(v, dict)}

    def seen(self, stream: str) -> SeenLog | None:
        entry = self._read().get(stream)
        if entry is None:
            return None
        last = entry.get("last_seq", 0)
        return SeenLog(
            str(entry.get("server", "?")),
            str(entry.get("since", "?")),
            last if isinstance(last, int) else 0,
        )

    def remember(self, stream: str, server: str, last_seq: int, *, created: bool) -> None:
        """Record ``stream`` (if new) and how far it has grown (if further than before)."""
        with self._locked():
            streams = self._read()
            entry = streams.get(stream)
            if entry is not None and int(entry.get("last_seq") or 0) >= last_seq:
                return
            streams[stream] = entry or {
                "server": server,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "created": "yes" if created else "no (found)",
            }
            streams[stream]["last_seq"] = last_seq
            write_private(self.path, json.dumps(streams, indent=2, sort_keys=True))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def missing_message(stream: str, server: str, marker: LogMarker, seen: SeenLog) -> str:
    return (
        f"the log (stream {stream}) is missing on {server}, but {marker.path.parent} has used "
        f"it since {seen.since} ({marker.path}); syncledger will not start a new, empty log: "
        "restore the stream from a backup or point SYNCLEDGER_NATS_URL / SYNCLEDGER_DATA_DIR "
        "at the right server and directory"
    )


def shrunk_message(stream: str, server: str, last: int, marker: LogMarker, seen: SeenLog) -> str:
    return (
        f"the log (stream {stream}) on {server} ends at event {last}, but {marker.path.parent} "
        f"has seen it reach {seen.last_seq} ({marker.path}): events were lost or this is "
        "another log; syncledger stops here: restore the stream from a backup or point "
        "SYNCLEDGER_NATS_URL / SYNCLEDGER_DATA_DIR at the right server and directory"
    )


async def open_log(
    store: JetStreamEventStore,
    marker: LogMarker,
    *,
    server: str,
    connect_admin: Callable[[], Awaitable[NatsClient]] | None = None,
    replicas: int = 1,
) -> bool:
    """Verify the log stream with ``store``. At first-time setup (the marker has never
    seen the stream) create it, with an admin connection from ``connect_admin`` if given,
    else with ``store``'s own. ``server`` names the server in messages (never with
    credentials). True when the stream was created."""
    try:
        await store.ensure_stream(replicas)
    except LogMissing:
        seen = marker.seen(store.stream)
        if seen is not None:
            raise LogMissing(missing_message(store.stream, server, marker, seen)) from None
        await _create(store, connect_admin, replicas)
        await store.ensure_stream(replicas)  # as created (and ``store`` learns its replicas)
        marker.remember(store.stream, server, 0, created=True)
        return True
    await check_position(store, marker, server=server)
    return False


async def check_position(store: JetStreamEventStore, marker: LogMarker, *, server: str) -> int:
    """The log's last position, recorded in the marker; ``LogMissing`` when the log is
    shorter than this directory has seen it (events lost, or another log). The marker is
    read first: another command may record a later position at any moment, but never one
    beyond what the log held when it is asked afterwards (a log only grows)."""
    seen = marker.seen(store.stream)
    last = await store.last_seq()
    if seen is not None and last < seen.last_seq:
        raise LogMissing(shrunk_message(store.stream, server, last, marker, seen))
    marker.remember(store.stream, server, last, created=False)
    return last


async def _create(
    store: JetStreamEventStore,
    connect_admin: Callable[[], Awaitable[NatsClient]] | None,
    replicas: int,
) -> None:
    if connect_admin is None:
        await store.ensure_stream(replicas, create=True)
        return
    nc = await connect_admin()
    try:
        await JetStreamEventStore(nc, stream=store.stream).ensure_stream(replicas, create=True)
    finally:
        await nc.close()


async def setup_embedded_log(admin_url: str, stream: str, data_dir: Path) -> bool:
    """The embedded server's first-time setup, as its admin user: verify the log stream,
    or create it if ``data_dir`` never saw it. True when it was created."""
    server = f"the embedded nats-server of {data_dir}"
    try:
        nc = await nats.connect(admin_url, connect_timeout=5, allow_reconnect=False)
    except (OSError, nats.errors.Error) as exc:
        raise EventStoreUnavailable(
            f"cannot connect to {server} as its admin user ({type(exc).__name__}: {exc}); "
            f"see {data_dir / 'nats' / 'nats-server.log'}"
        ) from exc
    try:
        return await open_log(
            JetStreamEventStore(nc, stream=stream), LogMarker(data_dir), server=server
        )
    finally:
        await nc.close()
