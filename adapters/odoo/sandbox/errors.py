"""Odoo refusals as the sandbox answers them (what it refuses: ``refusals.py``).

JSON-2 (Odoo 19 ``external_api.rst``, "Response"): the row's status and a JSON object
``{"name", "message", "arguments", "context", "debug"}``. XML-RPC ``/xmlrpc/2``
(``addons/rpc/controllers/xmlrpc.py`` ``xmlrpc_handle_exception_int``): a ``<fault>`` whose
integer ``faultCode`` follows the exception — 2 warning (``UserError`` and its subclasses
``ValidationError`` / ``MissingError``), 3 access denied, 4 access error, 1 anything else —
answered with HTTP 200; throttling and injected 5xx stay HTTP-level (``http_level``).
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.odoo.sandbox.refusals import REFUSALS
from syncledger.adapters.sandbox.errors import SandboxError

FAULT_APPLICATION = 1
FAULT_CODES = {
    "odoo.exceptions.UserError": 2,
    "odoo.exceptions.ValidationError": 2,
    "odoo.exceptions.MissingError": 2,
    "odoo.exceptions.AccessDenied": 3,
    "werkzeug.exceptions.Unauthorized": 3,
    "odoo.exceptions.AccessError": 4,
}


class OdooError(SandboxError):
    """One refusal: the Python exception name Odoo reports, its message and HTTP status;
    answered on JSON-2 with the call's ``context`` (none until ``in_context``)."""

    MEDIA_TYPE = "application/json; charset=utf-8"

    def __init__(
        self,
        name: str,
        message: str,
        status: int,
        fault_code: int = FAULT_APPLICATION,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, message, retry_after=retry_after)
        self.name = name
        self.message = message
        self.fault_code = fault_code
        self.context: dict[str, Any] = {}

    def in_context(self, context: dict[str, Any]) -> OdooError:
        """This refusal, answered with the call's ``context``."""
        self.context = context
        return self

    def payload(self) -> dict[str, Any]:
        short = self.name.rsplit(".", 1)[-1]
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message, self.status] if self.status < 422 else [self.message],
            "context": self.context,
            "debug": f"Traceback (most recent call last):\n  (sandbox)\n{short}: {self.message}\n",
        }


def refuse(
    rule: str, *, status: int | None = None, retry_after: float | None = None, **values: object
) -> OdooError:
    """The error of ``REFUSALS[rule]``, its message filled in with ``values``; ``status``
    replaces the row's (an injected failure's own status)."""
    row = REFUSALS[rule]
    fault = FAULT_CODES.get(row.code, FAULT_APPLICATION)
    return OdooError(
        row.code, row.text(**values), status or row.status, fault, retry_after=retry_after
    )


def http_level(error: OdooError) -> bool:
    """Answered as an HTTP status even on XML-RPC (throttling, injected 5xx)."""
    return error.name.startswith("werkzeug.exceptions.") and (
        error.status == 429 or error.status >= 500
    )
