"""Xero Accounting API refusals as the sandbox answers them.

Shapes, with where each comes from:

- 400 ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation
  exception occurred", "Elements": [<the element as sent> + "ValidationErrors": [{"Message"}]]}``
  (the OpenAPI ``Error`` / ``Element`` schemas and their examples);
- 400 ``{"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message"}``: a body that
  does not bind to the schema (Xero answers quoted in SDK tests and issue threads);
- 400 ``{"ErrorNumber": 16, "Type": "QueryParseException", "Message"}``: a bad ``where``;
- 401 / 403 problem objects ``{"Type", "Title", "Status", "Detail", "Instance"}`` with
  ``TokenExpired`` / ``AuthenticationUnsuccessful`` / ``AuthorizationUnsuccessful``
  (xero-node #435, Databricks' Xero troubleshooting page);
- 404 plain text "The resource you're looking for cannot be found" (Xero-OpenAPI #163);
- 429 with ``X-Rate-Limit-Problem`` and, for the minute and day limits, ``Retry-After``
  (developer.xero.com/faq/limits); the body is the sandbox's own problem object;
- 500 ``{"ErrorNumber": 500, "Type": "UnknownErrorException", "Message"}`` (xero-node #285).

Validation messages quoted from Xero are used where a source gives them (see
``xero_rules``); the others are the sandbox's wording.
"""

from __future__ import annotations

import uuid
from typing import Any

NOT_FOUND_TEXT = "The resource you're looking for cannot be found"


class XeroFault(Exception):
    """One refusal: HTTP status, a JSON body (or plain text) and extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    @property
    def internal(self) -> bool:
        """An internal error, which Xero caches under the request's Idempotency-Key."""
        return self.status == 500


class ElementInvalid(Exception):
    """A business rule refused one element of a request (its ``ValidationErrors``)."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


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


def post_data_invalid(message: str) -> XeroFault:
    return XeroFault(
        400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}
    )


def query_parse(message: str) -> XeroFault:
    return XeroFault(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def not_found() -> XeroFault:
    return XeroFault(404, NOT_FOUND_TEXT)


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def unauthorized(detail: str = "AuthenticationUnsuccessful") -> XeroFault:
    return XeroFault(401, _problem(401, "Unauthorized", detail), {"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "AuthorizationUnsuccessful") -> XeroFault:
    return XeroFault(403, _problem(403, "Forbidden", detail))


def rate_limited(problem: str, retry_after: float | None) -> XeroFault:
    headers = {"X-Rate-Limit-Problem": problem}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    detail = f"The {problem} rate limit was exceeded"
    return XeroFault(429, _problem(429, "Too Many Requests", detail), headers)


def server_error(status: int = 500) -> XeroFault:
    body = {
        "ErrorNumber": 500,
        "Type": "UnknownErrorException",
        "Message": "An error occurred in Xero. Check the API Status page "
        "http://status.developer.xero.com for current service status.",
    }
    return XeroFault(status, body)
