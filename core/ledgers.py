"""Building ledger adapters (and their sandboxes) from settings: part of the composition root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from syncledger.adapters.oauth2_connect import load_connection
from syncledger.adapters.platforms import (
    Connection,
    Platform,
    SandboxHandle,
    platform,
    platform_ids,
)
from syncledger.adapters.ratelimit import watching_pressure
from syncledger.core.connect_credentials import credentials_file, load_credentials
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter, RatePressure
from syncledger.core.redact import mask_url
from syncledger.core.settings import Settings


@dataclass
class LedgerHandle:
    adapter: LedgerAdapter
    sandbox: SandboxHandle | None  # set when the ledger is the in-process sandbox
    description: str
    #: the adapter's client-side limiters (the worker's fill waits while they are pressed)
    pressure: RatePressure | None = None

    async def aclose(self) -> None:
        await self.adapter.aclose()
        if self.sandbox is not None:
            self.sandbox.close()


def sandbox_book(data_dir: Path, ledger: str) -> Path:
    return data_dir / "sandbox" / f"{ledger}.sqlite3"


def credentials(ledger: str, names: tuple[str, ...]) -> dict[str, str]:
    """``SYNCLEDGER_<LEDGER>_<NAME>`` variables (e.g. SYNCLEDGER_XERO_CLIENT_ID)."""
    prefix = "SYNCLEDGER_" + ledger.upper().replace("-", "_") + "_"
    return {n: os.environ[prefix + n.upper()] for n in names if os.environ.get(prefix + n.upper())}


def ledger_credentials(ledger: str, names: tuple[str, ...], token_file: Path) -> dict[str, str]:
    """What opening the ledger uses: a ``SYNCLEDGER_<LEDGER>_<NAME>`` variable that is
    set, else what ``syncledger connect`` stored beside ``token_file`` (token ledgers)."""
    return {**load_credentials(token_file), **credentials(ledger, names)}


def open_ledger(settings: Settings) -> LedgerHandle:
    plat = platform(settings.ledger)
    token_file = settings.ledger_token_file(plat.id)  # per entity with its own table
    creds = ledger_credentials(plat.id, plat.credential_names, token_file)
    if settings.ledger_url is not None:  # a real ledger's limits: never scaled
        # the entity's table names it, or `syncledger connect` chose it, if it ran
        tenant = settings.ledger_tenant or stored_tenant(token_file)
        conn = Connection(settings.ledger_url, token_file, creds, tenant=tenant)
        where = f"{plat.title} at {mask_url(settings.ledger_url)}"
        return _connected(plat, conn, None, where)
    book = sandbox_book(settings.data_dir, plat.id)
    book.parent.mkdir(parents=True, exist_ok=True)
    scale = settings.rate_scale
    app = plat.sandbox_app(book, home_currency=settings.home_currency, rate_scale=scale)
    transport = httpx.ASGITransport(app=app)
    conn = Connection(plat.sandbox_url, token_file, {}, transport, rate_scale=scale)
    where = f"{plat.title} sandbox (books in {book})"
    return _connected(plat, conn, plat.sandbox_handle(app), where)


def _connected(
    plat: Platform, conn: Connection, sandbox: SandboxHandle | None, where: str
) -> LedgerHandle:
    with watching_pressure() as pressure:
        adapter = plat.connect(conn)
    return LedgerHandle(adapter, sandbox, where, pressure)


def stored_tenant(token_file: Path) -> str | None:
    """The tenant / realm ``syncledger connect`` chose for the ledger whose tokens are in
    ``token_file`` (None when it was not connected that way)."""
    if credentials_file(token_file).exists():
        return None  # stored credentials carry it, where a variable can override it
    record = load_connection(token_file)
    return record.tenant if record else None


def serve_sandbox(ledger: str, port: int, data_dir: Path) -> None:
    if not 0 < port < 65536:
        raise ConfigurationError(f"--port {port} is not a TCP port (1-65535)")
    platform(ledger).serve(port, data_dir)


def ledger_ids() -> tuple[str, ...]:
    return platform_ids()
