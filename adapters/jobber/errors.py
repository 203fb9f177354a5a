"""Jobber's answers translated into syncledger's errors.

Shapes (GitHub file id 67140017033, verified live 2026-05-19): a flat ``{"message": ...}``
before GraphQL runs (401 ``Token not recognized``, 404 ``GraphQL API version '<X>' does not
exist``); GraphQL ``errors[].extensions.code`` (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
BAD_USER_INPUT, INTERNAL_SERVER_ERROR, THROTTLED); mutation ``userErrors`` with HTTP 200.
A THROTTLED answer is documented with HTTP 429 by that source and as a GraphQL error by
api-evangelist/jobber rate-limits/jobber-rate-limits.yml: both are read the same way here.
"""

from __future__ import annotations

from typing import Any

import httpx

from syncledger.adapters.http import translate_status
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import (
    ConfigurationError,
    LedgerError,
    SourceError,
    TransientLedgerError,
)


class JobberThrottled(TransientLedgerError):
    """Jobber refused the query for its cost or the request window; nothing ran, so it is
    safe to send again after ``retry_after`` seconds."""


def _codes(body: Any) -> set[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return {
        str((e.get("extensions") or {}).get("code")) for e in errors or () if isinstance(e, dict)
    }


def throttle_wait(body: Any) -> float | None:
    """Seconds until the bucket holds the refused query's cost, from ``extensions.cost``."""
    try:
        cost = body["extensions"]["cost"]
        status = cost["throttleStatus"]
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(0.0, missing / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def throttled(body: Any) -> JobberThrottled | None:
    if "THROTTLED" not in _codes(body):
        return None
    return JobberThrottled(
        "jobber: query cost throttled (THROTTLED)",
        code="THROTTLED",
        retry_after=throttle_wait(body),
    )


def translate(response: httpx.Response) -> LedgerError:
    """A non-2xx answer as a ledger-layer error (the HTTP layer's vocabulary)."""
    try:
        body = decode_json(response.content)
    except ValueError:
        body = None
    found = throttled(body)
    if found is not None:
        return found
    if response.status_code == 429:
        return JobberThrottled(
            "jobber: 2,500 requests / 5 min exceeded (HTTP 429)", code="429", retry_after=60.0
        )
    if response.status_code == 404 and isinstance(body, dict) and "version" in str(body):
        return ConfigurationErrorAsLedger(
            "jobber does not know the API version sent: set SYNCLEDGER_JOBBER_API_VERSION "
            "to a supported YYYY-MM-DD version (see Jobber's API versioning page)"
        )
    return translate_status(response)


class ConfigurationErrorAsLedger(LedgerError):
    """A refusal that settings must fix (turned into ConfigurationError at the boundary)."""


def graphql_errors(body: Any) -> SourceError | None:
    """GraphQL ``errors`` other than NOT_FOUND (which the caller reads as 'gone')."""
    errors = body.get("errors") if isinstance(body, dict) else None
    serious = [e for e in errors or () if "NOT_FOUND" not in _codes({"errors": [e]})]
    if not serious:
        return None
    codes = ", ".join(sorted(_codes({"errors": serious})))
    first = str(serious[0].get("message", ""))[:200] if isinstance(serious[0], dict) else ""
    return SourceError(f"jobber refused the query ({codes}): {first}")


def as_source_error(exc: LedgerError) -> Exception:
    """The HTTP layer's error as the source side's own."""
    if isinstance(exc, ConfigurationErrorAsLedger):
        return ConfigurationError(str(exc))
    return SourceError(f"jobber: {exc}")
