"""The composition root: settings in, connected parts out. Nothing here runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import re
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from syncledger.adapters.platforms import mapping_file
from syncledger.core.alert_consumer import ensure_alert_consumer
from syncledger.core.embedded import Attachment, EmbeddedNats, attach
from syncledger.core.errors import (
    ConfigurationError,
    EventStoreError,
    EventStoreUnavailable,
    KeyStoreError,
)
from syncledger.core.events import MappingVersionPublished, make_envelope, subject_for
from syncledger.core.keystore import (
    KekLocation,
    SqliteKeyStore,
    kek_location,
    load_or_create_kek,
    open_keystore,
)
from syncledger.core.log_setup import LogMarker, check_position, open_log
from syncledger.core.logdisk import LogDisk
from syncledger.core.mapping_diff_log import last_published
from syncledger.core.settings import Settings, nats_servers
from syncledger.core.store import EventStore
from syncledger.core.store_jetstream import JetStreamEventStore

if TYPE_CHECKING:
    from syncledger.audit.context import AuditContext

log = logging.getLogger(__name__)

_ENV = "SYNCLEDGER_NATS"  # settings prefix, for messages
_URL_UNSAFE = re.compile(r"[@/?#%\s]")  # cannot travel in a URL's user:password@
RECONNECT_WAIT_S = 0.5
#: set by a command that only reads what earlier commands stored (core/cli.py): a data
#: directory that does not exist is then an error, not a fresh start
READING_ONLY: ContextVar[bool] = ContextVar("syncledger_reading_only", default=False)


@dataclass
class Runtime:
    settings: Settings
    nats_url: str  # carries the app user's credentials: give it to NATS clients, never print it
    nc: NatsClient
    store: JetStreamEventStore
    keys: SqliteKeyStore
    embedded: EmbeddedNats | None
    nats_address: str = ""  # the server without credentials, for messages
    #: set when the connection to NATS is gone for good (reconnecting gave up)
    connection_lost: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class NatsEndpoint:
    """Where the log is: ``url`` with the app user's credentials (for clients only),
    ``address`` without them (for messages), ``admin_url`` for first-time setup."""

    url: str
    address: str
    admin_url: str | None = None


def strip_credentials(url: str) -> str:
    """``url`` without its ``user:password@`` part (each server's, for several)."""
    return ",".join(_without_credentials(one) for one in nats_servers(url))


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _read_secret(path: Path, setting: str) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {setting} {path} ({type(exc).__name__}): point it at the file "
            "holding the password"
        ) from exc
    if not secret:
        raise ConfigurationError(f"{setting} {path} is empty: put the password in it")
    return secret


def with_credentials(url: str, user: str | None, password_file: Path | None, env: str) -> str:
    """``url`` carrying ``user`` and the password in ``password_file`` (``env`` names the
    settings in messages, e.g. ``SYNCLEDGER_NATS``)."""
    if user is None:
        return url
    if password_file is None:
        raise ConfigurationError(f"{env}_USER is set without {env}_PASSWORD_FILE: set both")
    password = _read_secret(password_file, f"{env}_PASSWORD_FILE")
    if _URL_UNSAFE.search(user + password) or ":" in user:
        raise ConfigurationError(
            f"the user or password of {env}_USER / {env}_PASSWORD_FILE holds a character "
            "that cannot travel in a NATS URL (one of : @ / ? # % or a space; ':' is allowed "
            "in the password): choose one without"
        )
    return ",".join(_carrying(one, f"{user}:{password}") for one in nats_servers(url))


def _carrying(url: str, userinfo: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def external_endpoint(settings: Settings) -> NatsEndpoint:
    url = settings.nats_url or ""
    return NatsEndpoint(
        url=with_credentials(url, settings.nats_user, settings.nats_password_file, _ENV),
        address=strip_credentials(url),
        admin_url=(
            with_credentials(
                url, settings.nats_admin_user, settings.nats_admin_password_file, _ENV + "_ADMIN"
            )
            if settings.nats_admin_user
            else None
        ),
    )


def embedded_endpoint(server: EmbeddedNats) -> NatsEndpoint:
    return NatsEndpoint(server.url, f"the embedded nats-server of {server.data_dir}", None)


def _refusal(exc: BaseException, address: str) -> str:
    text = str(exc)
    if "Authorization Violation" in text:
        return (
            f"NATS at {address} refused syncledger's credentials (Authorization Violation): "
            "check SYNCLEDGER_NATS_USER and SYNCLEDGER_NATS_PASSWORD_FILE, or for the "
            "embedded server its nats/credentials.json (README Security)"
        )
    if isinstance(exc, TimeoutError | nats.errors.TimeoutError):
        return (
            f"cannot reach NATS at {address}: something answers there, but no NATS greeting "
            "came within 5 s: check that SYNCLEDGER_NATS_URL names the NATS client port "
            "(4222 by default), not an HTTP or monitoring port"
        )
    return (
        f"cannot reach NATS at {address}: {type(exc).__name__}; start nats-server or unset "
        "SYNCLEDGER_NATS_URL to use the embedded one"
    )


async def connect(
    url: str,
    *,
    address: str | None = None,
    reconnect_s: float = 30.0,
    lost: asyncio.Event | None = None,
) -> NatsClient:
    """A connection that reconnects for ``reconnect_s`` after losing the server, then
    closes and sets ``lost``. Problems are logged as one line each, without the URL's
    credentials."""
    where = address or strip_credentials(url)
    callbacks = _Callbacks(where, reconnect_s, lost)
    try:
        await _probe(url)  # fails at once on refused credentials; reconnecting would not
        callbacks.nc = await nats.connect(
            nats_servers(url),
            connect_timeout=5,
            allow_reconnect=True,
            reconnect_time_wait=RECONNECT_WAIT_S,
            max_reconnect_attempts=max(1, math.ceil(reconnect_s / RECONNECT_WAIT_S)),
            error_cb=callbacks.error,
            disconnected_cb=callbacks.disconnected,
            reconnected_cb=callbacks.reconnected,
            closed_cb=callbacks.closed,
        )
    except (OSError, nats.errors.Error) as exc:
        raise EventStoreUnavailable(_refusal(exc, where)) from exc
    return callbacks.nc


async def _probe(url: str) -> None:
    async def quiet(exc: Exception) -> None:
        """The caller translates the error."""

    probe = await nats.connect(
        nats_servers(url),
        connect_timeout=5,
        allow_reconnect=False,
        max_reconnect_attempts=1,  # nats-py retries even a first connection otherwise
        reconnect_time_wait=0.1,
        error_cb=quiet,
    )
    await probe.close()


@dataclass
class _Callbacks:
    """nats-py's connection callbacks: one log line each, and ``lost`` set when the client
    gave up reconnecting (not when it is closed on purpose)."""

    where: str
    reconnect_s: float
    lost: asyncio.Event | None
    reconnecting: bool = False
    nc: NatsClient | None = None

    async def error(self, exc: Exception) -> None:
        if not self.reconnecting:  # each failed reconnect attempt says the same again
            log.warning("NATS at %s: %s", self.where, exc or type(exc).__name__)

    async def disconnected(self) -> None:
        if self.nc is not None and self.nc.is_closed:
            return  # closed on purpose
        self.reconnecting = True
        log.warning(
            "lost the connection to NATS at %s; reconnecting for up to %.0f s",
            self.where,
            self.reconnect_s,
        )

    async def reconnected(self) -> None:
        self.reconnecting = False
        log.warning("reconnected to NATS at %s", self.where)

    async def closed(self) -> None:
        if self.reconnecting and self.lost is not None:
            self.lost.set()


async def _attach(settings: Settings) -> Attachment | None:
    """The data directory's embedded server (found or started), unless a URL is set."""
    if settings.nats_url:
        return None
    return await asyncio.to_thread(attach, settings.data_dir, settings.stream)


async def _open_log(store: JetStreamEventStore, settings: Settings, end: NatsEndpoint) -> None:
    admin_url = end.admin_url
    connect_admin = None
    if admin_url is not None:

        async def connect_admin() -> NatsClient:
            return await connect(admin_url, address=end.address, reconnect_s=RECONNECT_WAIT_S)

    await open_log(
        store,
        LogMarker(settings.data_dir),
        server=end.address,
        connect_admin=connect_admin,
        replicas=settings.stream_replicas,
    )


def prepare_data_dir(path: Path) -> None:
    """The data directory, created (0700) when missing — unless the command only reads
    (:data:`READING_ONLY`): then a missing one is an error and nothing is created. One
    that is a file, cannot be created or cannot be written is a ConfigurationError."""
    if READING_ONLY.get() and not path.exists():
        raise ConfigurationError(
            f"no data directory at {path.absolute()}: nothing has been stored there yet, so "
            "there is nothing to read; run the command where you set syncledger up, or give "
            "--data-dir / SYNCLEDGER_DATA_DIR (nothing was created)"
        )
    if path.exists() and not path.is_dir():
        raise ConfigurationError(
            f"the data directory {path} is a file, not a directory: give --data-dir / "
            "SYNCLEDGER_DATA_DIR a directory (syncledger keeps several files there)"
        )
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the data directory {path} ({exc.strerror or exc}): choose "
            "another --data-dir / SYNCLEDGER_DATA_DIR or create it yourself"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"cannot write to the data directory {path}: give the user running syncledger "
            "write access to it (chown/chmod), or choose another --data-dir"
        )


def _keystore(settings: Settings, *, log_known: bool) -> SqliteKeyStore:
    """The data keys. ``log_known``: this data directory had used a log before this
    command, so its ``keys.db`` must exist — a missing one is an error (a fresh, empty
    keystore would leave every sealed personal field in the log unreadable)."""
    path = settings.data_dir / "keys.db"
    if log_known and not path.exists():
        named = settings.kek_file or "the key-encryption key"
        raise KeyStoreError(
            f"{path} is missing, but this data directory has a log whose personal fields are "
            f"sealed with its keys: restore {path.name} from your backup (with "
            f"{named}, the key that unwraps it); syncledger will not start an "
            "empty keystore over an existing log"
        )
    where = kek_file(settings)
    kek = load_or_create_kek(where.path, keystore=path)
    opened = open_keystore(path, kek, where.path, settings.environment)
    if where.warning:
        log.warning(where.warning)
    for line in opened.adopted:
        log.info(line)
    for line in opened.warnings:
        log.warning(line)
    return opened.keys


def config_home() -> Path:
    """``$XDG_CONFIG_HOME``, or ``~/.config`` (the XDG Base Directory default)."""
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(configured) if os.path.isabs(configured) else Path.home() / ".config"


def kek_file(settings: Settings) -> KekLocation:
    """Where this data directory's KEK is (``core.keystore.kek_location``): never beside
    ``keys.db`` for a data directory set up now, unless ``SYNCLEDGER_KEK_FILE`` says so."""
    return kek_location(settings.data_dir, settings.kek_file, config_home())


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Connected parts for one command. In embedded mode the data directory's server is
    shared: found or started here, and stopped on the way out only by the last process
    using it. A log that should exist but does not stops everything (``LogMissing``)."""
    prepare_data_dir(settings.data_dir)
    log_known = LogMarker(settings.data_dir).path.exists()
    # keys.db exists before the log marker can: first-time setup writes the marker (the
    # embedded server's, while attaching, or _open_log's), so a command that finds the
    # marker because another one just set the directory up always finds keys.db too
    keys = _keystore(settings, log_known=log_known)
    attached: Attachment | None = None
    nc: NatsClient | None = None
    store: JetStreamEventStore | None = None
    lost = asyncio.Event()
    end: NatsEndpoint | None = None
    try:
        attached = await _attach(settings)
        end = embedded_endpoint(attached.server) if attached else external_endpoint(settings)
        nc = await connect(
            end.url, address=end.address, reconnect_s=settings.nats_reconnect_s, lost=lost
        )
        store = JetStreamEventStore(nc, stream=settings.stream)
        store.recovery = LogDisk(attached.server) if attached else None  # a full disk
        await _open_log(store, settings, end)
        if settings.alert_channels:
            await ensure_alert_consumer(nc, settings.stream, settings.entity)
        server = attached.server if attached else None
        yield Runtime(settings, end.url, nc, store, keys, server, end.address, lost)
    finally:
        await _record_position(store, nc, settings, end.address if end else "")
        await _close(store, nc, keys)
        if attached is not None:
            await asyncio.to_thread(attached.release)


async def _record_position(
    store: JetStreamEventStore | None, nc: NatsClient | None, settings: Settings, server: str
) -> None:
    """How far the log has grown, for the next command's check (``core/log_setup.py``)."""
    if store is None or nc is None or not nc.is_connected:
        return
    with contextlib.suppress(EventStoreError):  # the next command checks with what it has
        await check_position(store, LogMarker(settings.data_dir), server=server)


async def _close(
    store: JetStreamEventStore | None, nc: NatsClient | None, keys: SqliteKeyStore | None
) -> None:
    if store is not None:
        await store.close()
    if nc is not None and not nc.is_closed:
        try:
            await nc.drain()
        except (OSError, nats.errors.Error):  # the server is gone: nothing left to flush
            with contextlib.suppress(OSError, nats.errors.Error):
                await nc.close()
    if keys is not None:
        keys.close()


async def publish_mapping(
    store: EventStore, entity: str, ledger: str, actor: str, content: str | None = None
) -> str:
    """The mapping version in force; appends ``MappingVersionPublished`` when it is new.
    ``content``: the file as read already (``syncledger mapping publish`` publishes the
    text it showed); by default the ledger's mapping file, read here."""
    if content is None:
        content = mapping_file(ledger).read_text()
    digest = hashlib.sha256(content.encode()).hexdigest()
    version = f"{ledger}@{digest[:12]}"
    subject = subject_for(entity, "audit", "syncledger", "mapping", f"{ledger}-{digest[:12]}")
    seen = await store.subject_last_seq(subject)
    if seen == 0 or await _superseded(store, entity, ledger, version):
        payload = MappingVersionPublished(
            ledger=ledger, mapping_version=version, sha256=digest, content=content
        )
        await store.append(
            [make_envelope(payload, entity=entity, subject=subject, actor=actor)],
            expect={subject: seen},
        )
    return version


async def _superseded(store: EventStore, entity: str, ledger: str, version: str) -> bool:
    """A version published before, and another one since (it comes back): published
    again, so the last one in the log is always the one in force."""
    last = await last_published(store, entity, ledger)
    return last is not None and last.mapping_version != version


def audit_context(rt: Runtime) -> AuditContext:
    """What the audit module works on: this runtime's log, keystore and data directory."""
    from syncledger.audit.context import AuditContext

    s = rt.settings
    return AuditContext(
        rt.store,
        rt.keys,
        s.data_dir,
        s.entity,
        s.actor,
        kek_file=kek_file(s).path,
        origin=f"syncledger/{s.stream}",
    )
