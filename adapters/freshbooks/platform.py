"""FreshBooks as a :class:`syncledger.adapters.platforms.Platform`.

Live settings (``SYNCLEDGER_FRESHBOOKS_<NAME>``): ``CLIENT_ID``, ``CLIENT_SECRET``,
``REFRESH_TOKEN``, ``ACCOUNT_ID`` and ``REDIRECT_URI`` (the app's registered redirect URI,
sent with every token grant as FreshBooks' SDKs do; they refuse to refresh without it);
optional ``REQUESTS_PER_MINUTE`` (default 100: FreshBooks' limit is not published, the
figure is unverified). Against a sandbox, missing credentials are the sandbox's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from syncledger.adapters.freshbooks.ledger import (
    DEFAULT_REQUESTS_PER_MINUTE,
    FreshBooksLedger,
    FreshBooksOAuthClient,
)
from syncledger.adapters.freshbooks.oauth import CONNECT
from syncledger.adapters.freshbooks.sandbox import server as sandbox
from syncledger.adapters.kit import wire_oauth
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import scaled_count
from syncledger.core.ports import LedgerAdapter

_REQUIRED_LIVE = ("client_id", "client_secret", "refresh_token", "account_id", "redirect_uri")


class FreshBooksPlatform(kit.ScaledSandbox):
    id = "freshbooks"
    title = "FreshBooks"
    sandbox_url = "http://freshbooks.sandbox.local"
    credential_names = (*_REQUIRED_LIVE, "requests_per_minute")
    requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        creds = connection.credentials
        base = connection.base_url.rstrip("/")
        wire_oauth.live_granted(
            connection, CONNECT, base, app=("redirect_uri",), tenant="account_id"
        )
        client = _oauth_client(creds, CONNECT.server(base).token_url)
        auth = kit.refresh_auth(connection, client, sandbox)
        per_minute = kit.whole_setting(
            creds, self.id, "requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE
        )
        return FreshBooksLedger.connect(
            account_id=connection.tenant or creds.get("account_id") or sandbox.DEFAULT_ACCOUNT_ID,
            auth=auth,
            base_url=base,
            transport=connection.transport,
            requests_per_minute=scaled_count(per_minute, connection.rate_scale),
        )


def _oauth_client(creds: Mapping[str, str], token_url: str) -> FreshBooksOAuthClient:
    return FreshBooksOAuthClient(
        token_url=token_url,
        client_id=creds.get("client_id") or sandbox.DEFAULT_CLIENT_ID,
        client_secret=SecretStr(creds.get("client_secret") or sandbox.DEFAULT_CLIENT_SECRET),
        redirect_uri=creds.get("redirect_uri") or sandbox.DEFAULT_REDIRECT_URI,
    )


PLATFORM = FreshBooksPlatform()
