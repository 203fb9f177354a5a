"""HubSpot's refusals in syncledger's terms.

HubSpot answers errors with the spec's ``Error`` body (``status, message,
correlationId, category``; 2026-03 specs, SOURCES.md §1.1) and a 429 with ``errorType:
RATE_LIMIT`` and ``policyName`` (SOURCES.md §1.3). :func:`translate` is the HTTP layer's
translator (adapters/http.py retries what it marks transient: 429 and 5xx); at the
adapter's boundary every ``LedgerError`` the layer raises becomes a :class:`HubSpotError`
(a ``SourceError``): a source never raises ledger errors. Messages carry the method,
path, status and HubSpot's category, never a token or a body with record data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from syncledger.adapters.http import retry_after
from syncledger.adapters.hubspot.limits import DailyLimitReached
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    SourceError,
    TransientLedgerError,
)


class HubSpotError(SourceError):
    """A HubSpot request failed; ``transient`` says whether a later retry may succeed."""

    def __init__(self, message: str, *, transient: bool = False, code: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.code = code


def _category(response: httpx.Response) -> str:
    try:
        body = decode_json(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("category") or body.get("errorType") or "")


def _policy(response: httpx.Response) -> str:
    try:
        body = decode_json(response.content)
    except ValueError:
        return ""
    return str(body.get("policyName") or "") if isinstance(body, dict) else ""


def translate(response: httpx.Response) -> LedgerError:
    """The HTTP layer's error for a non-2xx HubSpot answer."""
    status, category = response.status_code, _category(response)
    where = f"HubSpot {response.request.method} {response.request.url.path}"
    said = f"HTTP {status}" + (f" {category}" if category else "")
    if status == 401:
        return AuthExpiredError(f"{where}: credentials refused ({said})", code=category or "401")
    if status == 429 and _policy(response) == "DAILY":
        return DailyLimitReached(f"{where}: {said}, policyName DAILY")
    if status == 429 or status >= 500:
        return TransientLedgerError(
            f"{where}: {said}", code=category or str(status), retry_after=retry_after(response)
        )
    return PermanentLedgerError(f"{where}: refused ({said})", code=str(status))


@contextlib.contextmanager
def boundary(action: str) -> Iterator[None]:
    """Inside: HTTP-layer errors leave as :class:`HubSpotError` naming ``action``."""
    try:
        yield
    except HubSpotError:
        raise
    except TransientLedgerError as exc:
        raise HubSpotError(
            f"{action}: {exc} (will be retried)", transient=True, code=exc.code
        ) from exc
    except AuthExpiredError as exc:
        raise HubSpotError(
            f"{action}: {exc}; check SYNCLEDGER_HUBSPOT_ACCESS_TOKEN or re-authorise the app",
            code=exc.code,
        ) from exc
    except LedgerError as exc:
        raise HubSpotError(f"{action}: {exc}", code=getattr(exc, "code", None)) from exc
