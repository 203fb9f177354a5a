"""Building the read-model database engine (SQLite by default, PostgreSQL by URL).

SQLite connections get ``journal_mode=WAL`` (readers never wait for the writer),
``synchronous=FULL`` (a committed batch survives a power cut) and a busy timeout, and
SQLAlchemy emits ``BEGIN`` itself so that DDL (the blue/green table swap) is
transactional too — the stdlib driver would otherwise run it outside any transaction.
A connection whose execution options carry ``sqlite_begin="IMMEDIATE"`` takes the write
lock when its transaction starts, which is what the projection runner does.

A rebuild into fresh tables (``replay``, ``verify``) writes its batches with
``synchronous=NORMAL`` (:func:`unsynced_batches`): a batch lost to a power cut is lost
with the whole rebuild, which starts again from the log, and the swap that makes the
rebuilt tables live commits with ``synchronous=FULL`` — in WAL mode that sync takes
every earlier frame of the log with it. It spares one fsync per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from syncledger.core.errors import ConfigurationError

BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "sqlite_begin"
_BEGIN_MODES = {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://…``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"{url!r} is not a database URL: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/db"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"), echo=echo)
    try:
        return create_engine(url, echo=echo, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigurationError(f"cannot use database URL {parsed!r}: {exc}") from exc


def _sqlite_engine(url: str, *, in_memory: bool, echo: bool) -> Engine:
    kwargs: dict[str, Any] = {}
    if in_memory:  # one shared connection, or every thread would see its own database
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, echo=echo, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")).upper()
    if mode not in _BEGIN_MODES:
        raise ConfigurationError(f"{SQLITE_BEGIN_OPTION}={mode!r}: use one of {_BEGIN_MODES}")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def unsynced_batches(conn: Connection) -> Iterator[None]:
    """On SQLite, commits on ``conn`` inside the block do not wait for the disk (see the
    module docstring for why a rebuild may); on other databases this does nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    if driver is None:  # pragma: no cover - a pooled SQLite connection always has one
        raise ConfigurationError("the SQLite connection has no driver connection")
    driver.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        driver.execute("PRAGMA synchronous=FULL")
