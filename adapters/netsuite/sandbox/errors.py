"""NetSuite REST refusals on the wire (Oracle help, "Error Handling in REST Web Services"):
``{"type": <RFC 2616 section URL>, "title", "status", "o:errorDetails": [{"detail",
"o:errorCode", "o:errorPath"?}]}``. What is refused, with which status, code and detail and
on what authority, is the table in ``refusals.py``; ``refuse`` builds its rows.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.netsuite.sandbox.refusals import REFUSALS, TITLES
from syncledger.adapters.sandbox.errors import SandboxError

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


class NsError(SandboxError):
    """One refusal: HTTP status, ``o:errorCode``, detail and optional JSON path, answered
    as NetSuite's error resource."""

    MEDIA_TYPE = "application/vnd.oracle.resource+json; type=error"

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
        super().__init__(status, f"{status} {code}: {detail}", headers=headers)
        self.code = code
        self.detail = detail
        self.path = path
        self.title = title or _TITLES.get(status, "Error")

    def payload(self) -> dict[str, Any]:
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


def refuse(
    rule: str,
    *,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    status: int | None = None,
    **values: object,
) -> NsError:
    """The error of ``REFUSALS[rule]``, its detail filled in with ``values``, at ``path``;
    ``status`` replaces the row's (an injected failure's own status)."""
    row = REFUSALS[rule]
    return NsError(
        status or row.status,
        row.code,
        row.text(**values),
        path=path,
        headers=headers,
        title=TITLES.get(rule),
    )


def missing(field: str) -> NsError:
    return refuse("field.missing", field=field, path=field)


def invalid_reference(field: str, value: object, path: str | None = None) -> NsError:
    return refuse("field.invalid_reference", field=field, value=value, path=path or field)
