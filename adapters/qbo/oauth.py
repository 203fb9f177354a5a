"""How QuickBooks Online is connected: Intuit's OAuth 2.0 authorization-code flow.

Facts and where they come from:

- Authorization endpoint ``https://appcenter.intuit.com/connect/oauth2``; token endpoint
  ``https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer`` (also the adapter's
  ``TOKEN_URL``); client credentials in HTTP Basic; the authorization request carries
  ``client_id``, ``response_type=code``, ``scope``, ``redirect_uri``, ``state``: Intuit's
  official client intuit/oauth-jsclient ``src/OAuthClient.js`` (``authorizeEndpoint``,
  ``tokenEndpoint``, ``authorizeUri``, ``createToken``) and intuit/oauth-pythonclient
  ``intuitlib/client.py`` (``get_authorization_url``, ``get_bearer_token``).
- Scope ``com.intuit.quickbooks.accounting`` (``OAuthClient.scopes.Accounting``, same file;
  developer.intuit.com …/authentication-and-authorization/oauth-2.0: "select the
  QuickBooks Online Accounting scope").
- The company is the ``realmId`` parameter of the redirect (``createToken`` reads
  ``params.realmId``; intuit/oauth-rubyclient#18: "the query to the server callback
  includes the realm_id query param").
- The token answer's ``x_refresh_token_expires_in`` says how long the refresh token
  lasts (read from the answer, not assumed).
- PKCE: none of Intuit's clients or pages found documents it, so it is not sent (the safe
  path: the flow works as Intuit's own clients run it). The sandbox checks PKCE only when
  a challenge is sent.

A sandbox served with ``syncledger sandbox qbo --port N`` answers the same flow at
``/connect/oauth2`` and ``/oauth2/v1/tokens/bearer`` under its own address.
"""

from __future__ import annotations

import httpx

from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import (
    AuthorizationServer,
    Redirect,
    SandboxLogin,
    Tenant,
)
from syncledger.adapters.qbo.ledger import PRODUCTION_URL, SANDBOX_URL, TOKEN_URL
from syncledger.adapters.qbo.sandbox import server as sandbox

AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPES = ("com.intuit.quickbooks.accounting",)
_INTUIT_HOSTS = (PRODUCTION_URL, SANDBOX_URL)  # Intuit's own sandbox companies use Intuit's OAuth


class QboConnect:
    id = "qbo"
    title = "QuickBooks Online"
    tenant_word = "realm"
    refresh_ttl: float | None = None  # told by each token answer (x_refresh_token_expires_in)
    sandbox = SandboxLogin(
        sandbox.DEFAULT_CLIENT_ID, sandbox.DEFAULT_CLIENT_SECRET, "sandbox-realm"
    )

    def is_sandbox(self, ledger_url: str | None) -> bool:
        return ledger_url is not None and ledger_url.rstrip("/") not in _INTUIT_HOSTS

    def server(self, ledger_url: str | None) -> AuthorizationServer:
        if not self.is_sandbox(ledger_url):
            return AuthorizationServer(AUTHORIZE_URL, TOKEN_URL, SCOPES, pkce=False)
        base = str(ledger_url).rstrip("/")
        return AuthorizationServer(
            f"{base}/connect/oauth2", f"{base}/oauth2/v1/tokens/bearer", SCOPES, pkce=False
        )

    async def tenants(
        self, http: httpx.AsyncClient, ledger_url: str | None, tokens: TokenSet, redirect: Redirect
    ) -> list[Tenant]:
        realm = redirect.params.get("realmId")
        return [Tenant(realm)] if realm else []


CONNECT = QboConnect()
