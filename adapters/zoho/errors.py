"""Zoho Books refusals → ``syncledger.core.errors``.

Zoho answers ``{"code": <non-zero>, "message": "..."}`` with HTTP 400/401/404/429/500
(zoho.com/books/api/v3/errors), and now and then a non-zero code with HTTP 200, which is
a refusal all the same. Codes this module acts on (see ``adapters/sandbox/zoho_errors``
for their sources): 44 per-minute limit, 45 daily limit, 1070 concurrency limit, 57
unauthorised, 1000 internal error, 1002 not found.
"""

from __future__ import annotations

from typing import Any

import httpx

from syncledger.adapters.http import retry_after
from syncledger.adapters.kit.wire_errors import Refusal, refusal_in
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    TransientLedgerError,
)

MINUTE_LIMIT = "44"
DAILY_LIMIT = "45"
CONCURRENCY_LIMIT = "1070"
UNAUTHORIZED = "57"
INTERNAL = "1000"
NOT_FOUND = "1002"
ALREADY_EXISTS = "1001"
DUPLICATE_CONTACT = "3062"
#: Zoho sends no Retry-After: wait out the minute window, re-try the day's cap hourly
WAIT_FOR = {MINUTE_LIMIT: 60.0, DAILY_LIMIT: 3600.0, CONCURRENCY_LIMIT: 1.0}
_THROTTLES = frozenset(WAIT_FOR)


def parse_refusal(body: Any) -> Refusal | None:
    """The refusal in a decoded Zoho answer, or None when ``code`` is 0 / absent."""
    if not isinstance(body, dict) or body.get("code") in (None, 0, "0"):
        return None
    return Refusal(str(body["code"]), str(body.get("message", "")))


def translate_zoho(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one Zoho HTTP refusal → a typed error."""
    refusal = refusal_in(response, parse_refusal)
    where = f"Zoho Books {response.request.method} {response.request.url.path}"
    return refusal_error(refusal, response.status_code, where, retry_after(response))


def refusal_error(
    refusal: Refusal, status: int, where: str = "Zoho Books", wait: float | None = None
) -> LedgerError:
    if status == 429 or refusal.code in _THROTTLES:
        seconds = wait if wait is not None else WAIT_FOR.get(refusal.code, 60.0)
        return TransientLedgerError(
            f"{where}: throttled ({refusal.text()}); waiting {seconds:g}s",
            code=refusal.code,
            retry_after=seconds,
        )
    if status == 401 or refusal.code == UNAUTHORIZED:
        return AuthExpiredError(
            f"{where}: {refusal.text()}: the access token was refused; re-authorise the "
            "Zoho Books connection if refreshing does not help",
            code=refusal.code,
        )
    if status >= 500 or refusal.code == INTERNAL:
        return TransientLedgerError(
            f"{where}: server error {status} ({refusal.text()})",
            code=refusal.code,
            retry_after=wait,
        )
    return PermanentLedgerError(f"{where}: refused: {refusal.text()}", code=refusal.code)


def checked(answer: Any, where: str) -> dict[str, Any]:
    """A successful answer as a dict; a non-zero ``code`` on HTTP 200 raises."""
    refusal = parse_refusal(answer)
    if refusal is not None:
        raise refusal_error(refusal, 200, where)
    if not isinstance(answer, dict):
        raise PermanentLedgerError(f"{where}: the answer is not a JSON object", code="bad_answer")
    return answer
