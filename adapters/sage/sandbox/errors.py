"""Sage Accounting v3.1 refusals as the sandbox answers them; what it refuses (status,
``$dataCode``, ``$message``, source) is the table in ``refusals.py``.

Sage answers an error with a JSON array of diagnoses
``[{"$severity", "$dataCode", "$message", "$source"}]`` (developer.sage.com "Frequently
Raised Errors"), ``$source`` naming the field; a row without a ``$dataCode`` is answered as
the one-field object ``{"error": ...}`` instead.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.sage.sandbox.refusals import REFUSALS
from syncledger.adapters.sandbox.errors import SandboxError


class SageError(SandboxError):
    """One refusal: HTTP status, ``$dataCode``, ``$message`` and ``$source``."""

    def __init__(
        self,
        status: int,
        data_code: str,
        message: str,
        source: str = "",
        *,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(status, f"{data_code} {message} ({source})", retry_after=retry_after)
        self.data_code = data_code
        self.message = message
        self.source = source
        self._body = body

    def payload(self) -> Any:
        if self._body is not None:
            return self._body
        return [
            {
                "$severity": "error",
                "$dataCode": self.data_code,
                "$message": self.message,
                "$source": self.source,
            }
        ]


def refuse(
    rule: str, source: str = "", *, retry_after: float | None = None, **values: object
) -> SageError:
    """The answer to a request refused by ``rule`` (``refusals.py``); ``source`` is what
    ``$source`` names (a field, ``base`` or a header), ``retry_after`` seconds for a 429."""
    row = REFUSALS[rule]
    message = row.text(**values)
    body = {"error": message} if not row.code else None
    return SageError(row.status, row.code, message, source, retry_after=retry_after, body=body)


def server_error(status: int = 500) -> SageError:
    """An injected failure (not a refusal: its status is the test's choice)."""
    return SageError(status, "UnexpectedError", "An unexpected error occurred.", "")
