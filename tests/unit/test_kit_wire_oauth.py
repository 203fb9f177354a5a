"""adapters/kit/wire_oauth.py: a platform's tenant listing read with the new grant."""

from __future__ import annotations

import httpx
import pytest

from syncledger.adapters.kit import wire_oauth as kit
from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import Redirect, Tenant
from syncledger.core.errors import PermanentLedgerError


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
