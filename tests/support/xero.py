"""XeroLedger wired to the Xero sandbox in-process (httpx.ASGITransport: no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import MemoryTokenStore, OAuth2Client, OAuth2RefreshAuth, TokenStore
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.adapters.xero.ledger import API, XeroLedger
from syncledger.adapters.xero.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TENANT_ID,
    create_app,
    sandbox_of,
)
from syncledger.adapters.xero.sandbox.service import XeroSandbox

BASE_URL = "http://xero.sandbox.test"
TENANT = DEFAULT_TENANT_ID
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


class Wire(httpx.AsyncBaseTransport):
    """The transport to the app in-process, keeping every request the adapter sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.sent: list[httpx.Request] = []
        #: called with each request before the app sees it (e.g. to let "someone else"
        #: change the book in between two calls of the adapter)
        self.before: Callable[[httpx.Request], None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if self.before is not None:
            self.before(request)
        return await self._inner.handle_async_request(request)

    def requests(self, method: str, path: str) -> list[httpx.Request]:
        """What was sent as ``method`` to ``path`` (after ``/api.xro/2.0``)."""
        full = f"{API}{path}"
        return [r for r in self.sent if r.method == method and r.url.path == full]

    def bodies(self, method: str, path: str) -> list[Any]:
        return [decode_json(r.content) for r in self.requests(method, path)]


@dataclass
class InProcessXero:
    app: Starlette
    sandbox: XeroSandbox
    ledger: XeroLedger
    store: TokenStore
    retry: RetryPolicy
    wire: Wire


def xero_auth(
    store: TokenStore,
    refresh_token: str = DEFAULT_REFRESH_TOKEN,
    base_url: str = BASE_URL,
) -> OAuth2RefreshAuth:
    client = OAuth2Client(
        token_url=f"{base_url}/connect/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
    )
    return OAuth2RefreshAuth(client, store, initial_refresh_token=SecretStr(refresh_token))


def in_process_xero(
    book_path: Path | None = None,
    *,
    per_window: int = 25,
    window: float = 1.0,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    store: TokenStore | None = None,
    ledger_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> InProcessXero:
    """A sandbox whose "minute" is ``per_window`` calls per ``window`` seconds, and a
    ledger whose client-side limiter matches it."""
    app = create_app(book_path, per_minute=per_window, minute_window=window, **app_options)
    store = store or MemoryTokenStore()
    wire = Wire(httpx.ASGITransport(app=app))
    ledger = XeroLedger.connect(
        tenant_id=TENANT,
        auth=xero_auth(store),
        base_url=BASE_URL,
        transport=wire,
        limiter=limiter or RateLimiter(Rate(per_window, window), Rate(5000, 86400.0)),
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessXero(app, sandbox_of(app), ledger, store, retry, wire)
