"""ZohoLedger wired to the Zoho Books sandbox in-process (httpx.ASGITransport: no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.oauth2 import MemoryTokenStore, OAuth2Client, OAuth2RefreshAuth, TokenStore
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.adapters.zoho.ledger import ZohoLedger, zoho_rates
from syncledger.adapters.zoho.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION_ID,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.zoho.sandbox.service import ZohoSandbox

BASE_URL = "http://zoho-books.sandbox.test"
ORG = DEFAULT_ORGANIZATION_ID
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to the app in-process, keeping every request the ledger sends and
    running ``before`` on each first (to make something happen in between)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        before: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self.inner = inner
        self.before = before
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        """The API requests of ``method`` to ``path`` (under ``/books/v3``), in order."""
        return [r for r in self.requests if r.method == method and r.url.path == f"/books/v3{path}"]


@dataclass
class InProcessZoho:
    app: Starlette
    sandbox: ZohoSandbox
    ledger: ZohoLedger
    store: TokenStore
    retry: RetryPolicy
    transport: RecordingTransport


def zoho_auth(
    store: TokenStore, refresh_token: str = DEFAULT_REFRESH_TOKEN, base_url: str = BASE_URL
) -> OAuth2RefreshAuth:
    client = OAuth2Client(
        token_url=f"{base_url}/oauth/v2/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        credentials_in="body",
    )
    return OAuth2RefreshAuth(
        client, store, initial_refresh_token=SecretStr(refresh_token), scheme="Zoho-oauthtoken"
    )


def in_process_zoho(
    book_path: Path | None = None,
    *,
    per_window: int = 25,
    window: float = 1.0,
    daily_limit: int = 100_000,
    client_daily_limit: int | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    store: TokenStore | None = None,
    refresh_token: str = DEFAULT_REFRESH_TOKEN,
    ledger_options: dict[str, Any] | None = None,
    before_request: Callable[[httpx.Request], None] | None = None,
    **app_options: Any,
) -> InProcessZoho:
    """A sandbox whose request window is ``per_window`` per ``window`` seconds (Zoho:
    100 per 60 s; small and short here so tests wait little) and a ledger whose
    client-side limiter matches it (``client_daily_limit``: a different daily cap on
    our side, as when another app spends the organisation's quota). Every request the
    ledger sends is kept in ``transport`` (``before_request`` runs on each first)."""
    app = create_app(
        book_path,
        per_minute=per_window,
        window_seconds=window,
        daily_limit=daily_limit,
        **app_options,
    )
    store = store or MemoryTokenStore()
    rates = zoho_rates(
        per_minute=per_window, daily_limit=client_daily_limit or daily_limit, window=window
    )
    transport = RecordingTransport(httpx.ASGITransport(app=app), before_request)
    ledger = ZohoLedger.connect(
        organization_id=ORG,
        auth=zoho_auth(store, refresh_token),
        base_url=BASE_URL,
        transport=transport,
        limiter=RateLimiter(*rates),
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessZoho(app, sandbox_of(app), ledger, store, retry, transport)


def another_ledger(zoho: InProcessZoho) -> tuple[ZohoLedger, RecordingTransport]:
    """A second client of the same sandbox (its own caches), recording its requests."""
    transport = RecordingTransport(httpx.ASGITransport(app=zoho.app))
    ledger = ZohoLedger.connect(
        organization_id=ORG,
        auth=zoho_auth(zoho.store),
        base_url=BASE_URL,
        transport=transport,
        retry=zoho.retry,
    )
    return ledger, transport
