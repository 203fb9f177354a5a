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

import httpx

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import (
    AuthorizationServer,
    Redirect,
    SandboxLogin,
    Tenant,
)
from syncledger.adapters.xero.ledger import PRODUCTION_URL, TOKEN_URL
from syncledger.adapters.xero.sandbox import server as sandbox
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.redact import mask_url

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
SCOPES = ("offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings")
REFRESH_TTL = 60 * 86400.0


class XeroConnect:
    id = "xero"
    title = "Xero"
    tenant_word = "tenant"
    refresh_ttl: float | None = REFRESH_TTL
    sandbox = SandboxLogin(
        sandbox.DEFAULT_CLIENT_ID, sandbox.DEFAULT_CLIENT_SECRET, sandbox.DEFAULT_TENANT_ID
    )

    def is_sandbox(self, ledger_url: str | None) -> bool:
        return ledger_url is not None and ledger_url.rstrip("/") != PRODUCTION_URL

    def server(self, ledger_url: str | None) -> AuthorizationServer:
        if not self.is_sandbox(ledger_url):
            return AuthorizationServer(AUTHORIZE_URL, TOKEN_URL, SCOPES, pkce=True)
        base = str(ledger_url).rstrip("/")
        return AuthorizationServer(
            f"{base}/identity/connect/authorize", f"{base}/connect/token", SCOPES, pkce=True
        )

    async def tenants(
        self, http: httpx.AsyncClient, ledger_url: str | None, tokens: TokenSet, redirect: Redirect
    ) -> list[Tenant]:
        url = f"{(ledger_url or PRODUCTION_URL).rstrip('/')}/connections"
        headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
        try:
            response = await http.get(url, headers=headers)
        except httpx.TransportError as exc:
            raise TransientLedgerError(
                f"{mask_url(url)} unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise PermanentLedgerError(
                f"Xero answered HTTP {response.status_code} to GET /connections",
                code=str(response.status_code),
            )
        return _organisations(decode_json(response.content))


def _organisations(body: object) -> list[Tenant]:
    rows = body if isinstance(body, list) else []
    return [
        Tenant(str(row["tenantId"]), row.get("tenantName"))
        for row in rows
        if isinstance(row, dict) and row.get("tenantType", "ORGANISATION") == "ORGANISATION"
    ]


CONNECT = XeroConnect()
