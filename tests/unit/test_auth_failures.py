"""Auth failures no retry can fix end at once, with one line saying what to do: a token
file that is not a token file, a client secret or refresh token the ledger refuses."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from syncledger.adapters.http import LedgerHttp, RetryPolicy
from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth, TokenSet
from syncledger.core.errors import AuthExpiredError, ConfigurationError, TransientLedgerError

TOKEN_URL = "https://auth.example/oauth2/token"


class TokenEndpoint:
    """A token endpoint that refuses every grant with ``error`` and counts the asks."""

    def __init__(self, error: str, status: int = 400) -> None:
        self.error, self.status, self.asked = error, status, 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            self.asked += 1
            return httpx.Response(self.status, json={"error": self.error})
        return httpx.Response(200, json={"ok": True})


def client_for(endpoint: TokenEndpoint, store: FileTokenStore) -> LedgerHttp:
    oauth = OAuth2RefreshAuth(
        OAuth2Client(token_url=TOKEN_URL, client_id="app", client_secret=SecretStr("wrong")),
        store,
        initial_refresh_token=SecretStr("refresh-0"),
    )
    return LedgerHttp(
        platform="test",
        base_url="https://api.example",
        auth=oauth,
        transport=httpx.MockTransport(endpoint.handler),
        retry=RetryPolicy(attempts=5, base_delay=0.0),
    )


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"{not json", "is not valid JSON"),
        (b"", "is not valid JSON"),
        (b'["a", "b"]', "is not a token file"),
        (b'{"access_token": "a"}', "is not a token file"),
        (b'{"access_token": "a", "refresh_token": "r", "expires_at": "soon"}', "is not a token"),
    ],
)
def test_a_broken_token_file_says_which_file_and_how_to_start_again(
    tmp_path: Path, content: bytes, what: str
) -> None:
    path = tmp_path / "tokens" / "zoho-books.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as broken:
        FileTokenStore(path).load()
    message = str(broken.value)
    assert f"the token file {path} {what}" in message
    assert "delete it and set SYNCLEDGER_ZOHO_BOOKS_REFRESH_TOKEN" in message
    assert "\n" not in message


def test_an_unreadable_token_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    path.mkdir()  # unreadable as a file, whoever runs the test (root ignores modes)
    with pytest.raises(ConfigurationError, match=r"qbo.json cannot be read \(Is a directory\)"):
        FileTokenStore(path).load()


def test_a_good_token_file_still_loads(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "qbo.json")
    store.save(TokenSet("access", "refresh", 123.0))
    assert store.load() == TokenSet("access", "refresh", 123.0)


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("invalid_client", "refused the app's client id or client secret (invalid_client)"),
        ("invalid_grant", "refused the refresh token (invalid_grant)"),
    ],
)
async def test_a_refused_grant_is_asked_once_however_many_requests_follow(
    tmp_path: Path, error: str, says: str
) -> None:
    endpoint = TokenEndpoint(error, status=401 if error == "invalid_client" else 400)
    client = client_for(endpoint, FileTokenStore(tmp_path / "qbo.json"))
    with pytest.raises(AuthExpiredError) as refused:
        await client.json("GET", "/data", idempotent=True)
    assert refused.value.code == error
    assert says in str(refused.value)
    for _ in range(3):  # a sync retrying an AuthExpiredError would go on for minutes
        with pytest.raises(ConfigurationError) as again:
            await client.json("GET", "/data", idempotent=True)
        assert says in str(again.value)
        assert "refused already: not asked again until the stored refresh token changes" in str(
            again.value
        )
    assert endpoint.asked == 1
    await client.aclose()


async def test_a_new_refresh_token_in_the_store_is_tried_after_a_refusal(tmp_path: Path) -> None:
    endpoint = TokenEndpoint("invalid_grant")
    store = FileTokenStore(tmp_path / "qbo.json")
    client = client_for(endpoint, store)
    with pytest.raises(AuthExpiredError):
        await client.json("GET", "/data", idempotent=True)
    with pytest.raises(ConfigurationError):
        await client.json("GET", "/data", idempotent=True)
    store.save(TokenSet("", "refresh-from-a-new-authorisation", 0.0))  # the person re-authorised
    with pytest.raises(AuthExpiredError):  # asked, and refused, again
        await client.json("GET", "/data", idempotent=True)
    assert endpoint.asked == 2
    await client.aclose()


async def test_a_failing_token_endpoint_is_not_remembered_as_a_refusal(tmp_path: Path) -> None:
    endpoint = TokenEndpoint("temporarily_unavailable", status=503)
    client = client_for(endpoint, FileTokenStore(tmp_path / "qbo.json"))
    with pytest.raises(TransientLedgerError):
        await client.json("GET", "/data", idempotent=True)
    asked_by_the_first = endpoint.asked
    with pytest.raises(TransientLedgerError):
        await client.json("GET", "/data", idempotent=True)
    assert asked_by_the_first == 5  # every attempt of the retry policy asked
    assert endpoint.asked == 2 * asked_by_the_first
    await client.aclose()
