"""FreshBooks refusals → ``syncledger.core.errors``.

Accounting endpoints answer ``{"response": {"errors": [{"errno", "field", "message",
"object", "value"}]}}``; newer gateways answer ``{"code", "message", "details": [{"reason",
"metadata": {"message", "field", ...}}]}``, other services ``{"errno", "message"}``, and
the auth layer ``{"error", "error_description"}`` (shapes from FreshBooks' SDK fixtures and
its Node SDK's error handling). The ``value`` of an error is never copied into a message:
it may hold personal data.
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

CLIENT_NOT_FOUND = "1012"


class FreshBooksNotFoundError(PermanentLedgerError):
    """FreshBooks answered 404: the record asked for does not exist."""


def parse_refusal(body: Any) -> Refusal | None:
    """The first error of any FreshBooks error shape, or None."""
    if not isinstance(body, dict):
        return None
    for parse in (_accounting, _gateway, _oauth, _plain):
        refusal = parse(body)
        if refusal is not None:
            return refusal
    return None


def translate_freshbooks(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one FreshBooks HTTP refusal → a typed error."""
    refusal = refusal_in(response, parse_refusal)
    status = response.status_code
    where = f"FreshBooks {response.request.method} {response.request.url.path}"
    if status == 429:
        return TransientLedgerError(
            f"{where}: rate limit exceeded ({refusal.text()})",
            code=refusal.code,
            retry_after=retry_after(response),
        )
    if status == 401:
        return AuthExpiredError(f"{where}: {refusal.text()}", code=refusal.code or "401")
    if status >= 500:
        return TransientLedgerError(
            f"{where}: server error {status} ({refusal.text()})",
            code=refusal.code,
            retry_after=retry_after(response),
        )
    kind = FreshBooksNotFoundError if status == 404 else PermanentLedgerError
    return kind(f"{where}: refused: {refusal.text()}", code=refusal.code)


def _accounting(body: dict[str, Any]) -> Refusal | None:
    errors = (
        body.get("response", {}).get("errors") if isinstance(body.get("response"), dict) else None
    )
    if isinstance(errors, dict):
        errors = [errors]
    if not errors:
        return None
    first = errors[0]
    return Refusal(
        str(first.get("errno", "")), str(first.get("message", "")), str(first.get("field") or "")
    )


def _gateway(body: dict[str, Any]) -> Refusal | None:
    details = body.get("details")
    if not isinstance(details, list) or not details or not isinstance(details[0], dict):
        return None
    first = details[0]
    meta = first.get("metadata") or {}
    return Refusal(
        str(first.get("reason") or body.get("code", "")),
        str(meta.get("message") or body.get("message", "")),
        str(meta.get("field") or ""),
    )


def _oauth(body: dict[str, Any]) -> Refusal | None:
    if "error" not in body or not isinstance(body["error"], str):
        return None
    return Refusal(body["error"], str(body.get("error_description", "")))


def _plain(body: dict[str, Any]) -> Refusal | None:
    if "errno" not in body and "message" not in body:
        return None
    return Refusal(str(body.get("errno", "")), str(body.get("message", "")))
