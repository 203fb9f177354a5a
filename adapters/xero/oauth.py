"""How Xero is connected: Xero identity's OAuth 2.0 authorization-code flow with PKCE.

Facts and where they come from:

- Authorization endpoint ``https://login.xero.com/identity/connect/authorize``, token
  endpoint ``https://identity.xero.com/connect/token``: the ``OAuth2`` security scheme
  (``authorizationUrl``, ``tokenUrl``) of XeroAPI/Xero-OpenAPI ``xero_accounting.yaml``.
- Scopes: ``offline_access`` (the refresh token), ``accounting.transactions``,
  ``accounting.contacts``, ``accounting.settings`` (the scopes of the operations the
  adapter calls, same spec; ``offline_access``: "Maintain a refresh token").
- PKCE (``code_challenge``, ``code_challenge_method=S256``, ``code_verifier``): Xero's
  "PKCE flow", recommended for desktop apps (XeroAPI/Xero-NetStandard README, "Authenticate
  using PKCE flow"). Sent together with the client secret of a web app.
- Tenants: ``GET https://api.xero.com/connections`` with the new access token answers
  ``[{id, tenantId, tenantName, tenantType, …}]`` (XeroAPI/Xero-OpenAPI
  ``xero-identity.yaml``, ``getConnections``); organisations are ``tenantType``
  ``ORGANISATION``. Every API call then names one in ``Xero-Tenant-Id``.
- Refresh tokens rotate and last 60 days (../shared/PLATFORMS.md, Xero: "refresh rotates
  and lasts 60 days", airbyte PR #18666).

A sandbox served with ``syncledger sandbox xero --port N`` answers the same flow at
``/identity/connect/authorize``, ``/connect/token`` and ``/connections``.
"""

from __future__ import annotations

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Tenant,
)
from syncledger.adapters.xero.ledger import PRODUCTION_URL, TOKEN_URL
from syncledger.adapters.xero.sandbox import server as sandbox

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
SCOPES = ("offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings")
REFRESH_TTL = 60 * 86400.0


def _organisations(body: object) -> list[Tenant]:
    rows = body if isinstance(body, list) else []
    return [
        Tenant(str(row["tenantId"]), row.get("tenantName"))
        for row in rows
        if isinstance(row, dict) and row.get("tenantType", "ORGANISATION") == "ORGANISATION"
    ]


CONNECT = OAuthPlatform(
    id="xero",
    title="Xero",
    tenant_word="tenant",
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_url=PRODUCTION_URL,
    scopes=SCOPES,
    pkce=True,
    sandbox=kit.sandbox_login(sandbox, sandbox.DEFAULT_TENANT_ID),
    sandbox_paths=("/identity/connect/authorize", "/connect/token"),
    live=lambda url: url == PRODUCTION_URL,
    lookup=kit.listed_tenants(lambda api: f"{api}/connections", "Xero", _organisations),
    refresh_ttl=REFRESH_TTL,
)
