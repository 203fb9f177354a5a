"""QboLedger wired to the QBO sandbox in-process (httpx.ASGITransport: no sockets)."""

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
from syncledger.adapters.qbo.ledger import QboLedger
from syncledger.adapters.qbo.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.qbo.sandbox.service import QboSandbox
from syncledger.adapters.ratelimit import Rate, RateLimiter

BASE_URL = "http://qbo.sandbox.test"
REALM = "sandbox-realm"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The app's ASGI transport, keeping every request the adapter sends (``requests``)
    and calling ``before(request)`` first when set (a test's other user of the company)."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.requests: list[httpx.Request] = []
        self.before: Callable[[httpx.Request], None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return await self._inner.handle_async_request(request)

    def queries(self, entity: str) -> list[str]:
        """The query statements sent about ``entity`` (``FROM <entity>``)."""
        statements = (r.url.params.get("query", "") for r in self.requests)
        return [q for q in statements if f"FROM {entity} " in q or q.endswith(f"FROM {entity}")]

    def posts(self, resource: str) -> list[httpx.Request]:
        """The POSTs to ``/v3/company/<realm>/<resource>``."""
        return [
            r for r in self.requests if r.method == "POST" and r.url.path.endswith(f"/{resource}")
        ]


@dataclass
class InProcessQbo:
    app: Starlette
    sandbox: QboSandbox
    ledger: QboLedger
    store: TokenStore
    retry: RetryPolicy
    transport: RecordingTransport


def qbo_auth(
    store: TokenStore,
    refresh_token: str = DEFAULT_REFRESH_TOKEN,
    base_url: str = BASE_URL,
) -> OAuth2RefreshAuth:
    client = OAuth2Client(
        token_url=f"{base_url}/oauth2/v1/tokens/bearer",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
    )
    return OAuth2RefreshAuth(client, store, initial_refresh_token=SecretStr(refresh_token))


def in_process_qbo(
    book_path: Path | None = None,
    *,
    per_second: int = 10,
    per_minute: int = 500,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    store: TokenStore | None = None,
    ledger_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> InProcessQbo:
    """A sandbox with the given limits and a ledger whose client-side limiter matches."""
    app = create_app(
        book_path, realm_id=REALM, per_second=per_second, per_minute=per_minute, **app_options
    )
    store = store or MemoryTokenStore()
    transport = RecordingTransport(app)
    ledger = QboLedger.connect(
        realm_id=REALM,
        auth=qbo_auth(store),
        base_url=BASE_URL,
        transport=transport,
        limiter=limiter or RateLimiter(Rate(per_second, 1.0), Rate(per_minute, 60.0)),
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessQbo(app, sandbox_of(app), ledger, store, retry, transport)
