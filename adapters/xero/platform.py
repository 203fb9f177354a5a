"""Xero as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from syncledger.adapters.kit import wire_oauth
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import RateLimiter, scaled_count
from syncledger.adapters.xero.ledger import CONCURRENT_CALLS, XERO_RATES, XeroLedger
from syncledger.adapters.xero.oauth import CONNECT
from syncledger.adapters.xero.sandbox import server as sandbox
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
        base = connection.base_url.rstrip("/")
        wire_oauth.live_granted(connection, CONNECT, base, tenant="tenant_id")
        tenant = connection.tenant or connection.credentials.get("tenant_id")
        return XeroLedger.connect(
            tenant_id=tenant or sandbox.DEFAULT_TENANT_ID,
            auth=wire_oauth.ledger_auth(connection, CONNECT, sandbox, base),
            base_url=base,
            transport=connection.transport,
            limiter=RateLimiter(*(rate.scaled(connection.rate_scale) for rate in XERO_RATES)),
            concurrency=scaled_count(CONCURRENT_CALLS, connection.rate_scale),
        )


PLATFORM = XeroPlatform()
