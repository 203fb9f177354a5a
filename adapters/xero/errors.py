"""Xero Accounting API refusals → ``syncledger.core.errors``.

Xero answers (the OpenAPI ``Error`` schema, and the shapes quoted in ``adapters/sandbox/
xero_errors.py``): 400 ``{"ErrorNumber", "Type", "Message", "Elements": [{...,
"ValidationErrors": [{"Message"}]}]}``; 401 / 403 problem objects whose ``Detail`` names the
reason (``TokenExpired``, ``AuthenticationUnsuccessful``, ``AuthorizationUnsuccessful``);
404 as plain text; 429 with ``X-Rate-Limit-Problem`` (``minute``, ``day``, ``appminute``,
``concurrent``) and ``Retry-After``; 5xx, which Xero caches under the request's
``Idempotency-Key`` ("the error will be cached and returned when the request is re-run"),
so a retry of a write needs a new key (``XeroServerError``). With ``summarizeErrors``
false a 200 can carry elements that failed (``StatusAttributeString`` ERROR).

Codes carried: the ``ErrorNumber`` (``"10"`` validation, ``"14"`` unreadable body, ``"16"``
bad query), ``"404"``, ``"429:<limit>"``, the 401 / 403 reason, or the HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
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

VALIDATION_CODE = "10"
NOT_FOUND_CODE = "404"
DUPLICATE_MARKERS = ("is already assigned to another contact", "must be unique")
#: "Price List Item with Code 'X' already exists" (Xero-OpenAPI createItems example,
#: calcinai/xero-php#528)
ITEM_DUPLICATE_MARKERS = ("Price List Item with Code", "already exists")
_MESSAGE_LIMIT = 600


class XeroServerError(TransientLedgerError):
    """A 5xx from Xero. Xero caches it under the request's Idempotency-Key, so resending
    the same write needs a new key (after checking that the first one did not land)."""


@dataclass(frozen=True, slots=True)
class XeroRefusal:
    code: str
    kind: str
    messages: tuple[str, ...]

    def text(self) -> str:
        detail = "; ".join(self.messages)
        return (f"{self.kind}: {detail}" if detail else self.kind)[:_MESSAGE_LIMIT]


def translate_xero(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one Xero HTTP refusal → a typed error."""
    status = response.status_code
    where = f"Xero {response.request.method} {response.request.url.path}"
    if status == 429:
        return _throttled(response, where)
    refusal = parse_refusal(response)
    if status in (401, 403):
        return AuthExpiredError(
            f"{where}: {refusal.text()}: refresh the token, or re-authorise the connection "
            "to this organisation",
            code=refusal.code,
        )
    if status >= 500:
        return XeroServerError(
            f"{where}: server error {status} ({refusal.text()})",
            code=refusal.code,
            retry_after=retry_after(response),
        )
    return PermanentLedgerError(f"{where}: refused: {refusal.text()}", code=refusal.code)


def _throttled(response: httpx.Response, where: str) -> TransientLedgerError:
    problem = response.headers.get("X-Rate-Limit-Problem", "unknown")
    wait = retry_after(response)
    return TransientLedgerError(
        f"{where}: throttled (the {problem} limit); "
        + (f"Xero asks to wait {wait:g}s" if wait is not None else "retry shortly"),
        code=f"429:{problem}",
        retry_after=wait,
    )


def parse_refusal(response: httpx.Response) -> XeroRefusal:
    try:
        body = decode_json(response.content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        return _refusal_of(body, response.status_code)
    text = response.text.strip()[:200]
    return XeroRefusal(str(response.status_code), text or response.reason_phrase, ())


def _refusal_of(body: Mapping[str, Any], status: int) -> XeroRefusal:
    if "ErrorNumber" in body or "Elements" in body:
        messages = tuple(_element_messages(body.get("Elements")))
        kind = str(body.get("Type") or "ValidationException")
        code = str(body.get("ErrorNumber", VALIDATION_CODE))
        return XeroRefusal(code, kind, messages or (str(body.get("Message", "")),))
    detail = str(body.get("Detail") or body.get("Title") or "")
    reason = detail.split(":", 1)[0].strip()
    code = reason if status in (401, 403) and reason else str(status)
    return XeroRefusal(code, str(body.get("Title") or status), (detail,) if detail else ())


def _element_messages(elements: Any) -> list[str]:
    messages: list[str] = []
    for element in elements if isinstance(elements, list) else []:
        for error in (element or {}).get("ValidationErrors") or []:
            messages.append(str((error or {}).get("Message", "")))
    return messages


def element_error(element: Mapping[str, Any], where: str) -> PermanentLedgerError | None:
    """The refusal carried by one element of a 200 answer, if it failed."""
    messages = _element_messages([element])
    failed = element.get("StatusAttributeString") == "ERROR" or bool(messages)
    if not failed:
        return None
    refusal = XeroRefusal(VALIDATION_CODE, "ValidationException", tuple(messages))
    return PermanentLedgerError(f"{where}: refused: {refusal.text()}", code=VALIDATION_CODE)


def is_duplicate(error: PermanentLedgerError) -> bool:
    """Xero refused a second record with the same contact name / number or invoice #."""
    text = str(error)
    return error.code == VALIDATION_CODE and any(m in text for m in DUPLICATE_MARKERS)


def is_duplicate_item(error: PermanentLedgerError) -> bool:
    """Xero refused an item because another one has its ``Code``."""
    text = str(error)
    return error.code == VALIDATION_CODE and all(m in text for m in ITEM_DUPLICATE_MARKERS)
