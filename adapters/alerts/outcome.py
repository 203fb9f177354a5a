"""One reading of a receiver's answer: success, or ``AlertNotDelivered`` saying what next.

Facts (SOURCES.md §4.1 Standard Webhooks delivery guidance, §4.5 Svix conventions):
only a 2xx is success; a 3xx is a failure and redirects are never followed; 410 means
the endpoint is gone (disable it); 429/502/504 mean throttle; ``Retry-After`` is
honoured (RFC 9110: delta-seconds or an HTTP date).

Not documented, safe path taken:

* 408, 409 (the port's docstring lists it as retryable: a receiver may still be working
  on the same ``webhook-id``) and 425 are retried; every other 4xx is permanent (the
  same request will be refused again); every 5xx is retried;
* a 3xx is retried, not permanent: Svix (§4.5) retries failures, and the operator can fix
  the URL before the schedule runs out; the reason says to update the URL;
* a ``Retry-After`` that is neither digits nor an HTTP date is ignored;
* a timeout, a refused connection or any other transport error is retried (whether the
  receiver got the message cannot be told; the alert desk's at-least-once stands).

A reason names the HTTP status and a short, single-line excerpt of the body with every
secret the caller names (the URL, its path and its query values) masked; it never holds
the URL. Transport errors are reported by kind only, and not chained, because a
library's message or request object may carry the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import urlsplit

import httpx

from syncledger.core.alert_ports import AlertNotDelivered

#: 4xx answers that mean "not now" rather than "never"
RETRYABLE_4XX: Final = frozenset({408, 409, 425, 429})
EXCERPT_CHARS: Final = 200
_DIGITS = re.compile(r"^\s*[0-9]{1,10}\s*$")
_MIN_SECRET_PART = 6


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if _DIGITS.match(value):
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": the date is UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def url_secrets(url: str) -> tuple[str, ...]:
    """What of ``url`` must never be shown: the URL, its path, query and each part."""
    parts = urlsplit(url)
    pieces = [url, parts.path, parts.query]
    pieces += re.split(r"[/&=]", parts.path + "&" + parts.query)
    return tuple(p for p in pieces if len(p) >= _MIN_SECRET_PART)


def masked(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (longest first) replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def excerpt(body: str, secrets: Iterable[str] = ()) -> str:
    """A short single-line quote of ``body`` with the secrets masked."""
    secrets = tuple(secrets)
    line = masked(" ".join(masked(body, secrets).split()), secrets)  # joining can form one
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


def _said(response: httpx.Response, secrets: Iterable[str]) -> str:
    quote = excerpt(response.text, secrets)
    return f"HTTP {response.status_code}" + (f": {quote!r}" if quote else "")


def refusal(
    response: httpx.Response, who: str, secrets: Iterable[str] = ()
) -> AlertNotDelivered | None:
    """None for a 2xx; otherwise what the status means for this message."""
    status = response.status_code
    said = f"{who} answered {_said(response, secrets)}"
    if 200 <= status < 300:
        return None
    if status == 410:
        return AlertNotDelivered(f"{said}: the endpoint is gone", gone=True)
    if 300 <= status < 400:
        return AlertNotDelivered(f"{said}: a redirect (not followed): update the URL")
    if status in RETRYABLE_4XX or status >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return AlertNotDelivered(f"{said}: will try again", retry_after=wait)
    return AlertNotDelivered(f"{said}: refused as it is", permanent=True)


def check(response: httpx.Response, who: str, secrets: Iterable[str] = ()) -> None:
    """Return on a 2xx, raise the refusal otherwise."""
    failure = refusal(response, who, secrets)
    if failure is not None:
        raise failure


def transport_failure(exc: httpx.HTTPError, who: str) -> AlertNotDelivered:
    """A request that got no answer: retried. Only the kind of failure is named."""
    if isinstance(exc, httpx.TimeoutException):
        what = "did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        what = "could not be reached"
    else:
        what = f"failed in transport ({type(exc).__name__})"
    return AlertNotDelivered(f"{who} {what}: will try again")
