"""Zoho Books v3 refusals on the wire: an HTTP status plus ``{"code": <non-zero int>,
"message": "..."}`` (zoho.com/books/api/v3/errors). What is refused, with which code and
message and on what authority, is the table in ``refusals.py``; ``refuse`` builds its rows.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.sandbox.errors import SandboxError
from syncledger.adapters.zoho.sandbox.refusals import REFUSALS


class ZohoError(SandboxError):
    """One refusal: HTTP status, Zoho code and message (and a Retry-After, if any)."""

    def __init__(
        self, status: int, code: int, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(status, f"{code} {message}", retry_after=retry_after)
        self.code = code
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def refuse(
    rule: str, *, status: int | None = None, retry_after: float | None = None, **values: object
) -> ZohoError:
    """The error of ``REFUSALS[rule]``, its message filled in with ``values``; ``status``
    replaces the row's (an injected failure's own status)."""
    row = REFUSALS[rule]
    status = row.status if status is None else status
    return ZohoError(status, int(row.code), row.text(**values), retry_after=retry_after)
