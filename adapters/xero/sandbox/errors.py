"""Xero Accounting API refusals as the sandbox answers them; what it refuses (status, type,
message, source) is the table in ``refusals.py``. Shapes:

- 400 ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation
  exception occurred", "Elements": [<the element as sent> + "ValidationErrors": [{"Message"}]]}``
  (the OpenAPI ``Error`` / ``Element`` schemas and their examples);
- 400 ``{"ErrorNumber": 14 | 16, "Type": "PostDataInvalidException" | "QueryParseException",
  "Message"}``;
- 401 / 403 / 429 problem objects ``{"Type", "Title", "Status", "Detail", "Instance"}``
  (xero-node #435); a 429 with ``X-Rate-Limit-Problem`` and maybe ``Retry-After``;
- 404 plain text (Xero-OpenAPI #163);
- 500 ``{"ErrorNumber": 500, "Type": "UnknownErrorException", "Message"}`` (xero-node #285),
  injected only.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from syncledger.adapters.sandbox.errors import SandboxError
from syncledger.adapters.sandbox.refusals import Refusal
from syncledger.adapters.xero.sandbox.refusals import REFUSALS

_ERROR_NUMBERS = {
    "ValidationException": 10,
    "PostDataInvalidException": 14,
    "QueryParseException": 16,
}
_TITLES = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


class XeroFault(SandboxError):
    """One refusal: HTTP status, a JSON body (or plain text) and extra headers (a rate
    limit's ``Retry-After`` among them)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, f"HTTP {status}: {body}", headers=headers)
        self.body = body

    def payload(self) -> Any:
        return self.body

    def answer(self) -> Response:
        """A plain-text body (Xero's 404) goes as text; a JSON one as JSON."""
        if isinstance(self.body, str):
            return Response(self.body, self.status, self.headers, media_type="text/plain")
        return super().answer()

    @property
    def internal(self) -> bool:
        """An internal error, which Xero caches under the request's Idempotency-Key."""
        return self.status == 500


class ElementInvalid(Exception):
    """A business rule refused one element of a request (its ``ValidationErrors``)."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def refuse(
    rule: str,
    *,
    element: dict[str, Any] | None = None,
    retry_after: float | None = None,
    **values: object,
) -> XeroFault:
    """The answer to a request refused by ``rule``; ``element`` is the element as sent (a
    ValidationException), ``retry_after`` the seconds to wait (a rate limit)."""
    row = REFUSALS[rule]
    message = row.text(**values)
    if row.status == 404:
        return XeroFault(404, message)
    if row.code == "ValidationException":
        return invalid(message, element=element)
    if row.status == 400:
        number = _ERROR_NUMBERS[row.code]
        return XeroFault(400, {"ErrorNumber": number, "Type": row.code, "Message": message})
    problem = _problem(row.status, _TITLES[row.status], message)
    return XeroFault(row.status, problem, _headers(row, retry_after))


def refuse_element(rule: str, **values: object) -> ElementInvalid:
    """``rule`` refusing one element of a request (one of its ``ValidationErrors``)."""
    return ElementInvalid(REFUSALS[rule].text(**values))


def validation(elements: list[dict[str, Any]]) -> XeroFault:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }
    return XeroFault(400, body)


def invalid(*messages: str, element: dict[str, Any] | None = None) -> XeroFault:
    """A ValidationException about one element (the element as sent, when known)."""
    return validation([with_errors(element or {}, list(messages))])


def with_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    errors = [{"Message": m} for m in messages]
    return {**element, "ValidationErrors": errors, "HasValidationErrors": True}


def _headers(row: Refusal, retry_after: float | None) -> dict[str, str]:
    if row.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if row.status != 429:
        return {}
    headers = {"X-Rate-Limit-Problem": row.code}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return headers


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def server_error(status: int = 500) -> XeroFault:
    body = {
        "ErrorNumber": 500,
        "Type": "UnknownErrorException",
        "Message": "An error occurred in Xero. Check the API Status page "
        "http://status.developer.xero.com for current service status.",
    }
    return XeroFault(status, body)
