"""The People API reader against the sandbox: an expired sync token, deleted contacts,
page size limits, access-token refresh, the mapping of a Person, labels as tags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from syncledger.adapters.google_contacts.platform import SOURCE
from syncledger.adapters.google_contacts.sandbox.book import membership
from syncledger.adapters.google_contacts.sandbox.server import GoogleSandbox, book_of
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.errors import ConfigurationError, SourceError
from syncledger.core.rollout import RolloutRule
from syncledger.core.source_ports import SourceReader
from tests.contracts.source_contract import customers, read_all


@dataclass
class Google:
    app: Starlette
    book: GoogleSandbox
    reader: SourceReader
    tmp: Path

    def connect(self, **credentials: str) -> SourceReader:
        conn = SourceConnection(
            self.tmp / f"tokens-{len(credentials)}.json",
            base_url=SOURCE.sandbox_url,
            credentials={"page_size": "2", **credentials},
            transport=httpx.ASGITransport(app=self.app),
        )
        return SOURCE.connect(conn)


@asynccontextmanager
async def signed_in(google: Google) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of the sandbox's app, and the header of an access token it issued."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google.app), base_url="http://people.sandbox.local"
    ) as client:
        token = await client.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": google.book.oauth.grant(),
                "client_id": "sandbox-google-client",
                "client_secret": "sandbox-google-secret",
            },
        )
        yield client, {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture
async def google(tmp_path: Path) -> AsyncIterator[Google]:
    app = SOURCE.sandbox_app(None)
    assert app is not None
    g = Google(app, book_of(app), None, tmp_path)  # type: ignore[arg-type]
    g.reader = g.connect()
    try:
        yield g
    finally:
        await g.reader.aclose()


async def test_an_expired_sync_token_resyncs_everything_with_nothing_lost(google: Google) -> None:
    ids = [google.book.put(None, f"Kept {n}") for n in range(5)]
    _, cursor = await read_all(google.reader, None)
    google.book.put(ids[0], "Renamed 0")
    added = google.book.put(None, "Added while expired")
    google.book.expire_sync_tokens()
    found = customers((await read_all(google.reader, cursor))[0])
    assert set(found) == {*ids, added}
    assert found[ids[0]].fields["name"] == "Renamed 0"
    assert not any(i.deleted for i in found.values())
    _, fresh = await read_all(google.reader, cursor)
    assert customers((await read_all(google.reader, fresh))[0]) == {}  # the new token works


async def test_a_resync_returns_pages_with_more(google: Google) -> None:
    for n in range(5):
        google.book.put(None, f"Paged {n}")
    _, cursor = await read_all(google.reader, None)
    google.book.expire_sync_tokens()
    first = await google.reader.read_changes(cursor)
    assert first.more and len(first.items) == 2


async def test_a_deleted_contact_comes_as_a_deleted_item_and_leaves_full_listings(
    google: Google,
) -> None:
    gone = google.book.put(None, "Gone Ltd")
    stays = google.book.put(None, "Stays Ltd")
    _, cursor = await read_all(google.reader, None)
    google.book.delete(gone)
    delta = customers((await read_all(google.reader, cursor))[0])
    assert set(delta) == {gone} and delta[gone].deleted and delta[gone].fields == {}
    full = customers((await read_all(google.reader, None))[0])
    assert set(full) == {stays}


async def test_an_expired_access_token_is_refreshed(google: Google) -> None:
    sid = google.book.put(None, "Refreshed Ltd")
    await read_all(google.reader, None)
    google.book.oauth.expire_access_tokens()
    assert sid in customers((await read_all(google.reader, None))[0])


async def test_a_refused_grant_is_a_source_error_without_the_secret(google: Google) -> None:
    reader = google.connect(refresh_token="not-a-granted-refresh-token")
    try:
        with pytest.raises(SourceError) as refused:
            await reader.read_changes(None)
        assert "not-a-granted-refresh-token" not in str(refused.value)
    finally:
        await reader.aclose()


async def test_a_person_maps_to_canonical_customer_fields(google: Google) -> None:
    sid = google.book.put(
        None,
        "Jamal Garcia",
        organizations=[{"name": "Maple Pest Control", "metadata": {"primary": True}}],
        emailAddresses=[
            {"value": "home@maple.example.com"},
            {"value": "jamal@maple.example.com", "metadata": {"primary": True}},
        ],
        phoneNumbers=[{"value": "+1 555 758 5553"}],
        addresses=[{"formattedValue": "8172 Elm St\nBoise, ID 83702"}],
    )
    reader = google.connect(currency="USD")
    try:
        item = customers((await read_all(reader, None))[0])[sid]
    finally:
        await reader.aclose()
    assert item.fields == {
        "name": "Maple Pest Control",
        "contact_name": "Jamal Garcia",
        "email": "jamal@maple.example.com",
        "phone": "+1 555 758 5553",
        "billing_address": "8172 Elm St\nBoise, ID 83702",
        "currency": "USD",
    }


async def test_the_sandbox_holds_page_sizes_to_1_to_1000(google: Google) -> None:
    async with signed_in(google) as (client, auth):
        url = "/v1/people/me/connections"
        fields = {"personFields": "names"}
        too_big = await client.get(url, params={**fields, "pageSize": 1001}, headers=auth)
        largest = await client.get(url, params={**fields, "pageSize": 1000}, headers=auth)
        no_fields = await client.get(url, params={"pageSize": 10}, headers=auth)
    assert too_big.status_code == 400
    assert largest.status_code == 200
    assert no_fields.status_code == 400


def test_a_page_size_setting_outside_1_to_1000_is_refused(google: Google) -> None:
    with pytest.raises(ConfigurationError, match="1 to 1000"):
        google.connect(page_size="1001")


async def test_labels_are_tags_by_their_names_and_further_emails_are_not_carried(
    google: Google,
) -> None:
    """Memberships name groups by resource name; the reader lists the account's contact
    groups and tags the customer with their names, as a Google CSV export writes them; a
    group deleted meanwhile is no tag; a renamed label shows once the contact changes."""
    labels = [google.book.put_group(f"Route {n}") for n in range(40)]
    customers_label = google.book.put_group("Customers")
    sid = google.book.put(
        None,
        "Ana Evans",
        emailAddresses=[{"value": "ana@thames.example.com"}, {"value": "ana@home.example"}],
        memberships=[
            membership("contactGroups/myContacts"),
            membership(customers_label),
            membership(labels[3]),
            membership("contactGroups/deleted0001"),
        ],
    )
    plain = google.book.put(None, "No Labels")
    items, cursor = await read_all(google.reader, None)
    found = customers(items)
    assert found[sid].fields["tags"] == ["myContacts", "Customers", "Route 3"]
    assert found[sid].fields["email"] == "ana@thames.example.com"
    assert not {"emails", "phones", "groups"} & set(found[sid].fields)
    assert "tags" not in found[plain].fields
    scope = RolloutRule(tags=("CUSTOMERS",), tag_field="tags")
    assert scope.admits(f"google-contacts/customer/{sid}", found[sid].fields)
    assert not scope.admits(f"google-contacts/customer/{plain}", found[plain].fields)
    google.book.rename_group(customers_label, "Clients")
    google.book.put(sid, "Ana Evans", memberships=[membership(customers_label)])
    again = customers((await read_all(google.reader, cursor))[0])
    assert again[sid].fields["tags"] == ["Clients"]


async def test_the_sandbox_pages_contact_groups_by_30_unless_asked(google: Google) -> None:
    for n in range(40):
        google.book.put_group(f"Label {n}")
    async with signed_in(google) as (client, auth):
        first = (await client.get("/v1/contactGroups", headers=auth)).json()
        rest = await client.get(
            "/v1/contactGroups", params={"pageToken": first["nextPageToken"]}, headers=auth
        )
        too_big = await client.get("/v1/contactGroups", params={"pageSize": 1001}, headers=auth)
        anonymous = await client.get("/v1/contactGroups")
    assert len(first["contactGroups"]) == 30
    assert first["totalItems"] == 42  # the two system groups and the 40 labels
    assert len(rest.json()["contactGroups"]) == 12
    assert "nextPageToken" not in rest.json()
    assert (too_big.status_code, anonymous.status_code) == (400, 401)
