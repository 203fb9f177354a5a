"""adapters/kit/wire_oauth.py: a platform's tenant listing read with the new grant; a live
ledger's missing settings named; its refreshing auth at the token URL its address uses."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import OAuthPlatform, Redirect, SandboxLogin, Tenant
from syncledger.adapters.platforms import Connection
from syncledger.core.errors import ConfigurationError, PermanentLedgerError


def test_rows_with_an_id_are_tenants_named_by_their_name_field() -> None:
    rows = [{"id": 7, "title": "Acme"}, {"title": "no id"}, "not a row", {"id": "b"}]
    assert kit.tenants_in(rows, "id", "title") == [Tenant("7", "Acme"), Tenant("b", None)]
    assert kit.tenants_in({"id": 1}, "id", "title") == []


def _lookup_against(answer: httpx.Response, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def listing(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(listing))


async def test_the_listing_is_read_with_the_grant_at_the_platforms_address() -> None:
    seen: list[httpx.Request] = []
    lookup = kit.listed_tenants(
        lambda api: f"{api}/orgs", "Books", lambda body: kit.tenants_in(body, "id", "n"), "Tok"
    )
    answer = httpx.Response(200, json=[{"id": "o1", "n": "One"}])
    async with _lookup_against(answer, seen) as http:
        found = await lookup(
            http, "https://api.example", TokenSet("acc", "ref", 0.0), Redirect("c")
        )
    assert found == [Tenant("o1", "One")]
    assert str(seen[0].url) == "https://api.example/orgs"
    assert seen[0].headers["Authorization"] == "Tok acc"


async def test_a_refused_listing_names_the_platform_not_the_token() -> None:
    lookup = kit.listed_tenants(lambda api: api + "/orgs", "Books", list)
    async with _lookup_against(httpx.Response(403, json={"error": "no"}), []) as http:
        with pytest.raises(PermanentLedgerError, match="Books") as refused:
            await lookup(
                http, "https://api.example", TokenSet("secret-acc", "r", 0.0), Redirect("c")
            )
    assert "secret-acc" not in str(refused.value)


SANDBOX = SimpleNamespace(
    DEFAULT_CLIENT_ID="sandbox-client",
    DEFAULT_CLIENT_SECRET="sandbox-secret",
    DEFAULT_REFRESH_TOKEN="sandbox-refresh",
)
LIVE_API = "https://api.books.example"
BOOKS = OAuthPlatform(
    id="some-books",
    title="Some Books",
    tenant_word="org",
    authorize_url="https://id.books.example/authorize",
    token_url="https://id.books.example/token",
    api_url=LIVE_API,
    scopes=(),
    pkce=False,
    sandbox=SandboxLogin("c", "s", "org-1"),
    sandbox_paths=("/authorize", "/oauth/token"),
    live=lambda url: url == LIVE_API,
    credentials_in="body",
)


def _connection(tmp_path: Path, base: str = LIVE_API, **creds: str) -> Connection:
    return Connection(base, tmp_path / "tokens.json", creds)


def test_a_live_ledger_without_its_app_grant_or_tenant_names_the_settings_to_set(
    tmp_path: Path,
) -> None:
    app = {"client_id": "a", "client_secret": "b", "refresh_token": "r"}
    with pytest.raises(ConfigurationError) as missing:
        kit.live_granted(_connection(tmp_path, **app), BOOKS, LIVE_API, tenant="org_id")
    assert str(missing.value) == (
        "set SYNCLEDGER_SOME_BOOKS_CLIENT_ID and SYNCLEDGER_SOME_BOOKS_CLIENT_SECRET, and run "
        "`syncledger connect some-books` (or set SYNCLEDGER_SOME_BOOKS_REFRESH_TOKEN and "
        "SYNCLEDGER_SOME_BOOKS_ORG_ID), to talk to Some Books"
    )
    with pytest.raises(
        ConfigurationError, match="CLIENT_SECRET and SYNCLEDGER_SOME_BOOKS_REDIRECT_URI,"
    ):
        kit.live_granted(_connection(tmp_path, **app), BOOKS, LIVE_API, app=("redirect_uri",))
    granted = _connection(tmp_path, org_id="o", redirect_uri="https://me.example", **app)
    assert kit.live_granted(granted, BOOKS, LIVE_API, app=("redirect_uri",), tenant="org_id")


def test_a_sandbox_address_needs_no_settings(tmp_path: Path) -> None:
    sandbox = "http://books.sandbox.local"
    assert not kit.live_granted(_connection(tmp_path, sandbox), BOOKS, sandbox, tenant="org_id")


async def test_the_auth_refreshes_at_the_sandbox_token_path_under_its_address(
    tmp_path: Path,
) -> None:
    seen: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})

    sandbox = "http://books.sandbox.local"
    auth = kit.ledger_auth(_connection(tmp_path, sandbox), BOOKS, SANDBOX, sandbox)
    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as http:
        assert (await auth.headers(http))["Authorization"] == "Bearer t"
    assert str(seen[0].url) == "http://books.sandbox.local/oauth/token"
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["client_id"] == "sandbox-client"  # in the form: the platform says "body"
    assert form["refresh_token"] == "sandbox-refresh"


def test_a_live_ledger_refreshes_at_the_platforms_token_url_unless_told(tmp_path: Path) -> None:
    app = _connection(tmp_path, client_id="a", client_secret="b", refresh_token="r")
    live = kit.ledger_auth(app, BOOKS, SANDBOX, LIVE_API)
    told = kit.ledger_auth(app, BOOKS, SANDBOX, LIVE_API, token_url="https://dc.example/t")
    assert live._config.token_url == "https://id.books.example/token"
    assert told._config.token_url == "https://dc.example/t"
