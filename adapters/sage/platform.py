"""Sage Business Cloud Accounting as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from syncledger.adapters.kit import wire_oauth
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.adapters.sage.ledger import SAGE_RATES, SageLedger
from syncledger.adapters.sage.oauth import API_PATH, CONNECT
from syncledger.adapters.sage.sandbox import server as sandbox
from syncledger.core.ports import LedgerAdapter


class SagePlatform(kit.ScaledSandbox):
    id = "sage"
    title = "Sage Business Cloud Accounting"
    sandbox_url = "http://sage.sandbox.local"
    credential_names = ("client_id", "client_secret", "refresh_token", "business_id")
    requests_per_minute = SageLedger.capabilities.requests_per_minute
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        """``base_url``: Sage's API root, or a sandbox's address (its ``/v3.1`` is added)."""
        root = connection.base_url.rstrip("/").removesuffix(API_PATH)
        wire_oauth.live_granted(connection, CONNECT, root)
        return SageLedger.connect(
            auth=wire_oauth.ledger_auth(connection, CONNECT, sandbox, root),
            business_id=connection.tenant or connection.credentials.get("business_id") or None,
            base_url=root + API_PATH,
            transport=connection.transport,
            limiter=RateLimiter(*(rate.scaled(connection.rate_scale) for rate in SAGE_RATES)),
        )


PLATFORM = SagePlatform()
