"""adapters/kit/wire_platform.py: a live ledger needs the app's credentials and a grant;
otherwise the sandbox's public defaults fill in, and the first refresh sends them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection
from syncledger.core.errors import ConfigurationError

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


class _Server:
    """A sandbox server module as a platform sees it: what each call received."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    def create_app(self, book_path: Path | None, /, **options: object) -> Starlette:
        self.calls.append(("create_app", (book_path,), options))
        return Starlette()

    def sandbox_of(self, app: Starlette, /) -> object:
        self.calls.append(("sandbox_of", (app,), {}))
        return "handle"

    def serve(self, port: int, data_dir: Path, /) -> None:
        self.calls.append(("serve", (port, data_dir), {}))


def _platform(server: _Server) -> kit.ScaledSandbox:
    class Served(kit.ScaledSandbox):
        pass

    Served.server = server  # type: ignore[assignment]
    return Served()


def test_a_scaled_sandbox_is_the_servers_app_handle_and_server(tmp_path: Path) -> None:
    server = _Server()
    platform = _platform(server)
    app = platform.sandbox_app(tmp_path / "book.db", home_currency="EUR", rate_scale=0.5)
    assert platform.sandbox_handle(app) == "handle"
    platform.serve(8123, tmp_path)
    assert server.calls == [
        ("create_app", (tmp_path / "book.db",), {"home_currency": "EUR", "rate_scale": 0.5}),
        ("sandbox_of", (app,), {}),
        ("serve", (8123, tmp_path), {}),
    ]


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_a_rate_scale_that_is_not_above_zero_is_refused(scale: float) -> None:
    server = _Server()
    with pytest.raises(ConfigurationError, match="rate scale"):
        _platform(server).sandbox_app(None, rate_scale=scale)
    assert server.calls == []


def test_a_count_setting_is_a_positive_whole_number_or_its_default() -> None:
    assert kit.whole_setting({}, "zoho-books", "daily_limit", 1000) == 1000
    assert kit.whole_setting({"daily_limit": "250"}, "zoho-books", "daily_limit", 1000) == 250
    for wrong in ("0", "-3", "1.5", "many"):
        with pytest.raises(ConfigurationError) as refused:
            kit.whole_setting({"daily_limit": wrong}, "zoho-books", "daily_limit", 1, "your plan's")
        assert str(refused.value) == (
            f"SYNCLEDGER_ZOHO_BOOKS_DAILY_LIMIT={wrong!r} is not a positive whole number: "
            "your plan's"
        )
