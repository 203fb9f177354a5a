"""HubSpot's limits per account, shared by every reader of that account in a process.

SOURCES.md §1.3: 100 requests / 10 s per app on the lowest tier and 250,000 a day per
account (shared by all of the account's apps); CRM search 5 requests/s per account; the
answers carry ``X-HubSpot-RateLimit-Daily``, ``-Daily-Remaining``, ``-Secondly`` and
``-Secondly-Remaining`` (search answers carry none); a 429 body has ``errorType:
RATE_LIMIT`` and ``policyName`` ``DAILY`` or ``TEN_SECONDLY_ROLLING``.

So:

- one pair of client-side limiters (burst, search) per **account**, not per reader: a
  worker and ``serve`` re-reading webhook hints in one process share them
  (:func:`account_limits`, keyed by the portal id when configured, else by the API address
  and a digest of the credential — never the credential itself);
- the headers are read on every answer (:class:`HeaderWatch`): with
  ``-Secondly-Remaining`` at 0 the next request waits a second; with
  ``-Daily-Remaining`` at 0 no further request is sent — the read stops with a
  transient error naming the daily limit, and the next poll tries again (HubSpot
  documents no reset time in our facts, so none is assumed);
- a 429 whose ``policyName`` is ``DAILY`` is not retried within the read (errors.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core.errors import TransientLedgerError

DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"
SECONDLY_REMAINING = "X-HubSpot-RateLimit-Secondly-Remaining"
#: how long the next request waits once the per-second allowance is used up
SECOND = 1.0


def _count(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


#: handed back with a daily-limit error: longer than any wait a read sleeps through
#: (``RetryPolicy.max_retry_after``), so the read stops and the next poll tries again
DAILY_BACKOFF_S = 3600.0
DAILY_MESSAGE = (
    "HubSpot's daily API limit for this account is used up: nothing more is sent until "
    "HubSpot resets it; the next poll tries again"
)


class DailyLimitReached(TransientLedgerError):
    """HubSpot's daily allowance for the account is used up (not retried within a read)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{DAILY_MESSAGE} ({detail})", code="DAILY", retry_after=DAILY_BACKOFF_S)


@dataclass
class AccountLimits:
    """The client-side limiters of one account and what its answers last said."""

    burst: RateLimiter
    search: RateLimiter
    daily_remaining: int | None = None
    secondly_remaining: int | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        daily, secondly = (
            _count(headers.get(DAILY_REMAINING)),
            _count(headers.get(SECONDLY_REMAINING)),
        )
        if daily is not None:
            self.daily_remaining = daily
        if secondly is not None:
            self.secondly_remaining = secondly

    async def before_request(self) -> None:
        """Refuse once the day's allowance is gone; wait a second once this second's is."""
        if self.daily_remaining is not None and self.daily_remaining <= 0:
            raise DailyLimitReached(f"{DAILY_REMAINING}: 0")
        if self.secondly_remaining is not None and self.secondly_remaining <= 0:
            self.secondly_remaining = None
            await asyncio.sleep(SECOND)


class HeaderWatch(httpx.AsyncBaseTransport):
    """A transport that shows every answer's headers to the account's limits and asks
    them before each request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limits: AccountLimits) -> None:
        self._inner = inner
        self._limits = limits

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._limits.before_request()
        response = await self._inner.handle_async_request(request)
        self._limits.observe(response.headers)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


#: per event loop (a limiter's lock belongs to one), per account
_ACCOUNTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AccountLimits]] = (
    weakref.WeakKeyDictionary()
)


def account_key(base_url: str, portal_id: str | None, credential: str | None) -> str:
    """``<api address>#<portal id>``, or a digest of the credential when no portal id is set."""
    if portal_id:
        return f"{base_url}#{portal_id}"
    digest = hashlib.sha256((credential or "").encode()).hexdigest()[:16]
    return f"{base_url}#cred-{digest}"


def account_limits(key: str, burst: Rate, search: Rate) -> AccountLimits:
    """The account's limits in the running event loop, made on first use (outside a loop:
    limits of its own, shared with nobody)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return AccountLimits(RateLimiter(burst), RateLimiter(search))
    accounts = _ACCOUNTS.setdefault(loop, {})
    if key not in accounts:
        accounts[key] = AccountLimits(RateLimiter(burst), RateLimiter(search))
    return accounts[key]
