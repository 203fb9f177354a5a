"""HubSpot's limits per account: the daily allowance read from the answers' headers stops
a read before HubSpot has to refuse it, a daily 429 is not retried within the read, the
per-second allowance makes the next request wait, and readers of one account in one
process share their limiters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncledger.adapters.hubspot import limits
from syncledger.adapters.hubspot.client import BURST_RATE, SEARCH_RATE
from syncledger.adapters.hubspot.errors import HubSpotError
from syncledger.adapters.hubspot.limits import AccountLimits, account_key, account_limits
from syncledger.adapters.hubspot.platform import SOURCE, portal_token_file
from syncledger.adapters.hubspot.sandbox.server import TEST_REFRESH_TOKEN, HubSpotSandbox
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.core.errors import ConfigurationError
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection


def seeded(companies: int = 3) -> HubSpotSandbox:
    sandbox = HubSpotSandbox()
    for n in range(companies):
        sandbox.store.create("companies", {"name": f"Co {n}"})
    return sandbox


async def test_a_read_stops_when_the_answers_say_the_day_is_used_up(tmp_path: Path) -> None:
    sandbox = seeded()
    # a list answers "2 left", a search answers nothing (searches carry no rate-limit
    # headers), the next list "0 left": then nothing more is sent
    sandbox.daily_limit = 3
    reader = SOURCE.connect(connection(tmp_path, sandbox, portal_id="1001"))
    try:
        with pytest.raises(HubSpotError, match="daily API limit") as stopped:
            await read_all(reader, None)
    finally:
        await reader.aclose()
    assert stopped.value.transient  # the next poll tries again
    assert sandbox.daily_used == 3
    assert sandbox.daily_refusals == 0  # nothing was sent after the headers said 0


async def test_a_daily_refusal_is_not_retried_within_the_read(tmp_path: Path) -> None:
    sandbox = seeded()
    sandbox.daily_used = sandbox.daily_limit  # used up by other apps of the account
    reader = SOURCE.connect(connection(tmp_path, sandbox, portal_id="1002"))
    try:
        with pytest.raises(HubSpotError, match="daily API limit"):
            await read_all(reader, None)
    finally:
        await reader.aclose()
    assert sandbox.daily_refusals == 1


async def test_readers_of_one_account_share_its_limiters() -> None:
    burst, search = BURST_RATE, SEARCH_RATE
    one = account_limits(account_key("https://api.hubapi.com", "123", None), burst, search)
    again = account_limits(account_key("https://api.hubapi.com", "123", None), burst, search)
    other = account_limits(account_key("https://api.hubapi.com", "456", None), burst, search)
    assert one is again
    assert other is not one
    by_token = account_key("https://api.hubapi.com", None, "pat-na1-secret")
    assert "secret" not in by_token
    assert account_limits(by_token, burst, search) is account_limits(by_token, burst, search)


async def test_every_answer_but_a_searchs_tells_the_daily_allowance(tmp_path: Path) -> None:
    sandbox = seeded()
    reader = SOURCE.connect(connection(tmp_path, sandbox, portal_id="1003"))
    try:
        await read_all(reader, None)
    finally:
        await reader.aclose()
    key = account_key(SOURCE.sandbox_url, "1003", None)
    watched = account_limits(key, BURST_RATE, SEARCH_RATE)
    assert watched.daily_remaining == sandbox.daily_limit - sandbox.daily_used


async def test_a_used_up_second_makes_the_next_request_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(limits.asyncio, "sleep", sleep)
    watch = AccountLimits(RateLimiter(BURST_RATE), RateLimiter(SEARCH_RATE))
    watch.observe({"X-HubSpot-RateLimit-Secondly-Remaining": "3"})
    await watch.before_request()
    assert waited == []
    watch.observe({"X-HubSpot-RateLimit-Secondly-Remaining": "0"})
    await watch.before_request()
    await watch.before_request()  # one wait per "0" seen
    assert waited == [limits.SECOND]
    watch.observe({"X-HubSpot-RateLimit-Daily-Remaining": "not a number"})
    assert watch.daily_remaining is None


def test_outside_an_event_loop_the_limits_are_its_own() -> None:
    key = account_key("https://api.hubapi.com", "789", None)
    assert account_limits(key, BURST_RATE, SEARCH_RATE) is not account_limits(
        key, BURST_RATE, SEARCH_RATE
    )
    assert asyncio.iscoroutinefunction(AccountLimits.before_request)


def test_oauth_tokens_are_kept_per_portal(tmp_path: Path) -> None:
    base = tmp_path / "tokens" / "source-hubspot.json"
    assert portal_token_file(base, {}) == base
    assert portal_token_file(base, {"portal_id": "4711"}).name == "source-hubspot-4711.json"
    assert portal_token_file(base, {"portal_id": "4711"}) != portal_token_file(
        base, {"portal_id": "4712"}
    )
    with pytest.raises(ConfigurationError, match="not a HubSpot account id"):
        portal_token_file(base, {"portal_id": "../elsewhere"})


async def test_a_portals_refreshed_tokens_land_in_its_own_file(tmp_path: Path) -> None:
    sandbox = seeded(1)
    conn = connection(
        tmp_path,
        sandbox,
        portal_id="4711",
        refresh_token=TEST_REFRESH_TOKEN,
    )
    reader = SOURCE.connect(conn)
    try:
        await read_all(reader, None)
    finally:
        await reader.aclose()
    assert (tmp_path / "hubspot-tokens-4711.json").exists()
    assert not (tmp_path / "hubspot-tokens.json").exists()
