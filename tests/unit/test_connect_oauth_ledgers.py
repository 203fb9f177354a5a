"""``syncledger connect`` for FreshBooks, Zoho Books and Sage against their sandboxes in
process: each authorization URL carries what the platform documents (state always, PKCE
never, Zoho's offline access and comma-separated scopes), the sandbox consents and the
code is exchanged once for tokens, the tenant comes from the platform's own endpoint
(FreshBooks' identity, Zoho's organisations, Sage's businesses), Zoho's code goes to the
data centre the redirect names only when it is Zoho's, and a live ledger opens on the
stored tokens and tenant without a refresh-token variable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.freshbooks.oauth import CONNECT as FRESHBOOKS
from syncledger.adapters.freshbooks.platform import PLATFORM as FRESHBOOKS_PLATFORM
from syncledger.adapters.freshbooks.sandbox import server as freshbooks_sandbox
from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, TokenSet
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Redirect,
    Tenant,
    authorization_request,
    exchange_code,
    redirect_of,
)
from syncledger.adapters.platforms import Connection
from syncledger.adapters.sage.oauth import CONNECT as SAGE
from syncledger.adapters.sage.platform import PLATFORM as SAGE_PLATFORM
from syncledger.adapters.sage.sandbox import server as sage_sandbox
from syncledger.adapters.zoho.oauth import CONNECT as ZOHO
from syncledger.adapters.zoho.platform import PLATFORM as ZOHO_PLATFORM
from syncledger.adapters.zoho.sandbox import server as zoho_sandbox
from syncledger.core.errors import AuthExpiredError, ConfigurationError

BASE = "http://ledger.test"
LOOPBACK = "http://127.0.0.1:9/callback"

CASES: dict[str, tuple[OAuthPlatform, Callable[[], Starlette], Tenant]] = {
    "freshbooks": (
        FRESHBOOKS,
        lambda: freshbooks_sandbox.create_app(None),
        Tenant(freshbooks_sandbox.DEFAULT_ACCOUNT_ID, "syncledger sandbox"),
    ),
    "zoho-books": (
        ZOHO,
        lambda: zoho_sandbox.create_app(None),
        Tenant(zoho_sandbox.DEFAULT_ORGANIZATION_ID, "syncledger sandbox"),
    ),
    "sage": (
        SAGE,
        lambda: sage_sandbox.create_app(None),
        Tenant(sage_sandbox.DEFAULT_BUSINESS_ID, "syncledger sandbox"),
    ),
}


def _http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def _client(spec: OAuthPlatform) -> OAuth2Client:
    secret = SecretStr(spec.sandbox.client_secret)
    server = spec.server(BASE)
    return OAuth2Client(server.token_url, spec.sandbox.client_id, secret, spec.credentials_in)


@pytest.mark.parametrize("ledger", list(CASES))
def test_a_sandbox_consents_the_code_works_once_and_names_the_tenant(ledger: str) -> None:
    spec, make_app, tenant = CASES[ledger]
    redirect_uri = spec.sandbox.redirect_uri or LOOPBACK

    async def go() -> None:
        async with _http(make_app()) as http:
            request = authorization_request(spec.server(BASE), spec.sandbox.client_id, redirect_uri)
            answer = await http.get(request.url)
            assert answer.status_code == 302, answer.text
            redirect = redirect_of(request, answer.headers["location"])
            granted = await exchange_code(http, _client(spec), request, redirect)
            assert granted.tokens.refresh_token and granted.tokens.access_token
            assert await spec.tenants(http, BASE, granted.tokens, redirect) == [tenant]
            with pytest.raises(AuthExpiredError):
                await exchange_code(http, _client(spec), request, redirect)  # spent

    asyncio.run(go())


def test_the_authorization_urls_say_what_each_platform_documents() -> None:
    zoho = httpx.URL(authorization_request(ZOHO.server(None), "id", LOOPBACK).url)
    assert zoho.host == "accounts.zoho.com" and zoho.path == "/oauth/v2/auth"
    assert (zoho.params["access_type"], zoho.params["prompt"]) == ("offline", "consent")
    assert zoho.params["scope"].split(",") == list(ZOHO.scopes)
    sage = httpx.URL(authorization_request(SAGE.server(None), "id", LOOPBACK).url)
    assert sage.params["filter"] == "apiv3.1" and sage.params["scope"] == "full_access"
    fresh = httpx.URL(authorization_request(FRESHBOOKS.server(None), "id", LOOPBACK).url)
    assert fresh.host == "auth.freshbooks.com" and "scope" not in fresh.params
    for url in (zoho, sage, fresh):
        assert url.params["state"] and "code_challenge" not in url.params


def test_the_freshbooks_sandbox_consents_only_for_the_registered_redirect() -> None:
    async def go() -> None:
        async with _http(freshbooks_sandbox.create_app(None)) as http:
            server = FRESHBOOKS.server(BASE)
            request = authorization_request(server, FRESHBOOKS.sandbox.client_id, LOOPBACK)
            assert (await http.get(request.url)).status_code == 400

    asyncio.run(go())


def test_zoho_exchanges_at_the_data_centre_the_redirect_names_only_when_it_is_zohos() -> None:
    eu = Redirect("c", {"location": "eu", "accounts-server": "https://accounts.zoho.eu"})
    elsewhere = Redirect("c", {"accounts-server": "https://accounts.zoho.eu.attacker.example"})
    live = "https://www.zohoapis.com"
    assert ZOHO.token_url_for(live, eu) == "https://accounts.zoho.eu/oauth/v2/token"
    assert ZOHO.token_url_for(live, elsewhere) == "https://accounts.zoho.com/oauth/v2/token"
    assert ZOHO.token_url_for("https://www.zohoapis.in", Redirect("c")) == (
        "https://accounts.zoho.in/oauth/v2/token"
    )
    assert ZOHO.token_url_for(BASE, eu) == f"{BASE}/oauth/v2/token"  # a sandbox: its own


def test_a_refusal_answered_with_http_200_is_a_refusal() -> None:
    async def go() -> None:
        async with _http(zoho_sandbox.create_app(None)) as http:
            request = authorization_request(ZOHO.server(BASE), ZOHO.sandbox.client_id, LOOPBACK)
            with pytest.raises(AuthExpiredError, match="invalid_code"):
                await exchange_code(http, _client(ZOHO), request, Redirect("not-a-code"))

    asyncio.run(go())


LIVE = {
    "freshbooks": (
        FRESHBOOKS_PLATFORM,
        "https://api.freshbooks.com",
        {"redirect_uri": "https://app.example/callback"},
    ),
    "zoho-books": (ZOHO_PLATFORM, "https://www.zohoapis.com", {}),
    "sage": (SAGE_PLATFORM, "https://api.accounting.sage.com/v3.1", {}),
}


@pytest.mark.parametrize("ledger", list(LIVE))
def test_a_live_ledger_opens_on_what_connect_stored(ledger: str, tmp_path: Path) -> None:
    platform, url, extra = LIVE[ledger]
    tokens = tmp_path / f"{ledger}.json"
    creds = {"client_id": "id", "client_secret": "secret", **extra}
    with pytest.raises(ConfigurationError, match=f"syncledger connect {ledger}"):
        platform.connect(Connection(url, tokens, creds, tenant="t-1"))
    FileTokenStore(tokens).save(TokenSet("a", "r", time.time() + 3600))
    adapter = platform.connect(Connection(url, tokens, creds, tenant="t-1"))
    asyncio.run(adapter.aclose())
