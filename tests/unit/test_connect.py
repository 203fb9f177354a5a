"""The pieces of ``syncledger connect`` against the sandboxes in process: the redirect is
this attempt's or refused, PKCE is checked by the sandbox, a code works once, the tenant
is chosen as asked, a refused refresh shows as revoked, a refresh token past its lifetime
as expired, and a live ledger opens on the tokens ``connect`` stored."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from syncledger.adapters.oauth2 import (
    FileTokenStore,
    OAuth2Client,
    OAuth2RefreshAuth,
    TokenSet,
)
from syncledger.adapters.oauth2_connect import (
    AuthorizationRequest,
    ConnectionRecord,
    Tenant,
    authorization_request,
    exchange_code,
    redirect_of,
    save_connection,
)
from syncledger.adapters.platforms import Connection
from syncledger.adapters.qbo.ledger import PRODUCTION_URL as QBO_LIVE
from syncledger.adapters.qbo.oauth import CONNECT as QBO
from syncledger.adapters.qbo.platform import PLATFORM as QBO_PLATFORM
from syncledger.adapters.xero.oauth import CONNECT as XERO
from syncledger.adapters.xero.sandbox import server as xero_sandbox
from syncledger.core.connect import Consent, choose_tenant, connection_statuses
from syncledger.core.errors import AuthExpiredError, ConfigurationError
from syncledger.core.settings import Settings

BASE = "http://xero.test"
REDIRECT = "http://127.0.0.1:9/callback"


def _xero() -> httpx.AsyncClient:
    app = xero_sandbox.create_app(None)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def _client() -> OAuth2Client:
    secret = SecretStr(XERO.sandbox.client_secret)
    return OAuth2Client(XERO.server(BASE).token_url, XERO.sandbox.client_id, secret)


async def _authorized(http: httpx.AsyncClient, request: AuthorizationRequest) -> str:
    answer = await http.get(request.url)
    assert answer.status_code == 302
    return answer.headers["location"]


def _request() -> AuthorizationRequest:
    return authorization_request(XERO.server(BASE), XERO.sandbox.client_id, REDIRECT)


def test_the_xero_flow_sends_pkce_and_the_qbo_flow_does_not() -> None:
    xero = httpx.URL(_request().url).params
    qbo = httpx.URL(authorization_request(QBO.server(None), "id", REDIRECT).url).params
    assert xero["code_challenge_method"] == "S256" and "offline_access" in xero["scope"]
    assert "code_challenge" not in qbo
    assert qbo["scope"] == "com.intuit.quickbooks.accounting"
    assert str(httpx.URL(QBO.server(None).authorize_url)) == (
        "https://appcenter.intuit.com/connect/oauth2"
    )


def test_a_code_is_exchanged_once_with_its_verifier() -> None:
    async def go() -> None:
        async with _xero() as http:
            request = _request()
            redirect = redirect_of(request, await _authorized(http, request))
            granted = await exchange_code(http, _client(), request, redirect)
            assert granted.tokens.refresh_token and "offline_access" in granted.scopes
            tenants = await XERO.tenants(http, BASE, granted.tokens, redirect)
            assert tenants == [Tenant(xero_sandbox.DEFAULT_TENANT_ID, "Sandbox Company")]
            with pytest.raises(AuthExpiredError, match="invalid_grant"):
                await exchange_code(http, _client(), request, redirect)  # spent

    asyncio.run(go())


def test_a_wrong_verifier_is_refused() -> None:
    async def go() -> None:
        async with _xero() as http:
            request = _request()
            redirect = redirect_of(request, await _authorized(http, request))
            forged = AuthorizationRequest(request.url, REDIRECT, request.state, "x" * 64)
            with pytest.raises(AuthExpiredError, match="invalid_grant"):
                await exchange_code(http, _client(), forged, redirect)

    asyncio.run(go())


def test_a_redirect_from_another_attempt_or_a_refusal_is_one_line() -> None:
    async def go() -> None:
        async with _xero() as http:
            request, other = _request(), _request()
            with pytest.raises(ConfigurationError, match="not this attempt's"):
                redirect_of(other, await _authorized(http, request))
        with pytest.raises(ConfigurationError, match="access_denied"):
            redirect_of(request, f"{REDIRECT}?error=access_denied&state={request.state}")

    asyncio.run(go())


def test_the_sandbox_refuses_a_plain_challenge() -> None:
    async def go() -> None:
        async with _xero() as http:
            params = {
                "response_type": "code",
                "client_id": XERO.sandbox.client_id,
                "redirect_uri": REDIRECT,
                "state": "s",
                "code_challenge": "abc",
                "code_challenge_method": "plain",
            }
            answer = await http.get("/identity/connect/authorize", params=params)
            assert httpx.URL(answer.headers["location"]).params["error"] == "invalid_request"
            params["client_id"] = "someone-else"
            assert (await http.get("/identity/connect/authorize", params=params)).status_code == 400

    asyncio.run(go())


def _consent(pick: int = 0) -> Consent:
    return Consent(lambda _t: None, lambda _w: "", lambda found: found[pick], lambda _u: None)


def test_the_tenant_is_the_one_named_the_only_one_or_the_one_picked() -> None:
    two = [Tenant("t-1", "Harbor Ltd"), Tenant("t-2", "Quay Ltd")]
    assert choose_tenant(XERO, two, "quay ltd", _consent()) == two[1]
    assert choose_tenant(XERO, two, "t-1", _consent()) == two[0]
    assert choose_tenant(XERO, two, None, _consent(pick=1)) == two[1]
    assert choose_tenant(XERO, two[:1], None, _consent(pick=5)) == two[0]
    with pytest.raises(ConfigurationError, match="t-9 is not one"):
        choose_tenant(XERO, two, "t-9", _consent())
    with pytest.raises(ConfigurationError, match="which realm"):
        choose_tenant(QBO, [], None, _consent())
    assert choose_tenant(QBO, [], "123", _consent()) == Tenant("123")
    assert choose_tenant(QBO, [Tenant("9")], None, _consent()).id == "9"


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def _record(ttl: float | None) -> ConnectionRecord:
    return ConnectionRecord("xero", "t-1", "Harbor", ("offline_access",), time.time(), ttl, None)


def test_connections_tell_never_connected_expired_and_revoked(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens" / "xero.json"
    status = {s.ledger: s for s in connection_statuses(_settings(tmp_path))}
    assert (
        status["xero"].status == "never" and status["xero"].reconnect == "syncledger connect xero"
    )

    FileTokenStore(tokens).save(TokenSet("a", "r", time.time() + 60))
    save_connection(tokens, _record(ttl=3600.0))
    assert _status_of(tmp_path, "xero") == "connected"

    old = time.time() - 7200
    os.utime(tokens, (old, old))  # last refreshed two hours ago, refresh tokens last one
    assert _status_of(tmp_path, "xero") == "expired"

    FileTokenStore(tokens).mark_refused("invalid_grant")
    status = {s.ledger: s for s in connection_statuses(_settings(tmp_path))}
    assert status["xero"].status == "revoked" and status["xero"].refused == "invalid_grant"
    FileTokenStore(tokens).save(TokenSet("a", "r2", time.time() + 60))  # connected again
    assert _status_of(tmp_path, "xero") == "connected"


def _status_of(tmp_path: Path, ledger: str) -> str:
    return {s.ledger: s.status for s in connection_statuses(_settings(tmp_path))}[ledger]


def test_a_refused_refresh_is_noted_for_connections(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens" / "xero.json")
    store.save(TokenSet("", "not-a-grant", 0.0))

    async def go() -> None:
        async with _xero() as http:
            auth = OAuth2RefreshAuth(_client(), store)
            with pytest.raises(AuthExpiredError):
                await auth.headers(http)

    asyncio.run(go())
    assert store.refusal() == "invalid_grant"
    assert _status_of(tmp_path, "xero") == "revoked"


def test_a_live_ledger_opens_on_the_tokens_connect_stored(tmp_path: Path) -> None:
    tokens = tmp_path / "qbo.json"
    creds = {"client_id": "id", "client_secret": "secret"}
    with pytest.raises(ConfigurationError, match="syncledger connect qbo"):
        QBO_PLATFORM.connect(Connection(QBO_LIVE, tokens, creds, tenant="123"))
    FileTokenStore(tokens).save(TokenSet("a", "r", time.time() + 3600))
    adapter = QBO_PLATFORM.connect(Connection(QBO_LIVE, tokens, creds, tenant="123"))
    asyncio.run(adapter.aclose())
