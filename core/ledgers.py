"""Building ledger adapters (and their sandboxes) from settings: part of the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from adapters.ledgers.qbo import PRODUCTION_URL, TOKEN_URL, QboLedger
from adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth
from adapters.ports import LedgerAdapter
from adapters.sandbox import qbo as qbo_sandbox
from adapters.sandbox.qbo_service import QboSandbox
from core.errors import ConfigurationError
from core.settings import Settings

LEDGERS = ("qbo",)
IN_PROCESS_URL = "http://qbo.sandbox.local"


@dataclass
class LedgerHandle:
    adapter: LedgerAdapter
    sandbox: QboSandbox | None  # set when the ledger is the in-process sandbox
    description: str

    async def aclose(self) -> None:
        await self.adapter.aclose()
        if self.sandbox is not None:
            self.sandbox.close()


def _unknown(ledger: str) -> ConfigurationError:
    return ConfigurationError(f"unknown ledger {ledger!r}: choose one of {', '.join(LEDGERS)}")


def sandbox_book(data_dir: Path, ledger: str) -> Path:
    return data_dir / "sandbox" / f"{ledger}.sqlite3"


def open_ledger(settings: Settings) -> LedgerHandle:
    if settings.ledger != "qbo":
        raise _unknown(settings.ledger)
    tokens = FileTokenStore(settings.data_dir / "tokens" / "qbo.json")
    if settings.ledger_url is None:
        return _in_process_qbo(settings, tokens)
    base = settings.ledger_url.rstrip("/")
    production = base == PRODUCTION_URL
    client = OAuth2Client(
        token_url=TOKEN_URL if production else f"{base}/oauth2/v1/tokens/bearer",
        client_id=settings.qbo_client_id
        or _sandbox_only(production, "qbo_client_id", qbo_sandbox.DEFAULT_CLIENT_ID),
        client_secret=settings.qbo_client_secret
        or SecretStr(
            _sandbox_only(production, "qbo_client_secret", qbo_sandbox.DEFAULT_CLIENT_SECRET)
        ),
    )
    refresh = settings.qbo_refresh_token or SecretStr(
        _sandbox_only(production, "qbo_refresh_token", qbo_sandbox.DEFAULT_REFRESH_TOKEN)
    )
    auth = OAuth2RefreshAuth(client, tokens, initial_refresh_token=refresh)
    ledger = QboLedger.connect(realm_id=settings.qbo_realm_id, auth=auth, base_url=base)
    return LedgerHandle(ledger, None, f"QuickBooks Online at {base}")


def _sandbox_only(production: bool, name: str, default: str) -> str:
    if production:
        raise ConfigurationError(f"set SYNCLEDGER_{name.upper()} to talk to QuickBooks Online")
    return default


def _in_process_qbo(settings: Settings, tokens: FileTokenStore) -> LedgerHandle:
    book = sandbox_book(settings.data_dir, "qbo")
    book.parent.mkdir(parents=True, exist_ok=True)
    app = qbo_sandbox.create_app(
        book, realm_id=settings.qbo_realm_id, home_currency=settings.home_currency
    )
    client = OAuth2Client(
        token_url=f"{IN_PROCESS_URL}/oauth2/v1/tokens/bearer",
        client_id=qbo_sandbox.DEFAULT_CLIENT_ID,
        client_secret=SecretStr(qbo_sandbox.DEFAULT_CLIENT_SECRET),
    )
    auth = OAuth2RefreshAuth(
        client, tokens, initial_refresh_token=SecretStr(qbo_sandbox.DEFAULT_REFRESH_TOKEN)
    )
    ledger = QboLedger.connect(
        realm_id=settings.qbo_realm_id,
        auth=auth,
        base_url=IN_PROCESS_URL,
        transport=httpx.ASGITransport(app=app),
    )
    return LedgerHandle(ledger, qbo_sandbox.sandbox_of(app), f"QBO sandbox (books in {book})")


def serve_sandbox(platform: str, port: int, data_dir: Path) -> None:
    if platform != "qbo":
        raise _unknown(platform)
    if not 0 < port < 65536:
        raise ConfigurationError(f"--port {port} is not a TCP port (1-65535)")
    qbo_sandbox.serve(port, data_dir)
