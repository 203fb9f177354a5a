"""How FreshBooks is connected: FreshBooks' OAuth 2.0 authorization-code flow.

Facts and where they come from:

- Authorization endpoint ``https://auth.freshbooks.com/service/auth/oauth/authorize``
  (``AUTH_BASE_URL`` + ``AUTH_URL``) with ``client_id``, ``response_type=code``,
  ``redirect_uri`` and an optional space-separated ``scope``; token endpoint
  ``https://api.freshbooks.com/auth/oauth/token`` (the adapter's ``TOKEN_URL``), the
  client id and secret and the ``redirect_uri`` in the form of every grant: the Python SDK
  FreshBooks documents, amcintosh/freshbooks-python-sdk ``freshbooks/client.py``
  (``get_auth_request_url``, ``_authorize_call``).
- The redirect URI must be one the app registered (same SDK: "The ``redirect_uri`` must
  be one of the URLs your application is registered for"), so ``connect`` uses
  ``SYNCLEDGER_FRESHBOOKS_REDIRECT_URI`` (which every refresh needs anyway) or
  ``--redirect-uri``; an address that is not on this machine is pasted back.
- Scopes: "If scopes are not specified, then the access token will be given the default
  scopes your application is registered for" (same SDK). FreshBooks' scope list
  (freshbooks.com/api/scopes) is chosen when the app is registered, so none is sent: the
  safe path, the grant is exactly what the app's owner ticked.
- The account: ``GET https://api.freshbooks.com/auth/api/v1/users/me`` ("me endpoint",
  freshbooks.com/api/me_endpoint; SDK ``freshbooks/api/auth.py`` ``me_endpoint``)
  answers ``{"response": {..., "business_memberships": [{"business": {"id", "name",
  "account_id"}, "role"}]}}`` (SDK ``models.Identity.business_memberships``; the field
  names inside ``business`` from integrators' code, 3P): the accounting API is addressed
  by ``account_id``.
- PKCE: no FreshBooks page or SDK found documents it, so none is sent. A refresh token's
  lifetime: not documented (none assumed; ``connections`` shows connected until a
  refresh is refused).

A sandbox served with ``syncledger sandbox freshbooks --port N`` answers the same flow at
``/service/auth/oauth/authorize``, ``/auth/oauth/token`` and ``/auth/api/v1/users/me``.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.freshbooks.ledger import PRODUCTION_URL, TOKEN_URL
from syncledger.adapters.freshbooks.sandbox import server as sandbox
from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Tenant,
)

AUTHORIZE_URL = "https://auth.freshbooks.com/service/auth/oauth/authorize"
IDENTITY_PATH = "/auth/api/v1/users/me"


def accounts_of(body: Any) -> list[Tenant]:
    """The accounts of the identity's business memberships (each once)."""
    identity = body.get("response") if isinstance(body, dict) else None
    rows = identity.get("business_memberships") if isinstance(identity, dict) else None
    found: dict[str, Tenant] = {}
    for row in rows if isinstance(rows, list) else []:
        business = row.get("business") if isinstance(row, dict) else None
        if isinstance(business, dict) and business.get("account_id"):
            account = str(business["account_id"])
            found.setdefault(account, Tenant(account, business.get("name")))
    return list(found.values())


CONNECT = OAuthPlatform(
    id="freshbooks",
    title="FreshBooks",
    tenant_word="account",
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_url=PRODUCTION_URL,
    scopes=(),
    pkce=False,
    sandbox=kit.sandbox_login(sandbox, sandbox.DEFAULT_ACCOUNT_ID, sandbox.DEFAULT_REDIRECT_URI),
    sandbox_paths=("/service/auth/oauth/authorize", "/auth/oauth/token"),
    live=lambda url: url == PRODUCTION_URL,
    lookup=kit.listed_tenants(lambda api: api + IDENTITY_PATH, "FreshBooks", accounts_of),
    credentials_in="body",
)
