"""Sage Accounting refusals → ``syncledger.core.errors``.

Sage answers ``[{"$severity", "$dataCode", "$message", "$source"}]`` (developer.sage.com,
"Frequently Raised Errors"); a request without credentials gets ``{"error": "..."}``; the
older v3 API wrapped the list in ``{"$diagnoses": [...]}``. The first error-severity
diagnosis decides; its ``$dataCode`` becomes the error's ``code``.
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

NOT_FOUND_CODE = "RecordNotFound"
INVALID_CODE = "RecordInvalid"
THROTTLE_CODE = "TooManyRequests"
#: Sage documents no Retry-After; one window of its 200-per-60-s limit is the safe wait
THROTTLE_WAIT = 60.0


def parse_diagnoses(body: Any) -> list[Refusal]:
    """Every diagnosis of an error body, in order (empty when the body has none)."""
    if isinstance(body, dict) and "$diagnoses" in body:
        body = body["$diagnoses"]
    if isinstance(body, dict) and "error" in body:
        return [Refusal("", str(body["error"]))]
    if not isinstance(body, list):
        return []
    return [_diagnosis(item) for item in body if isinstance(item, dict)]


def _diagnosis(item: dict[str, Any]) -> Refusal:
    return Refusal(
        code=str(item.get("$dataCode") or ""),
        message=str(item.get("$message") or ""),
        where=str(item.get("$source") or ""),
    )


def translate_sage(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one Sage HTTP refusal → a typed error."""
    first = refusal_in(response, _first, code="")
    status = response.status_code
    where = f"Sage Accounting {response.request.method} {response.request.url.path}"
    wait = retry_after(response)
    code = first.code or str(status)
    if status == 429:
        return TransientLedgerError(
            f"{where}: throttled ({first.text()}); the limit is 200 calls per 60 s and "
            "100 MB per hour per business",
            code=first.code or THROTTLE_CODE,
            retry_after=wait if wait is not None else THROTTLE_WAIT,
        )
    if status == 401:
        return AuthExpiredError(f"{where}: credentials refused ({first.text()})", code=code)
    if status >= 500:
        return TransientLedgerError(f"{where}: server error {status} ({first.text()})", code=code)
    return PermanentLedgerError(f"{where}: refused: {first.text()}", code=code)


def is_taken_reference(error: LedgerError) -> bool:
    """A contact create refused because its unique ``reference`` is already in use."""
    return error.code == INVALID_CODE and "(reference)" in str(error)


def _first(body: Any) -> Refusal | None:
    return next(iter(parse_diagnoses(body)), None)
