"""FreshBooksLedger wired to the FreshBooks sandbox in-process (httpx.ASGITransport), with
the requests it sends recorded (``InProcessFreshBooks.sent``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.freshbooks.ledger import FreshBooksLedger, FreshBooksOAuthClient
from syncledger.adapters.freshbooks.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_TOKEN,
    create_app,
    sandbox_of,
)
from syncledger.adapters.freshbooks.sandbox.service import FreshBooksSandbox, resource
from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.oauth2 import MemoryTokenStore, OAuth2RefreshAuth, TokenStore
from syncledger.adapters.ratelimit import Rate, RateLimiter

BASE_URL = "http://freshbooks.sandbox.test"
ACCOUNT = "sandbox-account"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The in-process transport, noting each request's method and path; ``before`` (if
    set) runs on each request first, as someone acting in FreshBooks meanwhile."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.sent: list[tuple[str, str]] = []
        self.before: Callable[[httpx.Request], None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        if self.before is not None:
            self.before(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class InProcessFreshBooks:
    app: Starlette
    sandbox: FreshBooksSandbox
    ledger: FreshBooksLedger
    store: TokenStore
    retry: RetryPolicy
    transport: RecordingTransport = field(repr=False)

    def sent(self, method: str, path_end: str) -> int:
        """How many ``method`` requests went to a path ending with ``path_end``."""
        return sum(1 for m, p in self.transport.sent if m == method and p.endswith(path_end))


def seed_item(sandbox: FreshBooksSandbox, name: str, **fields: object) -> str:
    """An item someone made in FreshBooks (straight into the book); its id."""
    made = sandbox.create(resource("items/items"), {"item": {"name": name, **fields}}, ())
    return str(made["item"]["id"])


def freshbooks_auth(
    store: TokenStore, refresh_token: str = DEFAULT_REFRESH_TOKEN
) -> OAuth2RefreshAuth:
    client = FreshBooksOAuthClient(
        token_url=f"{BASE_URL}/auth/oauth/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        redirect_uri=DEFAULT_REDIRECT_URI,
    )
    return OAuth2RefreshAuth(client, store, initial_refresh_token=SecretStr(refresh_token))


def in_process_freshbooks(
    book_path: Path | None = None,
    *,
    per_minute: int = 1000,
    per_second: int | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    store: TokenStore | None = None,
    ledger_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> InProcessFreshBooks:
    """A sandbox with the given limits and a ledger whose client-side limiter matches."""
    app = create_app(
        book_path, account_id=ACCOUNT, per_minute=per_minute, per_second=per_second, **app_options
    )
    rates = [Rate(per_minute, 60.0)] + ([Rate(per_second, 1.0)] if per_second else [])
    store = store or MemoryTokenStore()
    transport = RecordingTransport(app)
    ledger = FreshBooksLedger.connect(
        account_id=ACCOUNT,
        auth=freshbooks_auth(store),
        base_url=BASE_URL,
        transport=transport,
        limiter=RateLimiter(*rates),
        requests_per_minute=per_minute,
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessFreshBooks(app, sandbox_of(app), ledger, store, retry, transport)
