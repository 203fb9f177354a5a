"""NetSuiteLedger wired to the NetSuite sandbox in-process (httpx.ASGITransport: no sockets),
every request it sends noted on the way (``Wire``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.netsuite.auth import TbaAuth, TbaCredentials
from syncledger.adapters.netsuite.ledger import NetSuiteLedger
from syncledger.adapters.netsuite.mapping import NetSuiteMapping
from syncledger.adapters.netsuite.sandbox.server import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_TOKEN_ID,
    DEFAULT_TOKEN_SECRET,
    create_app,
    sandbox_of,
)
from syncledger.adapters.netsuite.sandbox.service import NetSuiteSandbox
from syncledger.adapters.ratelimit import Rate, RateLimiter

BASE_URL = "http://netsuite.sandbox.test"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


def credentials(**changes: str) -> TbaCredentials:
    fields: dict[str, Any] = {
        "account_id": DEFAULT_ACCOUNT_ID,
        "consumer_key": DEFAULT_CONSUMER_KEY,
        "consumer_secret": SecretStr(DEFAULT_CONSUMER_SECRET),
        "token_id": DEFAULT_TOKEN_ID,
        "token_secret": SecretStr(DEFAULT_TOKEN_SECRET),
    }
    fields |= {k: SecretStr(v) if k.endswith("secret") else v for k, v in changes.items()}
    return TbaCredentials(**fields)


@dataclass(frozen=True)
class Sent:
    """One request the ledger sent: method, path and JSON body (None when it has none),
    and the body's bytes as they went out."""

    method: str
    path: str
    body: Any
    raw: bytes = b""


@dataclass
class Wire(httpx.AsyncBaseTransport):
    """A transport that notes every request before handing it on; ``before`` (when set)
    sees each request first, to change the account between a client's steps; ``rewrite``
    (when set) changes a JSON body on its way to the account, as an account that does not
    take a field would (what the account receives, not what the ledger sent)."""

    inner: httpx.AsyncBaseTransport
    sent: list[Sent] = field(default_factory=list)
    before: Callable[[Sent], None] | None = None
    rewrite: Callable[[Sent], Any] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.content
        body = decode_json(raw) if raw else None
        sent = Sent(request.method, request.url.path, body, raw)
        self.sent.append(sent)
        if self.before is not None:
            self.before(sent)
        if self.rewrite is not None and body is not None:
            request = _with_body(request, self.rewrite(sent))
        return await self.inner.handle_async_request(request)

    def suiteql(self, containing: str = "") -> list[str]:
        """The SuiteQL statements sent (those containing ``containing``)."""
        return [
            s.body["q"]
            for s in self.sent
            if s.path.endswith("/suiteql") and containing in s.body["q"]
        ]

    def bodies(self, method: str, path_part: str) -> list[Any]:
        return [s.body for s in self.sent if s.method == method and path_part in s.path]


def _with_body(request: httpx.Request, body: Any) -> httpx.Request:
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(request.method, request.url, headers=headers, content=encode_json(body))


@dataclass
class InProcessNetSuite:
    app: Starlette
    sandbox: NetSuiteSandbox
    ledger: NetSuiteLedger
    retry: RetryPolicy
    wire: Wire

    async def aclose(self) -> None:
        await self.ledger.aclose()
        self.sandbox.close()


def in_process_netsuite(
    book_path: Path | None = None,
    *,
    concurrency: int = 3,
    per_minute: int = 120,
    latency: float = 0.005,
    client_concurrency: int | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    auth: TbaAuth | None = None,
    mapping: NetSuiteMapping | None = None,
    page_size: int = 1000,
    **app_options: Any,
) -> InProcessNetSuite:
    """A sandbox with the given limits and a ledger whose client-side limits match."""
    app = create_app(
        book_path, concurrency=concurrency, per_minute=per_minute, latency=latency, **app_options
    )
    wire = Wire(httpx.ASGITransport(app=app))
    ledger = NetSuiteLedger.connect(
        auth=auth or TbaAuth(credentials()),
        base_url=BASE_URL,
        transport=wire,
        limiter=limiter or RateLimiter(Rate(per_minute, 60.0)),
        concurrency=asyncio.Semaphore(client_concurrency or concurrency),
        retry=retry,
        timeout=timeout,
        mapping=mapping,
        page_size=page_size,
    )
    return InProcessNetSuite(app, sandbox_of(app), ledger, retry, wire)
