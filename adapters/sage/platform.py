"""Sage Business Cloud Accounting as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.adapters.sage.ledger import PRODUCTION_URL, SAGE_RATES, TOKEN_URL, SageLedger
from syncledger.adapters.sage.sandbox import server as sandbox
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter

API_PATH = "/v3.1"


class SagePlatform(kit.ScaledSandbox):
    id = "sage"
    title = "Sage Business Cloud Accounting"
    sandbox_url = "http://sage.sandbox.local"
    credential_names = ("client_id", "client_secret", "refresh_token", "business_id")
    requests_per_minute = SageLedger.capabilities.requests_per_minute
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        """``base_url``: Sage's API root, or a sandbox's address (its ``/v3.1`` is added)."""
        creds = connection.credentials
        root = connection.base_url.rstrip("/").removesuffix(API_PATH)
        live = root + API_PATH == PRODUCTION_URL
        if live and not kit.app_granted(connection):
            raise ConfigurationError(
                "set SYNCLEDGER_SAGE_CLIENT_ID and SYNCLEDGER_SAGE_CLIENT_SECRET, and run "
                "`syncledger connect sage` (or set SYNCLEDGER_SAGE_REFRESH_TOKEN), to talk to "
                "Sage Accounting"
            )
        token_url = TOKEN_URL if live else f"{root}/token"
        client = kit.oauth_client(connection, token_url, sandbox, credentials_in="body")
        auth = kit.refresh_auth(connection, client, sandbox)
        return SageLedger.connect(
            auth=auth,
            business_id=connection.tenant or creds.get("business_id") or None,
            base_url=root + API_PATH,
            transport=connection.transport,
            limiter=RateLimiter(*(rate.scaled(connection.rate_scale) for rate in SAGE_RATES)),
        )


PLATFORM = SagePlatform()
