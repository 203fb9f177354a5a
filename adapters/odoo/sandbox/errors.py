"""Odoo refusals as the sandbox answers them.

JSON-2 (Odoo 19 ``external_api.rst``, "Response"): a 4xx/5xx status and a JSON object
``{"name", "message", "arguments", "context", "debug"}``; the status comes from the
exception (``addons/rpc/controllers/json2.py``: ``UserError.http_code``, werkzeug
``HTTPException.code``, else 500). XML-RPC ``/xmlrpc/2`` (``addons/rpc/controllers/
xmlrpc.py``): a ``<fault>`` with an integer ``faultCode`` — 1 application error, 2 warning
(``UserError`` and its subclasses ``ValidationError`` / ``MissingError``), 3 access denied,
4 access error — answered with HTTP 200.
"""

from __future__ import annotations

from typing import Any

FAULT_APPLICATION = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4


class OdooError(Exception):
    """One refusal: the Python exception name Odoo reports, its message and HTTP status."""

    def __init__(
        self,
        name: str,
        message: str,
        status: int,
        fault_code: int = FAULT_APPLICATION,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status
        self.fault_code = fault_code
        self.retry_after = retry_after

    def body(self, context: dict[str, Any] | None = None) -> dict[str, Any]:
        short = self.name.rsplit(".", 1)[-1]
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message, self.status] if self.status < 422 else [self.message],
            "context": context or {},
            "debug": f"Traceback (most recent call last):\n  (sandbox)\n{short}: {self.message}\n",
        }


def user_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.UserError", message, 422, FAULT_WARNING)


def validation_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.ValidationError", message, 422, FAULT_WARNING)


def missing_error(model: str, ids: object) -> OdooError:
    return OdooError(
        "odoo.exceptions.MissingError",
        f"Record does not exist or has been deleted.\n(Record: {model}({ids}), User: 2)",
        404,
        FAULT_WARNING,
    )


def access_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.AccessError", message, 403, FAULT_ACCESS_ERROR)


def access_denied() -> OdooError:
    return OdooError("odoo.exceptions.AccessDenied", "Access Denied", 403, FAULT_ACCESS_DENIED)


def invalid_apikey() -> OdooError:
    return OdooError("werkzeug.exceptions.Unauthorized", "Invalid apikey", 401, FAULT_ACCESS_DENIED)


def not_found(message: str) -> OdooError:
    return OdooError("werkzeug.exceptions.NotFound", message, 404)


def unprocessable(message: str) -> OdooError:
    return OdooError("werkzeug.exceptions.UnprocessableEntity", message, 422)


def bad_request(message: str) -> OdooError:
    return OdooError("werkzeug.exceptions.BadRequest", message, 400)


def value_error(message: str) -> OdooError:
    """What the ORM raises for an unknown field or a malformed domain (an internal
    error to the RPC layer: HTTP 500, fault 1)."""
    return OdooError("builtins.ValueError", message, 500)


def too_many_requests(retry_after: float) -> OdooError:
    return OdooError(
        "werkzeug.exceptions.TooManyRequests",
        "429 Too Many Requests: the sandbox's request limit was reached",
        429,
        retry_after=retry_after,
    )


def server_error(status: int = 500) -> OdooError:
    """An injected failure in front of Odoo (a 5xx from the server or its proxy): an
    HTTP-level answer on both transports."""
    return OdooError(
        "werkzeug.exceptions.InternalServerError",
        "internal server error (injected by the sandbox)",
        status,
    )


def http_level(error: OdooError) -> bool:
    """Answered as an HTTP status even on XML-RPC (throttling, injected 5xx)."""
    return error.name.startswith("werkzeug.exceptions.") and (
        error.status == 429 or error.status >= 500
    )
