"""The log's first-time setup, and the marker that lets it happen only once.

The log stream is created only when this data directory has never seen it.
``<data-dir>/log.json`` remembers each log stream the directory has used (written when
the stream is created, or first found on a server). From then on a missing stream is an
error that stops every command, naming the data directory and what to do — never a fresh,
empty log, which would silently lose every event and make the sync push everything again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from core.embedded import write_private
from core.errors import EventStoreUnavailable, LogMissing
from core.store_jetstream import JetStreamEventStore

MARKER_FILE = "log.json"


class LogMarker:
    """``<data-dir>/log.json``: stream name → where it was found and since when."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / MARKER_FILE

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise LogMissing(
                f"{self.path} is unreadable ({type(exc).__name__}); it records which log this "
                "data directory uses: restore it from a backup"
            ) from exc
        return {str(k): dict(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def seen(self, stream: str) -> dict[str, str] | None:
        return self._read().get(stream)

    def remember(self, stream: str, server: str, *, created: bool) -> None:
        streams = self._read()
        if stream in streams:
            return
        streams[stream] = {
            "server": server,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "created": "yes" if created else "no (found)",
        }
        write_private(self.path, json.dumps(streams, indent=2, sort_keys=True))


def missing_message(stream: str, server: str, marker: LogMarker, seen: dict[str, str]) -> str:
    return (
        f"the log (stream {stream}) is missing on {server}, but {marker.path.parent} has used "
        f"it since {seen.get('since', '?')} ({marker.path}); syncledger will not start a new, "
        "empty log: restore the stream from a backup or point SYNCLEDGER_NATS_URL / "
        "SYNCLEDGER_DATA_DIR at the right server and directory"
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
        marker.remember(store.stream, server, created=True)
        return True
    marker.remember(store.stream, server, created=False)
    return False


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
