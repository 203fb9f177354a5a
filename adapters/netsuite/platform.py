"""NetSuite (REST web services, token-based authentication) as a
:class:`syncledger.adapters.platforms.Platform`.

A live account is reached at ``https://<account>.suitetalk.api.netsuite.com`` with
``SYNCLEDGER_NETSUITE_ACCOUNT_ID``, ``…_CONSUMER_KEY``, ``…_CONSUMER_SECRET``,
``…_TOKEN_ID`` and ``…_TOKEN_SECRET``; ``…_CONCURRENCY`` sets this integration's share of
the account's concurrent requests (default 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.netsuite.auth import TbaAuth, TbaCredentials, host_of
from syncledger.adapters.netsuite.ledger import (
    DEFAULT_CONCURRENCY,
    DEFAULT_PER_MINUTE,
    NetSuiteLedger,
)
from syncledger.adapters.netsuite.sandbox import server as sandbox
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import Rate, RateLimiter, scaled_count
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter

LIVE_DOMAIN = ".suitetalk.api.netsuite.com"
SECRETS = ("consumer_key", "consumer_secret", "token_id", "token_secret")


def live_url(account_id: str) -> str:
    return f"https://{host_of(account_id)}{LIVE_DOMAIN}"


class NetSuitePlatform(kit.ScaledSandbox):
    id = "netsuite"
    title = "NetSuite"
    sandbox_url = "http://netsuite.sandbox.local"
    credential_names = ("account_id", *SECRETS, "concurrency")
    requests_per_minute = DEFAULT_PER_MINUTE
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        base = connection.base_url.rstrip("/")
        host = urlsplit(base).hostname or ""
        live = host.endswith(LIVE_DOMAIN)
        creds = connection.credentials
        credentials = _live(creds, host, connection.tenant) if live else _sandbox(creds)
        scale = connection.rate_scale
        return NetSuiteLedger.connect(
            auth=TbaAuth(credentials),
            base_url=base,
            transport=connection.transport,
            limiter=RateLimiter(Rate(DEFAULT_PER_MINUTE, 60.0).scaled(scale)),
            concurrency=asyncio.Semaphore(scaled_count(_concurrency(creds), scale)),
        )


def _live(creds: Mapping[str, str], host: str, tenant: str | None) -> TbaCredentials:
    missing = [name for name in SECRETS if not creds.get(name)]
    if missing:
        names = ", ".join(f"SYNCLEDGER_NETSUITE_{n.upper()}" for n in missing)
        raise ConfigurationError(f"set {names} to talk to NetSuite (a TBA access token)")
    account = creds.get("account_id") or tenant or host.removesuffix(LIVE_DOMAIN)
    return TbaCredentials(
        account_id=account,
        consumer_key=creds["consumer_key"],
        consumer_secret=SecretStr(creds["consumer_secret"]),
        token_id=creds["token_id"],
        token_secret=SecretStr(creds["token_secret"]),
    )


def _sandbox(creds: Mapping[str, str]) -> TbaCredentials:
    return TbaCredentials(
        account_id=creds.get("account_id") or sandbox.DEFAULT_ACCOUNT_ID,
        consumer_key=creds.get("consumer_key") or sandbox.DEFAULT_CONSUMER_KEY,
        consumer_secret=SecretStr(creds.get("consumer_secret") or sandbox.DEFAULT_CONSUMER_SECRET),
        token_id=creds.get("token_id") or sandbox.DEFAULT_TOKEN_ID,
        token_secret=SecretStr(creds.get("token_secret") or sandbox.DEFAULT_TOKEN_SECRET),
    )


def _concurrency(creds: Mapping[str, str]) -> int:
    hint = "set this integration's share of the account's concurrent requests"
    return kit.whole_setting(creds, "netsuite", "concurrency", DEFAULT_CONCURRENCY, hint)


PLATFORM = NetSuitePlatform()
