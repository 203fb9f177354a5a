"""The composition root: settings in, connected parts out. Nothing here runs at import."""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from adapters.platforms import mapping_name
from core.embedded import EmbeddedNats
from core.errors import ConfigurationError, EventStoreUnavailable
from core.events import MappingVersionPublished, make_envelope, subject_for
from core.keystore import SqliteKeyStore, kek_id_of, load_or_create_kek
from core.settings import Settings
from core.store_jetstream import JetStreamEventStore

if TYPE_CHECKING:
    from audit.context import AuditContext


@dataclass
class Runtime:
    settings: Settings
    nats_url: str
    nc: NatsClient
    store: JetStreamEventStore
    keys: SqliteKeyStore
    embedded: EmbeddedNats | None


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), 0.5):
            return True
    except OSError:
        return False


def _start_nats(settings: Settings) -> tuple[str, EmbeddedNats | None]:
    """The configured server, or the data dir's embedded one (reused if already running)."""
    if settings.nats_url:
        return settings.nats_url, None
    url_file = settings.data_dir / "nats" / "url"
    if url_file.exists():
        url = url_file.read_text().strip()
        if _reachable(url):
            return url, None
    embedded = EmbeddedNats(settings.data_dir).start()
    url_file.write_text(embedded.url)
    return embedded.url, embedded


async def connect(url: str) -> NatsClient:
    try:
        return await nats.connect(
            url,
            connect_timeout=5,
            max_reconnect_attempts=60,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
        )
    except (OSError, nats.errors.Error) as exc:
        raise EventStoreUnavailable(
            f"cannot reach NATS at {url}: {type(exc).__name__}; start nats-server or unset "
            "SYNCLEDGER_NATS_URL to use the embedded one"
        ) from exc


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url, embedded = _start_nats(settings)
    keys: SqliteKeyStore | None = None
    nc: NatsClient | None = None
    store: JetStreamEventStore | None = None
    try:
        nc = await connect(url)
        store = JetStreamEventStore(nc, stream=settings.stream)
        await store.ensure_stream()
        kek = load_or_create_kek(settings.key_file)
        keys = SqliteKeyStore(settings.data_dir / "keys.db", kek, kek_id_of(kek))
        yield Runtime(settings, url, nc, store, keys, embedded)
    finally:
        if store is not None:
            await store.close()
        if nc is not None and not nc.is_closed:
            await nc.drain()
        if keys is not None:
            keys.close()
        if embedded is not None:
            (settings.data_dir / "nats" / "url").unlink(missing_ok=True)
            embedded.stop()


def mapping_file(ledger: str) -> Path:
    path = Path(str(resources.files("adapters") / "mappings" / f"{mapping_name(ledger)}.toml"))
    if not path.exists():
        raise ConfigurationError(f"no mapping file for ledger {ledger!r} ({path})")
    return path


async def publish_mapping(store: JetStreamEventStore, entity: str, ledger: str, actor: str) -> str:
    """The mapping version in force; appends ``MappingVersionPublished`` when it is new."""
    content = mapping_file(ledger).read_text()
    digest = hashlib.sha256(content.encode()).hexdigest()
    version = f"{ledger}@{digest[:12]}"
    subject = subject_for(entity, "audit", "syncledger", "mapping", f"{ledger}-{digest[:12]}")
    if await store.subject_last_seq(subject) == 0:
        payload = MappingVersionPublished(
            ledger=ledger, mapping_version=version, sha256=digest, content=content
        )
        await store.append(
            [make_envelope(payload, entity=entity, subject=subject, actor=actor)],
            expect={subject: 0},
        )
    return version


def audit_context(rt: Runtime) -> AuditContext:
    """What the audit module works on: this runtime's log, keystore and data directory."""
    from audit.context import AuditContext

    s = rt.settings
    return AuditContext(
        rt.store,
        rt.keys,
        s.data_dir,
        s.entity,
        s.actor,
        kek_file=s.key_file,
        origin=f"syncledger/{s.stream}",
    )
