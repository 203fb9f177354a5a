"""The one HTTP layer every ledger adapter talks through.

Per request: wait for the tenant's rate limiter, authorise (OAuth2 refresh or a static
key), send with a deadline, translate the answer into ``syncledger.core.errors``, and retry what is
safe to retry with exponential backoff and full jitter, honouring ``Retry-After``.

Platform-specific parts are parameters: the error translator (how a platform spells a
refusal), the auth (token endpoint and credentials), the limiter (its published rates).

Logs carry platform, method, path, status, duration and attempt; query values only for
keys known to be harmless; never headers, bodies, tokens or client secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.metrics import LEDGER_REQUEST_DURATION, LEDGER_REQUESTS
from syncledger.core.ports import ANSWER_NOW

log = logging.getLogger("syncledger.http")

ErrorTranslator = Callable[[httpx.Response], LedgerError]
#: a ledger that has not accepted the connection by then is taken as unreachable (the
#: request was not sent, so it is retried); answers may take up to the full ``timeout``
CONNECT_TIMEOUT_S = 10.0
Params = Mapping[str, str | int]
T = TypeVar("T")
#: one try of a retried operation: its number (from 1) and the error the try before it
#: ended with (None on the first)
Operation = Callable[[int, TransientLedgerError | None], Awaitable[T]]

#: query keys whose values may appear in logs; every other value is shown as ``***``
LOGGABLE_PARAMS = frozenset(
    {
        "minorversion",
        "requestid",
        "operation",
        "entities",
        "changedSince",
        "page",
        "pageSize",
        "limit",
        "offset",
        "replace",
        "expandSubResources",
    }
)


@runtime_checkable
class RequestSigningAuth(Protocol):
    """An ``Auth`` whose header depends on the request itself (OAuth 1.0a signatures such
    as NetSuite TBA): ``LedgerHttp`` calls ``sign`` instead of ``headers`` before each
    attempt, so every attempt carries a fresh nonce and timestamp."""

    async def sign(self, client: httpx.AsyncClient, request: httpx.Request) -> dict[str, str]: ...


class NotSentError(TransientLedgerError):
    """The request never reached the ledger (connection refused, DNS, connect timeout):
    always safe to send again, idempotent or not."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` tries in all; waits grow ``base_delay × 2ⁿ`` (capped, full jitter).

    A ``Retry-After`` the ledger sends wins over the backoff; one longer than
    ``max_retry_after`` is not slept through but handed back to the caller inside the
    ``TransientLedgerError`` so the sync process can schedule the retry."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def delay(self, exc: TransientLedgerError, attempt: int, rng: random.Random) -> float | None:
        """Seconds to wait after try ``attempt`` failed with ``exc``; None: give up (no
        tries left, a ``Retry-After`` beyond ``max_retry_after``, or the sync only asking
        whether the ledger answers: ``core.ports.ANSWER_NOW``)."""
        if attempt >= self.attempts or ANSWER_NOW.get():
            return None
        if exc.retry_after is None:
            return self.backoff(attempt, rng)
        return exc.retry_after if exc.retry_after <= self.max_retry_after else None

    async def run(
        self,
        operation: Operation[T],
        *,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[None]],
        label: str,
        resend: Callable[[TransientLedgerError], bool] = lambda exc: True,
    ) -> T:
        """Await ``operation(attempt, previous_error)`` until it returns. A transient
        error is retried after ``delay`` when ``resend`` allows it; otherwise it (or any
        other error) propagates unchanged. Each retry is logged once under ``label``."""
        attempt, previous = 1, None
        while True:
            try:
                return await operation(attempt, previous)
            except TransientLedgerError as exc:
                wait = self.delay(exc, attempt, rng) if resend(exc) else None
                if wait is None:
                    raise
                log.info("%s retry %d in %.2fs: %s", label, attempt, wait, exc)
                await sleep(wait)
                attempt, previous = attempt + 1, exc


NO_RETRY = RetryPolicy(attempts=1)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def translate_status(response: httpx.Response) -> LedgerError:
    """Default translation by HTTP status, for platforms without a richer error body."""
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}"
    if status == 401:
        return AuthExpiredError(f"{where}: credentials rejected (HTTP 401)", code="401")
    if status in (409, 412):
        return StaleVersionError(f"{where}: record changed meanwhile (HTTP {status})")
    if status == 429 or status >= 500:
        return TransientLedgerError(
            f"{where}: HTTP {status}", code=str(status), retry_after=retry_after(response)
        )
    return PermanentLedgerError(f"{where}: refused with HTTP {status}", code=str(status))


def redact_url(url: httpx.URL) -> str:
    """Path plus query with every value outside ``LOGGABLE_PARAMS`` masked."""
    pairs = [
        f"{key}={value if key in LOGGABLE_PARAMS else '***'}"
        for key, value in url.params.multi_items()
    ]
    return url.path + ("?" + "&".join(pairs) if pairs else "")


class LedgerHttp:
    """An ``httpx.AsyncClient`` wrapped with auth, rate limits, retries and translation."""

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        auth: Auth | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
        translate: ErrorTranslator = translate_status,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        concurrency: asyncio.Semaphore | None = None,
    ) -> None:
        """``concurrency``: at most that many requests in flight at once (a platform that
        governs concurrent requests, e.g. NetSuite); share one per tenant. A slot is taken
        before the rate limiter is asked, and held until the answer is read."""
        self.platform = platform
        self._auth = auth
        self._limiter = limiter
        self._concurrency = concurrency
        self._retry = retry
        self._deadline = timeout
        self._translate = translate
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
            headers={"Accept": "application/json", **(headers or {})},
        )

    async def json(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content: bytes | None = None,
        content_type: str = "application/json",
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send and decode the JSON answer (fractions as ``Decimal``)."""
        response = await self.request(
            method,
            url,
            params=params,
            content=encode_json(body) if body is not None else content,
            content_type=content_type,
            idempotent=idempotent,
            headers=headers,
        )
        try:
            return decode_json(response.content)
        except ValueError as exc:
            raise TransientLedgerError(
                f"{self.platform} answered {method} {url} with a body that is not JSON"
            ) from exc

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        content: bytes | None = None,
        content_type: str = "application/json",
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a ``LedgerError``.

        ``idempotent``: True when sending the same request twice has the effect of once
        (reads; writes carrying a platform idempotency key). Only those are retried after
        the request may have reached the ledger. ``headers``: extra headers for this
        request only (e.g. ``Idempotency-Key``, ``If-Modified-Since``); never logged."""
        sent = {"Content-Type": content_type} if content is not None else {}
        request = self._client.build_request(
            method, url, params=params, content=content, headers={**sent, **(headers or {})}
        )
        return await self._retry.run(
            lambda attempt, _: self._attempt(request, attempt),
            rng=self._rng,
            sleep=self._sleep,
            label=self.platform,
            resend=lambda exc: idempotent or isinstance(exc, NotSentError),
        )

    async def _attempt(self, request: httpx.Request, attempt: int) -> httpx.Response:
        async with self._concurrency or contextlib.nullcontext():
            sent = await self._authorize(request)
            response = await self._limited_send(request, attempt)
            if await self._refreshed_after(response, sent):
                await self._authorize(request)
                response = await self._limited_send(request, attempt)
        if response.is_success:
            return response
        raise self._translate(response)

    async def _limited_send(self, request: httpx.Request, attempt: int) -> httpx.Response:
        """Every request that reaches the ledger takes a place in the tenant's window."""
        async with self._limiter.slot() if self._limiter else contextlib.nullcontext():
            return await self._send(request, attempt)

    async def _refreshed_after(self, response: httpx.Response, sent: dict[str, str]) -> bool:
        """On a 401, let the auth refresh once; True when the request is worth resending."""
        if self._auth is None or response.status_code != 401:
            return False
        return await self._auth.unauthorized(self._client, sent)

    async def _authorize(self, request: httpx.Request) -> dict[str, str]:
        if self._auth is None:
            return {}
        if isinstance(self._auth, RequestSigningAuth):
            auth_headers = await self._auth.sign(self._client, request)
        else:
            auth_headers = await self._auth.headers(self._client)
        request.headers.update(auth_headers)
        return auth_headers

    async def _send(self, request: httpx.Request, attempt: int) -> httpx.Response:
        started = time.monotonic()
        LEDGER_REQUESTS.labels(ledger=self.platform).inc()
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._log(request, "not sent", started, attempt)
            raise NotSentError(f"{self._where(request)}: {type(exc).__name__}") from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            self._log(request, "timeout", started, attempt)
            raise TransientLedgerError(
                f"{self._where(request)}: no answer within {self._deadline}s; the write may "
                "have landed"
            ) from exc
        except httpx.TransportError as exc:
            self._log(request, type(exc).__name__, started, attempt)
            raise TransientLedgerError(f"{self._where(request)}: {type(exc).__name__}") from exc
        self._log(request, str(response.status_code), started, attempt)
        return response

    def _where(self, request: httpx.Request) -> str:
        return f"{self.platform} {request.method} {request.url.path}"

    def _log(self, request: httpx.Request, outcome: str, started: float, attempt: int) -> None:
        elapsed = time.monotonic() - started
        LEDGER_REQUEST_DURATION.labels(ledger=self.platform).observe(elapsed)
        elapsed_ms = elapsed * 1000
        log.info(
            "%s %s %s -> %s in %.0f ms (attempt %d)",
            self.platform,
            request.method,
            redact_url(request.url),
            outcome,
            elapsed_ms,
            attempt,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
