"""A REST ledger's ``LedgerHttp``, assembled from what the platform publishes.

Every ledger's ``connect`` builds the same client: the platform's name (metrics, logs),
its error translator, a private rate limiter at its published rates unless the tenant's
shared one is passed, the retry policy, the deadline and the test transport. A platform
states only its ``HttpSpec`` (name, translator, default rates) and what is its own: the
base URL, the auth, tenant headers, a concurrency semaphore. ``HttpOptions`` are the
options each ``connect`` takes unchanged and hands on here (``**options``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from typing_extensions import TypedDict, Unpack

from syncledger.adapters.http import ErrorTranslator, LedgerHttp, RetryPolicy
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.ratelimit import Rate, RateLimiter

DEFAULT_TIMEOUT_S = 30.0


class HttpOptions(TypedDict, total=False):
    """The client options every ledger's ``connect`` takes as they are.

    ``limiter``: the tenant's shared one (``RateLimiters.for_tenant``); None, a private
    limiter at the platform's rates. ``retry``: None, the default ``RetryPolicy``.
    ``timeout``: seconds per request (``DEFAULT_TIMEOUT_S``). ``transport``: a test's."""

    transport: httpx.AsyncBaseTransport | None
    limiter: RateLimiter | None
    retry: RetryPolicy | None
    timeout: float


@dataclass(frozen=True, slots=True)
class HttpSpec:
    """What a platform's client is made of: its name, how its refusals read, and its
    published rates (the private limiter's, when no shared one is given)."""

    platform: str
    translate: ErrorTranslator
    rates: tuple[Rate, ...] = ()

    def open(
        self,
        *,
        base_url: str,
        auth: Auth | None,
        rates: tuple[Rate, ...] | None = None,
        headers: Mapping[str, str] | None = None,
        concurrency: asyncio.Semaphore | None = None,
        **options: Unpack[HttpOptions],
    ) -> LedgerHttp:
        """The client; ``rates`` overrides the spec's for the private limiter (a plan's
        own limits)."""
        unknown = sorted(set(options) - HttpOptions.__optional_keys__)
        if unknown:  # a typing checker sees them; a caller without one is told here
            raise TypeError(f"{self.platform} connect: unexpected options {', '.join(unknown)}")
        limits = self.rates if rates is None else rates
        return LedgerHttp(
            platform=self.platform,
            base_url=base_url,
            auth=auth,
            limiter=options.get("limiter") or RateLimiter(*limits),
            retry=options.get("retry") or RetryPolicy(),
            timeout=options.get("timeout", DEFAULT_TIMEOUT_S),
            translate=self.translate,
            transport=options.get("transport"),
            headers=headers,
            concurrency=concurrency,
        )
