"""How Zoho Books is connected: Zoho Accounts' OAuth 2.0 authorization-code flow.

Facts and where they come from:

- Authorization endpoint ``https://accounts.zoho.com/oauth/v2/auth`` with ``scope``,
  ``client_id``, ``response_type=code``, ``redirect_uri``, ``state`` and
  ``access_type=offline`` (without it no refresh token is given); ``prompt=consent`` so a
  new connection gets a new refresh token ("To receive another refresh token, include
  access_type=offline and prompt=consent"); several scopes are separated by commas; the
  code is exchanged at ``/oauth/v2/token`` with the client id and secret in the form:
  zoho.com/books/api/v3/oauth (Steps 2-3), zoho.com/accounts/protocol/oauth/
  web-apps/authorization.html, "Identify User Location" (zoho.com/commerce/api/
  identify-user-location.html).
- Data centres: the authorization request goes to accounts.zoho.com; the redirect names
  the user's data centre (``location``) and its accounts server (``accounts-server``,
  e.g. ``https://accounts.zoho.eu``), where the code must be exchanged
  (zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html; the accounts
  servers: …/oauth/multi-dc.html). An ``accounts-server`` outside Zoho's listed ones is
  ignored (the client secret is never sent elsewhere) and the data centre of
  ``SYNCLEDGER_LEDGER_URL`` (``www.zohoapis.<dc>`` → ``accounts.zoho.<dc>``) is used.
- Scopes ``ZohoBooks.<module>.<OPERATION>`` (zoho.com/accounts/protocol/oauth/
  scope.html: "ALL gives access to perform all operations"), one for each module the
  adapter calls: contacts, invoices, customerpayments, creditnotes, settings (items,
  taxes, currencies, organisations: "oauthscope : ZohoBooks.settings.READ" for
  ``GET /organizations``, zoho.com/books/api/v3/introduction) and banking (read: bank
  accounts for refunds). Zoho documents no single full-access scope for Books (3P:
  docs.unified.to, zoho-books-oauth-app), so none is asked for.
- The organisation: ``GET /books/v3/organizations`` answers ``organizations: [{
  organization_id, name, ...}]`` (zoho.com/books/api/v3/introduction, "Organization
  ID"; the sample answer of zoho.com/deluge/help/books/get-organizations.html); every
  request then carries ``organization_id``.
- Refresh tokens do not rotate and last until revoked (the sandbox's
  ``oauth.py``; Zoho keeps at most 20 per user, 3P): no lifetime is assumed.
- PKCE: not documented for server-based clients, so none is sent.

A sandbox served with ``syncledger sandbox zoho-books --port N`` answers the same flow at
``/oauth/v2/auth``, ``/oauth/v2/token`` and ``/books/v3/organizations``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Redirect,
    Tenant,
)
from syncledger.adapters.zoho.ledger import PRODUCTION_URL, TOKEN_URL
from syncledger.adapters.zoho.sandbox import server as sandbox

AUTHORIZE_URL = "https://accounts.zoho.com/oauth/v2/auth"
SCOPES = (
    "ZohoBooks.contacts.ALL",
    "ZohoBooks.invoices.ALL",
    "ZohoBooks.customerpayments.ALL",
    "ZohoBooks.creditnotes.ALL",
    "ZohoBooks.settings.ALL",
    "ZohoBooks.banking.READ",
)
#: Zoho's accounts servers (multi-dc.html and the Bigin data-centre table)
ACCOUNTS_SERVERS = frozenset(
    f"accounts.{domain}"
    for domain in (
        "zoho.com",
        "zoho.eu",
        "zoho.in",
        "zoho.com.au",
        "zoho.jp",
        "zoho.sa",
        "zoho.uk",
        "zoho.com.cn",
        "zohocloud.ca",
    )
)


def is_zoho(api: str) -> bool:
    """Whether ``api`` is one of Zoho's API addresses (``www.zohoapis.<dc>``)."""
    host = urlsplit(api).hostname or ""
    return host.startswith("www.zohoapis.") or host.startswith("zohoapis.")


def accounts_token_url(api: str) -> str:
    """Zoho Accounts of the API's data centre (zohoapis.eu → accounts.zoho.eu)."""
    suffix = (urlsplit(api).hostname or "").split("zohoapis.", 1)[1]
    return f"https://accounts.zoho.{suffix}/oauth/v2/token"


def _exchange_at(ledger_url: str | None, redirect: Redirect) -> str | None:
    """The user's accounts server as the redirect names it, when it is one of Zoho's;
    else the data centre of the ledger URL."""
    named = urlsplit(redirect.params.get("accounts-server", ""))
    if named.scheme == "https" and named.hostname in ACCOUNTS_SERVERS:
        return f"https://{named.hostname}/oauth/v2/token"
    return accounts_token_url(ledger_url.rstrip("/")) if ledger_url else None


def organizations_of(body: Any) -> list[Tenant]:
    rows = body.get("organizations") if isinstance(body, dict) else None
    return kit.tenants_in(rows, "organization_id", "name")


CONNECT = OAuthPlatform(
    id="zoho-books",
    title="Zoho Books",
    tenant_word="organization",
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_url=PRODUCTION_URL,
    scopes=SCOPES,
    pkce=False,
    sandbox=kit.sandbox_login(sandbox, sandbox.DEFAULT_ORGANIZATION_ID),
    sandbox_paths=("/oauth/v2/auth", "/oauth/v2/token"),
    live=is_zoho,
    lookup=kit.listed_tenants(
        lambda api: f"{api}/books/v3/organizations",
        "Zoho Books",
        organizations_of,
        "Zoho-oauthtoken",
    ),
    credentials_in="body",
    params=(("access_type", "offline"), ("prompt", "consent")),
    scope_separator=",",
    exchange_url=_exchange_at,
)
