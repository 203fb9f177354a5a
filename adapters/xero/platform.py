"""Xero as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import RateLimiter, scaled_count
from syncledger.adapters.xero.ledger import (
    CONCURRENT_CALLS,
    PRODUCTION_URL,
    TOKEN_URL,
    XERO_RATES,
    XeroLedger,
)
from syncledger.adapters.xero.sandbox import server as sandbox
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter

_LIVE_SETTINGS = ("client_id", "client_secret", "refresh_token", "tenant_id")


class XeroPlatform(kit.ScaledSandbox):
    id = "xero"
    title = "Xero"
    sandbox_url = "http://xero.sandbox.local"
    credential_names = _LIVE_SETTINGS
    requests_per_minute = XeroLedger.capabilities.requests_per_minute
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        creds = connection.credentials
        base = connection.base_url.rstrip("/")
        live = base == PRODUCTION_URL
        tenant = connection.tenant or creds.get("tenant_id")
        if live and not (tenant and kit.app_granted(connection)):
            raise ConfigurationError(
                "set SYNCLEDGER_XERO_CLIENT_ID and SYNCLEDGER_XERO_CLIENT_SECRET, and run "
                "`syncledger connect xero` (or set SYNCLEDGER_XERO_REFRESH_TOKEN and "
                "SYNCLEDGER_XERO_TENANT_ID), to talk to Xero"
            )
        token_url = TOKEN_URL if live else f"{base}/connect/token"
        client = kit.oauth_client(connection, token_url, sandbox)
        auth = kit.refresh_auth(connection, client, sandbox)
        return XeroLedger.connect(
            tenant_id=tenant or sandbox.DEFAULT_TENANT_ID,
            auth=auth,
            base_url=base,
            transport=connection.transport,
            limiter=RateLimiter(*(rate.scaled(connection.rate_scale) for rate in XERO_RATES)),
            concurrency=scaled_count(CONCURRENT_CALLS, connection.rate_scale),
        )


PLATFORM = XeroPlatform()
