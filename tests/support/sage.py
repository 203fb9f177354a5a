"""SageLedger wired to the Sage sandbox in-process (httpx.ASGITransport: no sockets); every
request the ledger sends is kept in ``InProcessSage.sent`` for wire-level assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import MemoryTokenStore, OAuth2Client, OAuth2RefreshAuth, TokenStore
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.adapters.sage.ledger import SageLedger
from syncledger.adapters.sage.sandbox.server import (
    DEFAULT_BUSINESS_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.sage.sandbox.service import SageSandbox

ROOT = "http://sage.sandbox.test"
BASE_URL = f"{ROOT}/v3.1"
BUSINESS = DEFAULT_BUSINESS_ID
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


@dataclass(frozen=True)
class Sent:
    """One request as it left the ledger: the API path (``/v3.1`` cut), query and body."""

    method: str
    path: str
    params: dict[str, str]
    body: Any


class RecordingTransport(httpx.AsyncBaseTransport):
    """The ASGI transport, keeping what each API request carried."""

    def __init__(self, app: Starlette, sent: list[Sent]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/v3.1/"):
            body = decode_json(request.content) if request.content else None
            params = dict(request.url.params)
            self._sent.append(Sent(request.method, path.removeprefix("/v3.1"), params, body))
        return await self._inner.handle_async_request(request)


@dataclass
class InProcessSage:
    app: Starlette
    sandbox: SageSandbox
    ledger: SageLedger
    store: TokenStore
    retry: RetryPolicy
    sent: list[Sent] = field(default_factory=list)

    def requests(self, method: str, path: str) -> list[Sent]:
        """The requests sent with ``method`` to exactly ``path``."""
        return [s for s in self.sent if (s.method, s.path) == (method, path)]


def sage_auth(
    store: TokenStore, refresh_token: str = DEFAULT_REFRESH_TOKEN, root: str = ROOT
) -> OAuth2RefreshAuth:
    client = OAuth2Client(
        token_url=f"{root}/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        credentials_in="body",
    )
    return OAuth2RefreshAuth(client, store, initial_refresh_token=SecretStr(refresh_token))


def in_process_sage(
    book_path: Path | None = None,
    *,
    limit: int = 200,
    window: float = 60.0,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    store: TokenStore | None = None,
    ledger_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> InProcessSage:
    """A sandbox allowing ``limit`` requests per ``window`` seconds and a ledger whose
    client-side limiter matches."""
    app = create_app(book_path, business_id=BUSINESS, limit=limit, window=window, **app_options)
    store = store or MemoryTokenStore()
    sent: list[Sent] = []
    ledger = SageLedger.connect(
        auth=sage_auth(store),
        business_id=BUSINESS,
        base_url=BASE_URL,
        transport=RecordingTransport(app, sent),
        limiter=limiter or RateLimiter(Rate(limit, window)),
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessSage(app, sandbox_of(app), ledger, store, retry, sent)
