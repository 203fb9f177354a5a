"""Odoo refusals → ``syncledger.core.errors``.

JSON-2 answers 4xx/5xx with ``{"name", "message", "arguments", "context", "debug"}``
(Odoo 19 ``external_api.rst``; later builds send the bare message as a JSON string, which
is read too). The error ``code`` is the exception's qualified name, e.g.
``odoo.exceptions.MissingError``. XML-RPC ``/xmlrpc/2`` answers faults with an integer
``faultCode`` (1 application error, 2 warning — ``UserError`` and subclasses —, 3 access
denied, 4 access error; ``addons/rpc/controllers/xmlrpc.py``); its code is that integer.
``debug`` (a server traceback) is never copied into a message.

A method that returns ``None`` (``account.payment.action_post``) runs and commits, then
Odoo cannot marshal its answer over XML-RPC (``allow_none=False``) and sends fault 1
``TypeError: cannot marshal None unless allow_none is enabled``: ``answered_none`` tells it
from a failure, so the call counts as done.
"""

from __future__ import annotations

from typing import Any

import httpx

from syncledger.adapters.http import NotSentError, retry_after
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    TransientLedgerError,
)

UNAUTHORIZED = "werkzeug.exceptions.Unauthorized"
MISSING = "odoo.exceptions.MissingError"
FAULT_APPLICATION = "1"
FAULT_WARNING = "2"
FAULT_ACCESS_DENIED = "3"
FAULT_ACCESS_ERROR = "4"
_MESSAGE_LIMIT = 500
_NONE_ANSWER = "cannot marshal None unless allow_none is enabled"


class OdooThrottled(NotSentError):
    """429: Odoo (or the proxy in front of it) refused the request before running it, so
    it is safe to send again after ``retry_after``, write or not."""


def translate_json2(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for the JSON-2 transport."""
    name, message = _json2_error(response)
    status = response.status_code
    where = f"Odoo {response.request.url.path}"
    wait = retry_after(response)
    if status == 429:
        return OdooThrottled(f"{where}: throttled (HTTP 429)", code="429", retry_after=wait)
    if status == 401:
        return AuthExpiredError(
            f"{where}: the API key was refused ({message}); it may have expired (Odoo keys "
            "last at most three months) or been revoked: create a new key and set "
            "SYNCLEDGER_ODOO_API_KEY",
            code=name,
        )
    if status >= 500:
        return TransientLedgerError(f"{where}: {name}: {message}", code=name, retry_after=wait)
    return PermanentLedgerError(f"{where}: refused: {name}: {message}", code=name)


def translate_xmlrpc_http(response: httpx.Response) -> LedgerError:
    """HTTP-level failures of the XML-RPC transport (faults arrive with HTTP 200)."""
    where = f"Odoo {response.request.url.path}"
    wait = retry_after(response)
    if response.status_code == 429:
        return OdooThrottled(f"{where}: throttled (HTTP 429)", code="429", retry_after=wait)
    if response.status_code >= 500:
        status = str(response.status_code)
        return TransientLedgerError(f"{where}: HTTP {status}", code=status, retry_after=wait)
    return PermanentLedgerError(
        f"{where}: refused with HTTP {response.status_code}", code=str(response.status_code)
    )


def fault_error(code: int | str, text: str, where: str) -> LedgerError:
    """One XML-RPC fault → a typed error (``text`` already scrubbed of credentials)."""
    code = str(code)
    if code == FAULT_ACCESS_DENIED:
        return AuthExpiredError(
            f"{where}: access denied: the login or API key was refused; create a new key "
            "and set SYNCLEDGER_ODOO_API_KEY",
            code=code,
        )
    if code == FAULT_APPLICATION:
        return TransientLedgerError(f"{where}: server error: {_last_line(text)}", code=code)
    return PermanentLedgerError(f"{where}: refused: {_short(text)}", code=code)


def answered_none(code: int | str, text: str) -> bool:
    """The fault Odoo sends after running a method whose result is ``None``."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return str(code) == FAULT_APPLICATION and bool(lines) and _NONE_ANSWER in lines[-1]


def _json2_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = decode_json(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("name"):
        return str(body["name"]), _short(str(body.get("message", "")))
    if isinstance(body, str):
        return f"HTTP {response.status_code}", _short(body)
    return f"HTTP {response.status_code}", response.reason_phrase


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _short(lines[-1]) if lines else "application error"
