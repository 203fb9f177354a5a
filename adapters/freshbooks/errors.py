"""FreshBooks refusals → ``syncledger.core.errors``.

Accounting endpoints answer ``{"response": {"errors": [{"errno", "field", "message",
"object", "value"}]}}``; newer gateways answer ``{"code", "message", "details": [{"reason",
"metadata": {"message", "field", ...}}]}``, other services ``{"errno", "message"}``, and
the auth layer ``{"error", "error_description"}`` (shapes from FreshBooks' SDK fixtures and
its Node SDK's error handling). The ``value`` of an error is never copied into a message:
it may hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from syncledger.adapters.http import retry_after
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    TransientLedgerError,
)

CLIENT_NOT_FOUND = "1012"


class FreshBooksNotFoundError(PermanentLedgerError):
    """FreshBooks answered 404: the record asked for does not exist."""


@dataclass(frozen=True, slots=True)
class FreshBooksRefusal:
    code: str
    message: str
    field: str = ""

    def text(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"{self.code} {self.message}{where}"


def parse_refusal(body: Any) -> FreshBooksRefusal | None:
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
    refusal = _refusal_of(response)
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


def _refusal_of(response: httpx.Response) -> FreshBooksRefusal:
    try:
        refusal = parse_refusal(decode_json(response.content))
    except ValueError:
        refusal = None
    return refusal or FreshBooksRefusal(str(response.status_code), response.reason_phrase)


def _accounting(body: dict[str, Any]) -> FreshBooksRefusal | None:
    errors = (
        body.get("response", {}).get("errors") if isinstance(body.get("response"), dict) else None
    )
    if isinstance(errors, dict):
        errors = [errors]
    if not errors:
        return None
    first = errors[0]
    return FreshBooksRefusal(
        str(first.get("errno", "")), str(first.get("message", "")), str(first.get("field") or "")
    )


def _gateway(body: dict[str, Any]) -> FreshBooksRefusal | None:
    details = body.get("details")
    if not isinstance(details, list) or not details or not isinstance(details[0], dict):
        return None
    first = details[0]
    meta = first.get("metadata") or {}
    return FreshBooksRefusal(
        str(first.get("reason") or body.get("code", "")),
        str(meta.get("message") or body.get("message", "")),
        str(meta.get("field") or ""),
    )


def _oauth(body: dict[str, Any]) -> FreshBooksRefusal | None:
    if "error" not in body or not isinstance(body["error"], str):
        return None
    return FreshBooksRefusal(body["error"], str(body.get("error_description", "")))


def _plain(body: dict[str, Any]) -> FreshBooksRefusal | None:
    if "errno" not in body and "message" not in body:
        return None
    return FreshBooksRefusal(str(body.get("errno", "")), str(body.get("message", "")))
