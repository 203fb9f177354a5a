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

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import OAuthPlatform, Redirect, Tenant
from syncledger.adapters.qbo.ledger import PRODUCTION_URL, SANDBOX_URL, TOKEN_URL
from syncledger.adapters.qbo.sandbox import server as sandbox

AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPES = ("com.intuit.quickbooks.accounting",)
_INTUIT_HOSTS = (PRODUCTION_URL, SANDBOX_URL)  # Intuit's own sandbox companies use Intuit's OAuth


async def _realm(
    http: httpx.AsyncClient, api: str, tokens: TokenSet, redirect: Redirect
) -> list[Tenant]:
    realm = redirect.params.get("realmId")
    return [Tenant(realm)] if realm else []


CONNECT = OAuthPlatform(
    id="qbo",
    title="QuickBooks Online",
    tenant_word="realm",
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_url=PRODUCTION_URL,
    scopes=SCOPES,
    pkce=False,
    sandbox=kit.sandbox_login(sandbox, "sandbox-realm"),
    sandbox_paths=("/connect/oauth2", "/oauth2/v1/tokens/bearer"),
    live=lambda url: url in _INTUIT_HOSTS,
    lookup=_realm,
    refresh_ttl=None,  # told by each token answer (x_refresh_token_expires_in)
)
