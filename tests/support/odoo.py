"""OdooLedger wired to the Odoo sandbox in-process (httpx.ASGITransport: no sockets), over
JSON-2 or XML-RPC."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from adapters.http import RetryPolicy
from adapters.ledgers.odoo import OdooLedger
from adapters.oauth2 import TokenStore
from adapters.ratelimit import Rate
from adapters.sandbox.odoo import DEFAULT_API_KEY, DEFAULT_DATABASE, create_app, sandbox_of
from adapters.sandbox.odoo_service import OdooSandbox

BASE_URL = "http://odoo.sandbox.test"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


@dataclass
class InProcessOdoo:
    app: Starlette
    sandbox: OdooSandbox
    ledger: OdooLedger
    retry: RetryPolicy


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
    **options: Any,
) -> OdooLedger:
    """A ledger on ``app`` whose client-side limits match the sandbox's."""
    return OdooLedger.connect(
        base_url=BASE_URL,
        api_key=SecretStr(api_key),
        database=DEFAULT_DATABASE,
        transport=transport,
        key_store=key_store,
        http_transport=httpx.ASGITransport(app=app),
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
    ledger = connect(
        app,
        transport=transport,
        per_second=per_second,
        per_minute=per_minute,
        retry=retry,
        timeout=timeout,
        **(ledger_options or {}),
    )
    return InProcessOdoo(app, sandbox_of(app), ledger, retry)
