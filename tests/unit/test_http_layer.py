"""The shared HTTP layer: token rotation, redaction, rate limits, retries, translation.

Edge cases run over ``httpx.MockTransport`` whose handlers play the ledger; time is a
virtual clock that ``sleep`` advances, so waits are checked without waiting."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from syncledger.adapters.http import LedgerHttp, RetryPolicy, redact_url, retry_after
from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.oauth2 import (
    FileTokenStore,
    MemoryTokenStore,
    OAuth2Client,
    OAuth2RefreshAuth,
    TokenSet,
)
from syncledger.adapters.ratelimit import Rate, RateLimiter, RateLimiters
from syncledger.core.errors import (
    AuthExpiredError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)

SECRET = "client-secret-never-logged"
TOKEN_URL = "https://auth.example/oauth2/token"


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class TokenServer:
    """A token endpoint with single-use, rotating refresh tokens, plus an API that only
    accepts the latest access token — and checks it was persisted before it is used."""

    def __init__(self, store: FileTokenStore | MemoryTokenStore, first_refresh: str) -> None:
        self.store = store
        self.valid_refresh = {first_refresh}
        self.valid_access: set[str] = set()
        self.issued = 0
        self.used_unpersisted = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return self.token(request)
        return self.api(request)

    def token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form.get("refresh_token") not in self.valid_refresh:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.valid_refresh.discard(form["refresh_token"])
        self.issued += 1
        access, refresh = f"access-{self.issued}", f"refresh-{self.issued}"
        self.valid_access = {access}
        self.valid_refresh.add(refresh)
        return httpx.Response(
            200, json={"access_token": access, "refresh_token": refresh, "expires_in": 3600}
        )

    def api(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        stored = self.store.load()
        if stored is None or stored.access_token != token:
            self.used_unpersisted = True
        if token not in self.valid_access:
            return httpx.Response(401, json={"error": "expired"})
        return httpx.Response(200, json={"ok": True, "amount": 12.30})


def oauth(store: FileTokenStore | MemoryTokenStore, first: str = "refresh-0") -> OAuth2RefreshAuth:
    client = OAuth2Client(token_url=TOKEN_URL, client_id="app", client_secret=SecretStr(SECRET))
    return OAuth2RefreshAuth(client, store, initial_refresh_token=SecretStr(first))


def http(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    clock: VirtualClock | None = None,
    retry: RetryPolicy | None = None,
    **options: object,
) -> LedgerHttp:
    clock = clock or VirtualClock()
    return LedgerHttp(
        platform="test",
        base_url="https://api.example",
        transport=httpx.MockTransport(handler),
        retry=retry or RetryPolicy(attempts=4, base_delay=0.5, max_delay=4.0),
        sleep=clock.sleep,
        **options,  # type: ignore[arg-type]  # test helper forwarding keyword options
    )


# ------------------------------------------------------------------ OAuth2


async def test_rotated_refresh_token_is_persisted_before_the_new_access_token_is_used(
    tmp_path: Path,
) -> None:
    store = FileTokenStore(tmp_path / "tokens" / "qbo.json")
    server = TokenServer(store, "refresh-0")
    client = http(server.handler, auth=oauth(store))
    assert (await client.json("GET", "/data", idempotent=True))["ok"] is True
    saved = store.load()
    assert saved is not None and saved.refresh_token == "refresh-1"
    assert not server.used_unpersisted
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in store.path.parent.iterdir() if p.name.startswith(".tokens")] == []
    await client.aclose()


async def test_an_expired_access_token_is_refreshed_once_and_the_request_resent(
    tmp_path: Path,
) -> None:
    store = FileTokenStore(tmp_path / "qbo.json")
    server = TokenServer(store, "refresh-0")
    client = http(server.handler, auth=oauth(store))
    await client.json("GET", "/data", idempotent=True)
    server.valid_access.clear()  # the ledger expires the token early
    results = await asyncio.gather(
        *(client.json("GET", "/data", idempotent=True) for _ in range(8))
    )
    assert all(r["ok"] for r in results)
    saved = store.load()
    assert saved is not None and saved.refresh_token in server.valid_refresh
    assert not server.used_unpersisted
    await client.aclose()


async def test_a_new_process_starts_from_the_persisted_rotated_token(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "qbo.json")
    server = TokenServer(store, "refresh-0")
    first = http(server.handler, auth=oauth(store))
    await first.json("GET", "/data", idempotent=True)
    await first.aclose()
    server.valid_access.clear()
    # a restarted worker still configured with the original (now used) refresh token
    second = http(server.handler, auth=oauth(FileTokenStore(store.path), first="refresh-0"))
    assert (await second.json("GET", "/data", idempotent=True))["ok"] is True
    await second.aclose()


async def test_a_used_refresh_token_is_an_auth_error_without_secrets(tmp_path: Path) -> None:
    store = MemoryTokenStore()
    server = TokenServer(store, "refresh-other")
    client = http(server.handler, auth=oauth(store, first="refresh-0"))
    with pytest.raises(AuthExpiredError) as refused:
        await client.json("GET", "/data", idempotent=True)
    assert refused.value.code == "invalid_grant"
    assert "refresh-0" not in str(refused.value)
    assert SECRET not in str(refused.value)
    await client.aclose()


async def test_logs_and_reprs_never_show_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = FileTokenStore(tmp_path / "qbo.json")
    server = TokenServer(store, "refresh-0")
    auth = oauth(store)
    client = http(server.handler, auth=auth)
    await client.json("GET", "/data", params={"query": "select * from Customer"}, idempotent=True)
    server.valid_access.clear()
    await client.json("GET", "/data", idempotent=True)
    saved = store.load()
    assert saved is not None
    shown = (
        caplog.text
        + repr(saved)
        + repr(auth)
        + repr(OAuth2Client(TOKEN_URL, "app", SecretStr(SECRET)))
    )
    for secret in (SECRET, "refresh-0", "refresh-1", "refresh-2", "access-1", "access-2", "Bearer"):
        assert secret not in shown
    assert "/data" in caplog.text  # the request was logged, redacted
    assert "query=***" in caplog.text
    await client.aclose()


def test_redact_url_masks_every_value_but_harmless_ones() -> None:
    url = httpx.URL("https://x/v3/q?query=select+1&minorversion=75&access_token=abc&code=xyz")
    assert redact_url(url) == "/v3/q?query=***&minorversion=75&access_token=***&code=***"


# ------------------------------------------------------------- rate limits


async def test_the_limiter_holds_every_rate_in_every_window() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(Rate(3, 1.0), Rate(5, 60.0), slack=0.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    for _ in range(11):
        await limiter.acquire()
        sent.append(clock.now)
    for rate in limiter.rates:
        for start in sent:
            in_window = [t for t in sent if start <= t < start + rate.per]
            assert len(in_window) <= rate.limit
    assert sent[5] >= sent[0] + 60  # the sixth waited for the per-minute window


async def test_concurrent_waiters_are_all_served_within_the_limit() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(Rate(4, 1.0), slack=0.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        sent.append(clock.now)

    await asyncio.gather(*(one() for _ in range(10)))
    assert len(sent) == 10
    assert all(len([t for t in sent if s <= t < s + 1.0]) <= 4 for s in sent)


async def test_a_request_counts_until_its_answer_so_arrival_jitter_cannot_overrun() -> None:
    """The ledger counts a request when it arrives, anywhere up to its answer: an early
    request answered late must still hold its place, so the next one waits a full window
    from that answer (a limiter counting send times would let it through too soon)."""
    clock = VirtualClock()
    limiter = RateLimiter(Rate(2, 1.0), slack=0.0, clock=clock, sleep=clock.sleep)
    answered: list[float] = []
    started: list[float] = []
    release = asyncio.Event()

    async def slow() -> None:
        async with limiter.slot():
            started.append(clock.now)
            await release.wait()  # in flight: still counts as now
            await clock.sleep(0.9)  # the answer comes late
            answered.append(clock.now)

    async def third() -> None:
        async with limiter.slot():
            started.append(clock.now)

    first, second = asyncio.create_task(slow()), asyncio.create_task(slow())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(third())
    await asyncio.sleep(0)
    assert len(started) == 2  # the third waits while both are in flight
    release.set()
    await asyncio.gather(first, second, waiting)
    assert started[2] >= min(answered) + 1.0  # a full window after an answer, not a send


# ------------------------------------------------------------------ retries


async def test_retry_after_is_honoured_before_the_next_attempt() -> None:
    clock = VirtualClock()
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.now)
        if len(arrivals) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"ok": True})

    client = http(handler, clock=clock)
    assert (await client.json("GET", "/x", idempotent=True))["ok"] is True
    assert arrivals[1] - arrivals[0] >= 7
    await client.aclose()


async def test_a_retry_after_longer_than_the_policy_is_handed_to_the_caller() -> None:
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(0)
        return httpx.Response(503, headers={"Retry-After": "600"})

    client = http(handler, retry=RetryPolicy(attempts=5, max_retry_after=60))
    with pytest.raises(TransientLedgerError) as failed:
        await client.json("GET", "/x", idempotent=True)
    assert failed.value.retry_after == 600
    assert len(arrivals) == 1
    await client.aclose()


async def test_server_errors_back_off_and_then_succeed() -> None:
    clock = VirtualClock()
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(clock.now)
        return httpx.Response(502 if len(arrivals) < 3 else 200, json={"n": len(arrivals)})

    client = http(handler, clock=clock)
    assert (await client.json("POST", "/x", body={}, idempotent=True))["n"] == 3
    await client.aclose()


async def test_a_write_without_idempotency_is_not_resent_after_a_timeout() -> None:
    arrivals: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(request.method)
        raise httpx.ReadTimeout("no answer", request=request)

    client = http(handler)
    with pytest.raises(TransientLedgerError, match="may have landed"):
        await client.json("POST", "/x", body={"a": 1}, idempotent=False)
    assert arrivals == ["POST"]
    await client.aclose()


async def test_a_request_that_never_left_is_resent_even_when_not_idempotent() -> None:
    arrivals: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(request.method)
        if len(arrivals) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": "1"})

    client = http(handler)
    assert (await client.json("POST", "/x", body={}, idempotent=False))["id"] == "1"
    assert len(arrivals) == 2
    await client.aclose()


async def test_a_refusal_is_not_retried() -> None:
    arrivals: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(request.method)
        return httpx.Response(422)

    client = http(handler)
    with pytest.raises(PermanentLedgerError) as refused:
        await client.json("POST", "/x", body={}, idempotent=True)
    assert refused.value.code == "422"
    assert len(arrivals) == 1
    await client.aclose()


async def test_default_translation_by_status() -> None:
    statuses = iter([409, 401])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    client = http(handler)
    with pytest.raises(StaleVersionError):
        await client.json("GET", "/x", idempotent=True)
    with pytest.raises(AuthExpiredError):
        await client.json("GET", "/x", idempotent=True)
    await client.aclose()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    request = httpx.Request("GET", "https://x")
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"}, request=request)) == 3
    past = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(past) == 0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


# ------------------------------------------------------------ money on the wire


async def test_amounts_travel_as_exact_json_numbers() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, content=b'{"TotalAmt": 0.30, "Qty": 3}')

    client = http(handler)
    answer = await client.json(
        "POST", "/x", body={"a": Decimal("0.10"), "b": Decimal("1E+2")}, idempotent=True
    )
    assert seen == [b'{"a":0.10,"b":100}']
    assert answer == {"TotalAmt": Decimal("0.30"), "Qty": 3}
    assert isinstance(answer["TotalAmt"], Decimal)
    await client.aclose()


def test_a_float_is_refused_on_the_wire() -> None:
    with pytest.raises(TypeError):
        encode_json({"amount": 0.1})
    assert decode_json(encode_json({"d": Decimal("-0.005")})) == {"d": Decimal("-0.005")}


def test_token_set_round_trips_without_showing_tokens() -> None:
    tokens = TokenSet("a-secret", "r-secret", 12.5)
    assert TokenSet.from_json(tokens.to_json()) == tokens
    assert "secret" not in repr(tokens)


def test_one_limiter_per_tenant_is_shared() -> None:
    limiters = RateLimiters(Rate(10, 1.0), Rate(500, 60.0))
    assert limiters.for_tenant("qbo:1") is limiters.for_tenant("qbo:1")
    assert limiters.for_tenant("qbo:1") is not limiters.for_tenant("qbo:2")
    assert limiters.for_tenant("qbo:2").rates == (Rate(10, 1.0), Rate(500, 60.0))
