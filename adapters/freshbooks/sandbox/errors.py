"""FreshBooks refusals as the sandbox answers them.

Accounting endpoints answer ``{"response": {"errors": [{"errno", "field", "message",
"object", "value"}]}}`` (shape and the ``1012 Client not found.`` example: FreshBooks'
Python SDK fixtures, amcintosh/freshbooks-python-sdk ``tests/fixtures``). A missing or
expired bearer token answers ``{"error": "unauthenticated", "error_description": ...}``
(same source, ``auth_me_response__no_auth.json``).

FreshBooks publishes no list of ``errno`` values. Apart from 1012 the numbers below are
the sandbox's own, chosen so each kind of refusal is distinguishable:

====== ======= ==================================================================
errno  status  meaning
====== ======= ==================================================================
1012   404/422 an object (client, invoice, payment, credit note) does not exist
2001   422     a required field is missing
2002   422     a value is malformed or not supported
2003   422     a value that must be unique is taken (invoice number, client email,
               item name)
2004   422     a business rule refused the write (credit exceeded, currency mismatch)
400    400     the request itself is malformed (JSON, page, unknown search key)
429    429     rate limit exceeded (``Retry-After`` header: an assumption, see below)
500    5xx     server error (only when injected)
====== ======= ==================================================================
"""

from __future__ import annotations

from typing import Any

NOT_FOUND = 1012
REQUIRED = 2001
INVALID = 2002
DUPLICATE = 2003
BUSINESS = 2004


class FreshBooksFault(Exception):
    """One refusal: HTTP status, ``errno`` and the fields of FreshBooks' error object."""

    def __init__(
        self,
        status: int,
        errno: int,
        message: str,
        *,
        field: str = "",
        obj: str = "",
        value: object = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{errno} {message}")
        self.status = status
        self.errno = errno
        self.message = message
        self.field = field
        self.obj = obj
        self.value = "" if value is None else str(value)
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        if self.status == 401:
            return {"error": "unauthenticated", "error_description": self.message}
        error = {
            "errno": self.errno,
            "field": self.field,
            "message": self.message,
            "object": self.obj,
            "value": self.value,
        }
        return {"response": {"errors": [error]}}


def not_found(obj: str, field: str, value: object, *, status: int = 404) -> FreshBooksFault:
    label = obj.replace("_", " ").capitalize()
    return FreshBooksFault(
        status, NOT_FOUND, f"{label} not found.", field=field, obj=obj, value=value
    )


def required(obj: str, field: str) -> FreshBooksFault:
    return FreshBooksFault(422, REQUIRED, "This field is required.", field=field, obj=obj)


def invalid(obj: str, field: str, value: object, message: str) -> FreshBooksFault:
    return FreshBooksFault(422, INVALID, message, field=field, obj=obj, value=value)


def duplicate(obj: str, field: str, value: object, message: str) -> FreshBooksFault:
    return FreshBooksFault(422, DUPLICATE, message, field=field, obj=obj, value=value)


def business(obj: str, field: str, message: str) -> FreshBooksFault:
    return FreshBooksFault(422, BUSINESS, message, field=field, obj=obj)


def bad_request(message: str, field: str = "") -> FreshBooksFault:
    return FreshBooksFault(400, 400, message, field=field)


def unauthenticated() -> FreshBooksFault:
    return FreshBooksFault(401, 401, "This action requires authentication to continue.")


def forbidden(account_id: str) -> FreshBooksFault:
    return FreshBooksFault(
        403,
        403,
        "The authenticated user has no access to this account.",
        field="accountid",
        obj="account",
        value=account_id,
    )


def throttled(retry_after: float) -> FreshBooksFault:
    return FreshBooksFault(
        429, 429, "Too many requests: slow down and retry later.", retry_after=retry_after
    )


def server_error(status: int = 500) -> FreshBooksFault:
    return FreshBooksFault(status, 500, "An unexpected error occurred (injected by the sandbox).")
