"""adapters/kit/wire_platform.py: a live ledger needs the app's credentials and a grant;
otherwise the sandbox's public defaults fill in, and the first refresh sends them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection

SANDBOX = SimpleNamespace(
    DEFAULT_CLIENT_ID="sandbox-client",
    DEFAULT_CLIENT_SECRET="sandbox-secret",
    DEFAULT_REFRESH_TOKEN="sandbox-refresh",
)


def _connection(tmp_path: Path, **creds: str) -> Connection:
    return Connection("https://api.example", tmp_path / "tokens.json", creds)


@pytest.mark.parametrize(
    ("creds", "token_file", "granted"),
    [
        ({"client_id": "a", "client_secret": "b", "refresh_token": "r"}, False, True),
        ({"client_id": "a", "client_secret": "b"}, True, True),
        ({"client_id": "a", "client_secret": "b"}, False, False),
        ({"client_id": "a", "refresh_token": "r"}, True, False),
        ({"client_secret": "b", "refresh_token": "r"}, True, False),
    ],
)
def test_a_grant_needs_the_app_and_a_refresh_token_or_the_connect_file(
    tmp_path: Path, creds: dict[str, str], token_file: bool, granted: bool
) -> None:
    connection = _connection(tmp_path, **creds)
    if token_file:
        connection.token_file.write_text("{}")
    assert kit.app_granted(connection) is granted


async def test_the_sandbox_defaults_fill_in_and_go_to_the_token_url(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})

    connection = _connection(tmp_path)
    client = kit.oauth_client(connection, "https://sandbox.example/token", SANDBOX, "body")
    auth = kit.refresh_auth(connection, client, SANDBOX, scheme="Zoho-oauthtoken")
    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as http:
        headers = await auth.headers(http)
    assert headers["Authorization"] == "Zoho-oauthtoken t"
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert str(seen[0].url) == "https://sandbox.example/token"
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "sandbox-refresh",
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
    }


def test_the_settings_win_over_the_sandbox_defaults(tmp_path: Path) -> None:
    connection = _connection(tmp_path, client_id="mine", client_secret="s3", refresh_token="r")
    client = kit.oauth_client(connection, "https://live.example/token", SANDBOX)
    assert (client.client_id, client.client_secret.get_secret_value()) == ("mine", "s3")
    assert client.credentials_in == "basic"
