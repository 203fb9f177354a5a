"""Zoho Books as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette

from syncledger.adapters.kit import wire_oauth
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection, checked_rate_scale
from syncledger.adapters.ratelimit import RateLimiter, scaled_count
from syncledger.adapters.zoho.ledger import (
    FREE_DAILY_LIMIT,
    PAID_CONCURRENCY,
    ZohoLedger,
    zoho_rates,
)
from syncledger.adapters.zoho.oauth import CONNECT, accounts_token_url
from syncledger.adapters.zoho.sandbox import server as sandbox
from syncledger.core.ports import LedgerAdapter

#: the sandbox's own daily cap (the highest plan's), so the demo is not held to Free's
SANDBOX_DAILY_LIMIT = 10_000
REQUIRED = ("client_id", "client_secret", "refresh_token", "organization_id")


class ZohoPlatform(kit.ServedSandbox):
    id = "zoho-books"
    title = "Zoho Books"
    sandbox_url = "http://zoho-books.sandbox.local"
    credential_names = (*REQUIRED, "accounts_url", "daily_limit")
    requests_per_minute = ZohoLedger.capabilities.requests_per_minute
    server = sandbox

    def sandbox_app(
        self, book: Path | None, *, home_currency: str = "USD", rate_scale: float = 1.0
    ) -> Starlette:
        return sandbox.create_app(
            book,
            home_currency=home_currency,
            daily_limit=SANDBOX_DAILY_LIMIT,
            rate_scale=checked_rate_scale(rate_scale),
        )

    def connect(self, connection: Connection) -> LedgerAdapter:
        creds = connection.credentials
        base = connection.base_url.rstrip("/")
        live = wire_oauth.live_granted(connection, CONNECT, base, tenant="organization_id")
        token_url = creds.get("accounts_url") or (accounts_token_url(base) if live else None)
        auth = wire_oauth.ledger_auth(
            connection, CONNECT, sandbox, base, token_url=token_url, scheme="Zoho-oauthtoken"
        )
        return ZohoLedger.connect(
            organization_id=connection.tenant
            or creds.get("organization_id")
            or sandbox.DEFAULT_ORGANIZATION_ID,
            auth=auth,
            base_url=base,
            transport=connection.transport,
            limiter=_limiter(_daily_limit(creds, live), connection.rate_scale),
            concurrency=scaled_count(PAID_CONCURRENCY, connection.rate_scale),
        )


def _limiter(daily_limit: int, rate_scale: float) -> RateLimiter:
    """Zoho's published per-minute rate and the plan's daily cap, times ``rate_scale``."""
    return RateLimiter(*(rate.scaled(rate_scale) for rate in zoho_rates(daily_limit=daily_limit)))


def _daily_limit(creds: Mapping[str, str], live: bool) -> int:
    default = FREE_DAILY_LIMIT if live else SANDBOX_DAILY_LIMIT
    hint = "give your plan's daily API call limit (Free 1000 ... 10000)"
    return kit.whole_setting(creds, "zoho-books", "daily_limit", default, hint)


PLATFORM = ZohoPlatform()
