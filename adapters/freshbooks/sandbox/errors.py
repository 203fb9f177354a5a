"""FreshBooks refusals on the wire. Accounting endpoints answer ``{"response": {"errors":
[{"errno", "field", "message", "object", "value"}]}}``; a missing or expired bearer token,
and the token endpoint, ``{"error": ..., "error_description": ...}`` (shapes: FreshBooks'
Python SDK fixtures, amcintosh/freshbooks-python-sdk ``tests/fixtures``). What is refused,
with which errno and message and on what authority, is the table in ``refusals.py``;
``refuse`` builds its rows."""

from __future__ import annotations

import math
from typing import Any

from syncledger.adapters.freshbooks.sandbox.refusals import REFUSALS
from syncledger.adapters.sandbox.errors import SandboxError


class FreshBooksFault(SandboxError):
    """One refusal: its HTTP status, its body and the wait it asks for (if any: a wait of
    a second or more is sent in whole seconds, rounded up)."""

    def __init__(
        self, status: int, body: dict[str, Any], *, retry_after: float | None = None
    ) -> None:
        wait = retry_after if retry_after is None or retry_after < 1 else math.ceil(retry_after)
        super().__init__(status, str(body), retry_after=wait)
        self.body = body

    def payload(self) -> dict[str, Any]:
        return self.body


def refuse(
    rule: str,
    obj: str = "",
    field: str = "",
    value: object = "",
    *,
    status: int | None = None,
    retry_after: float | None = None,
    **values: object,
) -> FreshBooksFault:
    """The fault of ``REFUSALS[rule]`` about ``obj``'s ``field`` (holding ``value``), its
    message filled in with ``values`` (and those three); ``status`` replaces the row's (an
    injected failure's own status)."""
    row = REFUSALS[rule]
    message = row.text(obj=obj, field=field, value=value, **values)
    body = _body(row.code, message, obj, field, "" if value is None else str(value))
    return FreshBooksFault(status or row.status, body, retry_after=retry_after)


def _body(code: str, message: str, obj: str, field: str, value: str) -> dict[str, Any]:
    if not code.isdecimal():  # an OAuth-style answer: the 401, the token endpoint's
        return {"error": code, "error_description": message}
    error = {"errno": int(code), "field": field, "message": message, "object": obj, "value": value}
    return {"response": {"errors": [error]}}
