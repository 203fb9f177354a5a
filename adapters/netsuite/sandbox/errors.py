"""NetSuite REST refusals as the sandbox answers them.

Shape (Oracle help, "Error Handling in REST Web Services"): ``{"type": <RFC 2616 section
URL>, "title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"?}]}``.
The 429 answer keeps NetSuite's odd ``"title": "Bad Request"`` and sends no
``Retry-After`` (third-party captures of live answers); injected 429s add one.
"""

from __future__ import annotations

from typing import Any

_RFC = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_SECTIONS = {400: "10.4.1", 401: "10.4.2", 403: "10.4.4", 404: "10.4.5", 405: "10.4.6"}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Bad Request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI "
    "at Setup > Users/Roles > User Management > View Login Audit Trail."
)


class NsError(Exception):
    """One refusal: HTTP status, ``o:errorCode``, detail and optional JSON path."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.headers = headers or {}
        self.title = title or _TITLES.get(status, "Error")

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"detail": self.detail, "o:errorCode": self.code}
        if self.path:
            detail["o:errorPath"] = self.path
        section = _SECTIONS.get(self.status)
        return {
            "type": f"{_RFC}#sec{section}" if section else _RFC,
            "title": self.title,
            "status": self.status,
            "o:errorDetails": [detail],
        }


def invalid_login() -> NsError:
    return NsError(401, "INVALID_LOGIN", _LOGIN)


def not_found(record: str, ident: object) -> NsError:
    return NsError(
        404,
        "NONEXISTENT_ID",
        f"The record instance does not exist. Provide a valid record instance ID "
        f"({record} {ident}).",
    )


def unknown_record_type(record: str) -> NsError:
    return NsError(
        404, "NONEXISTENT_ID", f"Record type '{record}' does not exist or is not supported."
    )


def invalid_reference(field: str, value: object, path: str | None = None) -> NsError:
    return NsError(
        400,
        "INVALID_CONTENT",
        f"Error while accessing a resource. You have entered an Invalid Field Value {value} "
        f"for the following field: {field}",
        path=path or field,
    )


def invalid_value(detail: str, path: str) -> NsError:
    return NsError(400, "INVALID_CONTENT", f"Error while accessing a resource. {detail}", path=path)


def missing(field: str) -> NsError:
    return NsError(
        400,
        "USER_ERROR",
        f"Error while accessing a resource. Please enter value(s) for: {field}.",
        path=field,
    )


def user_error(detail: str, path: str | None = None) -> NsError:
    return NsError(400, "USER_ERROR", f"Error while accessing a resource. {detail}", path=path)


def duplicate_external_id(external_id: str) -> NsError:
    # NetSuite's exact REST code for this is unverified; SOAP calls it DUP_RCRD
    return NsError(
        400,
        "DUP_RCRD",
        f"This record already exists (a record with external ID {external_id}).",
        path="externalId",
    )


def bad_request(detail: str) -> NsError:
    return NsError(400, "INVALID_REQUEST", detail)


def invalid_query(detail: str) -> NsError:
    return NsError(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. Search error "
        f"occurred: {detail}",
    )


def method_not_allowed(method: str) -> NsError:
    return NsError(405, "INVALID_REQUEST", f"The HTTP method {method} is not supported here.")


def concurrency_exceeded(retry_after: float | None = None) -> NsError:
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    detail = "Concurrent request limit exceeded. Request blocked."
    return NsError(429, "CONCURRENCY_LIMIT_EXCEEDED", detail, headers=headers)


def frequency_exceeded() -> NsError:
    return NsError(429, "USER_ERROR", "Request limit exceeded. Request blocked.")


def idempotency_conflict(job_location: str) -> NsError:
    return NsError(
        400,
        "IDEMPOTENCY_ERROR",
        'A request with the same idempotency key is already submitted. See the "Location" '
        "header for a link to the previously submitted job",
        headers={"Location": job_location, "Preference-Applied": "respond-async"},
        title="Conflict",
    )


def unexpected(status: int = 500) -> NsError:
    return NsError(
        status,
        "UNEXPECTED_ERROR",
        "An unexpected error occurred. Error ID: sandbox-injected",
    )
