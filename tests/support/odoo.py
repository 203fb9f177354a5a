"""OdooLedger wired to the Odoo sandbox in-process (httpx.ASGITransport: no sockets), over
JSON-2 or XML-RPC; ``Wire`` keeps what the adapter sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import TokenStore
from syncledger.adapters.odoo.ledger import OdooLedger
from syncledger.adapters.odoo.sandbox.server import (
    DEFAULT_API_KEY,
    DEFAULT_DATABASE,
    create_app,
    sandbox_of,
)
from syncledger.adapters.odoo.sandbox.service import OdooSandbox
from syncledger.adapters.odoo.wire import decode
from syncledger.adapters.ratelimit import Rate

BASE_URL = "http://odoo.sandbox.test"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


class Wire(httpx.AsyncBaseTransport):
    """The app over ``httpx.ASGITransport``, keeping every request's path and body."""

    def __init__(self, app: Starlette) -> None:
        self._app = httpx.ASGITransport(app=app)
        self.sent: list[tuple[str, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, await request.aread()))
        return await self._app.handle_async_request(request)

    async def aclose(self) -> None:
        await self._app.aclose()

    def calls(self, model: str, method: str) -> list[dict[str, Any]]:
        """The named arguments of each ``model.method`` call sent, on either transport
        (XML-RPC's positional ones under ``args``)."""
        found: list[dict[str, Any]] = []
        for path, body in self.sent:
            if path == f"/json/2/{model}/{method}":
                found.append(dict(decode_json(body)))
            elif path == "/xmlrpc/2/object":
                params = decode(body)[0]
                if tuple(params[3:5]) == (model, method):
                    found.append({"args": params[5], **(params[6] if len(params) > 6 else {})})
        return found


@dataclass
class InProcessOdoo:
    app: Starlette
    sandbox: OdooSandbox
    ledger: OdooLedger
    retry: RetryPolicy
    wire: Wire


def connect(
    app: Starlette,
    *,
    transport: str = "json2",
    api_key: str = DEFAULT_API_KEY,
    per_second: int = 25,
    per_minute: int = 2000,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    key_store: TokenStore | None = None,
    wire: Wire | None = None,
    **options: Any,
) -> OdooLedger:
    """A ledger on ``app`` whose client-side limits match the sandbox's (over ``wire``
    when given)."""
    return OdooLedger.connect(
        base_url=BASE_URL,
        api_key=SecretStr(api_key),
        database=DEFAULT_DATABASE,
        transport=transport,
        key_store=key_store,
        http_transport=wire or httpx.ASGITransport(app=app),
        rates=(Rate(per_second, 1.0), Rate(per_minute, 60.0)),
        retry=retry,
        timeout=timeout,
        **options,
    )


def in_process_odoo(
    book_path: Path | None = None,
    *,
    transport: str = "json2",
    per_second: int = 25,
    per_minute: int = 2000,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 2.0,
    ledger_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> InProcessOdoo:
    app = create_app(book_path, per_second=per_second, per_minute=per_minute, **app_options)
    wire = Wire(app)
    ledger = connect(
        app,
        transport=transport,
        per_second=per_second,
        per_minute=per_minute,
        retry=retry,
        timeout=timeout,
        wire=wire,
        **(ledger_options or {}),
    )
    return InProcessOdoo(app, sandbox_of(app), ledger, retry, wire)
