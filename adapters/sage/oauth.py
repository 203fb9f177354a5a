"""How Sage Business Cloud Accounting is connected: Sage's OAuth 2.0 authorization-code
flow.

Facts and where they come from:

- Authorization endpoint ``https://www.sageone.com/oauth2/auth/central?filter=apiv3.1``
  with ``response_type=code``, ``client_id``, ``redirect_uri``, ``scope`` and ``state``;
  token endpoint ``https://oauth.accounting.sage.com/token`` (the adapter's
  ``TOKEN_URL``); scope ``full_access``: Sage's own sample, Sage/sbca_api_python_sample
  ``config.py`` (``auth_url``, ``token_url``, ``scope``). The client's credentials go in
  the form, as the adapter's refresh sends them.
- ``state``: "We highly recommend using the state parameter" (developer.sage.com,
  Accounting, Key concepts, Best Practices, "Authorization").
- The business: "it is not possible to determine during authentication if the
  authenticated user has access to more than a single business"; ``GET /businesses``
  "will return all businesses accessible to the authenticated user", each
  ``{"id", "displayed_as", "$path"}`` in ``$items`` (developer.sage.com, Multi Business;
  Best Practices). Requests then name one in ``X-Business``; without it they go to the
  lead business (announcement 2019-03-27, ``GET /businesses/lead``).
- How long a refresh token lasts: read from the token answer's
  ``refresh_token_expires_in`` when it is there (the sandbox answers 31 days, as its
  docstring says); none is assumed otherwise.
- PKCE: none of Sage's pages or samples found documents it, so none is sent.

A sandbox served with ``syncledger sandbox sage --port N`` answers the same flow at
``/oauth2/auth/central``, ``/token`` and ``/v3.1/businesses``.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Tenant,
)
from syncledger.adapters.sage.ledger import PRODUCTION_URL, TOKEN_URL
from syncledger.adapters.sage.sandbox import server as sandbox

AUTHORIZE_URL = "https://www.sageone.com/oauth2/auth/central?filter=apiv3.1"
SCOPES = ("full_access",)
API_PATH = "/v3.1"


def _live(url: str) -> bool:
    return url.removesuffix(API_PATH) + API_PATH == PRODUCTION_URL


def businesses_of(body: Any) -> list[Tenant]:
    rows = body.get("$items") if isinstance(body, dict) else None
    return kit.tenants_in(rows, "id", "displayed_as")


CONNECT = OAuthPlatform(
    id="sage",
    title="Sage Business Cloud Accounting",
    tenant_word="business",
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_url=PRODUCTION_URL,
    scopes=SCOPES,
    pkce=False,
    sandbox=kit.sandbox_login(sandbox, sandbox.DEFAULT_BUSINESS_ID),
    sandbox_paths=("/oauth2/auth/central", "/token"),
    live=_live,
    lookup=kit.listed_tenants(
        lambda api: api.removesuffix(API_PATH) + API_PATH + "/businesses", "Sage", businesses_of
    ),
    credentials_in="body",
)
