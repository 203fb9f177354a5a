"""NetSuite REST refusals → ``syncledger.core.errors``.

NetSuite answers errors as ``{"type", "title", "status", "o:errorDetails": [{"detail",
"o:errorCode", "o:errorPath"?}]}`` (Oracle help, "Error Handling in REST Web Services").
Codes met here: ``INVALID_LOGIN`` (401), ``NONEXISTENT_ID`` (404), ``INVALID_CONTENT`` /
``USER_ERROR`` / ``INVALID_PARAMETER`` (400), ``CONCURRENCY_LIMIT_EXCEEDED`` (429: more
requests in flight than the account allows; NetSuite sends no ``Retry-After``),
``USER_ERROR`` with 429 (a frequency limit over a 60-second window, third-party source),
``UNEXPECTED_ERROR`` (5xx), ``IDEMPOTENCY_ERROR`` (a reused async idempotency key),
``DUP_ITEM`` (400: an item name taken; the SOAP code, the REST one is unverified).
"""

from __future__ import annotations

from typing import Any

import httpx

from syncledger.adapters.http import retry_after
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.kit.wire_errors import Refusal
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)

NOT_FOUND = "NONEXISTENT_ID"
INVALID_LOGIN = "INVALID_LOGIN"
CONCURRENCY_LIMIT = "CONCURRENCY_LIMIT_EXCEEDED"
FREQUENCY_WAIT = 60.0  # frequency limits count over 60-second windows
_STALE_CODES = frozenset({"RCRD_HAS_BEEN_CHANGED"})


def parse_error(body: Any, status: int) -> Refusal:
    """The first ``o:errorDetails`` entry of an error body (a stand-in when there is none)."""
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    if not details or not isinstance(details[0], dict):
        title = body.get("title") if isinstance(body, dict) else None
        return Refusal(str(status), str(title or f"HTTP {status}"))
    first = details[0]
    path = first.get("o:errorPath")
    return Refusal(
        code=str(first.get("o:errorCode") or status),
        message=str(first.get("detail") or ""),
        where=f"at {path}" if path else "",
    )


def translate_netsuite(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one NetSuite refusal → a typed error."""
    try:
        body = decode_json(response.content)
    except ValueError:
        body = None
    error = parse_error(body, response.status_code)
    where = f"NetSuite {response.request.method} {response.request.url.path}"
    return error_for(error, response.status_code, where, retry_after(response))


def error_for(error: Refusal, status: int, where: str, wait: float | None = None) -> LedgerError:
    if status == 429:
        return _throttled(error, where, wait)
    if status == 401:
        return AuthExpiredError(
            f"{where}: NetSuite refused the login ({error.text()}): check the TBA token, "
            "its role and the Login Audit Trail; it may have been revoked",
            code=error.code,
        )
    if error.code in _STALE_CODES:
        return StaleVersionError(f"{where}: the record changed meanwhile ({error.text()})")
    if status >= 500:
        return TransientLedgerError(
            f"{where}: server error {status} ({error.text()})", code=error.code, retry_after=wait
        )
    return PermanentLedgerError(f"{where}: refused: {error.text()}", code=error.code)


def _throttled(error: Refusal, where: str, wait: float | None) -> TransientLedgerError:
    if error.code == CONCURRENCY_LIMIT:
        message = "more concurrent requests than the account allows"
    else:
        message = "request frequency limit reached"
        wait = FREQUENCY_WAIT if wait is None else wait
    return TransientLedgerError(
        f"{where}: throttled, {message} ({error.text()})", code=error.code, retry_after=wait
    )
