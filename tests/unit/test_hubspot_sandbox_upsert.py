"""The HubSpot sandbox's batch/upsert as the 2026-03 deals spec and SOURCES.md §1.3/§1.6
describe it: a unique-value idProperty, 100 inputs at most, one record per input,
unique values enforced, per-input errors in a 207."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from syncledger.adapters.hubspot.sandbox.refusals import EXAMPLES
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_PORTAL_ID,
    TEST_REFRESH_TOKEN,
    HubSpotSandbox,
    OtherApps,
    create_app,
)
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.throttle import WindowThrottle
from tests.contracts.bare_client import BareClient
from tests.contracts.refusal_examples_section import RefusalExamplesSection

UPSERT = "/crm/objects/2026-03/0-3/batch/upsert"
UPDATE = "/crm/objects/2026-03/0-3/batch/update"
KEY = "syncledger_deal_ref"
GROUP = {"name": "g", "label": "g"}
PROPERTY = {"label": "u", "type": "string", "fieldType": "text", "groupName": "g"}


@pytest.fixture
async def api() -> AsyncIterator[tuple[HubSpotSandbox, httpx.AsyncClient]]:
    sandbox = HubSpotSandbox()
    transport = httpx.ASGITransport(app=create_app(sandbox))
    headers = {"Authorization": f"Bearer {TEST_ACCESS_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hubspot.test", headers=headers
    ) as client:
        await client.post("/crm/properties/2026-03/deals/groups", json={"name": "g", "label": "g"})
        for name, unique in ((KEY, True), ("syncledger_note", False)):
            definition = {
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "g",
                "hasUniqueValue": unique,
            }
            created = await client.post("/crm/properties/2026-03/deals", json=definition)
            assert created.status_code == 201
        yield sandbox, client
    sandbox.close()


def _input(value: str, note: str = "x", key: str = KEY) -> dict[str, Any]:
    return {"idProperty": key, "id": value, "properties": {"syncledger_note": note}}


async def test_an_upsert_updates_the_holder_and_creates_for_an_unknown_value(
    api: tuple[HubSpotSandbox, httpx.AsyncClient],
) -> None:
    sandbox, client = api
    deal = sandbox.store.create("deals", {"dealname": "A", KEY: "ref-a"})
    answer = await client.post(
        UPSERT, json={"inputs": [_input("ref-a", "one"), _input("ref-new", "two")]}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETE"
    by_value = {r["properties"][KEY]: r for r in body["results"]}
    assert by_value["ref-a"]["id"] == deal and by_value["ref-a"]["new"] is False
    assert by_value["ref-new"]["new"] is True  # upsert creates: why the adapter stamps first
    assert sandbox.store.records["deals"][deal].properties["syncledger_note"] == "one"
    assert len(sandbox.store.records["deals"]) == 2


async def test_a_value_another_deal_holds_fails_that_input_only(
    api: tuple[HubSpotSandbox, httpx.AsyncClient],
) -> None:
    sandbox, client = api
    a = sandbox.store.create("deals", {"dealname": "A", KEY: "ref-a"})
    b = sandbox.store.create("deals", {"dealname": "B"})
    c = sandbox.store.create("deals", {"dealname": "C"})
    inputs = [
        {"id": b, "properties": {KEY: "ref-a"}, "objectWriteTraceId": b},  # a's value
        {"id": c, "properties": {KEY: "ref-c"}, "objectWriteTraceId": c},
    ]
    answer = await client.post(UPDATE, json={"inputs": inputs})
    assert answer.status_code == 207
    body = answer.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == [c]
    assert body["numErrors"] == 1
    error = body["errors"][0]
    assert error["category"] == "VALIDATION_ERROR" and error["context"]["ids"] == [b]
    deals = sandbox.store.records["deals"]
    assert KEY not in deals[b].properties and deals[c].properties[KEY] == "ref-c"
    assert deals[a].properties[KEY] == "ref-a"


# ---------------------------------------------------------------- refusals


class TestHubSpotRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/hubspot/sandbox/refusals.py refused as its example shows."""

    examples = EXAMPLES
    kinds = ("deals", "companies", "contacts", "line_items")

    @asynccontextmanager
    async def client(self) -> AsyncIterator[BareClient[HubSpotSandbox]]:
        sandbox = HubSpotSandbox()
        client = BareClient(create_app(sandbox), sandbox)
        client.access = TEST_ACCESS_TOKEN
        try:
            yield client
        finally:
            await client.http.aclose()
            sandbox.close()

    def book(self, client: Any) -> dict[str, Any]:
        """The store's records of each kind, copied (they are the store's own objects)."""
        return {kind: copy.deepcopy(client.sandbox.store.records.get(kind)) for kind in self.kinds}

    def error_code(self, answer: httpx.Response) -> str:
        """The Error body's category, a 429's errorType, the token endpoint's status."""
        body = answer.json()
        if "category" in body:
            return str(body["category"])
        return str(body.get("errorType") or body["status"])

    async def given_props(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        """The group g, the unique-value property KEY and syncledger_note."""
        await client.send_json("POST", "/crm/properties/2026-03/deals/groups", GROUP)
        for name, unique in ((KEY, True), ("syncledger_note", False)):
            definition = {**PROPERTY, "name": name, "label": name, "hasUniqueValue": unique}
            await client.send_json("POST", "/crm/properties/2026-03/deals", definition)
        return {}

    async def given_ten_unique(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        """Ten unique-value properties of deals: the nine beyond KEY are taken."""
        await self.given_props(client)
        for n in range(9):
            definition = {**PROPERTY, "name": f"unique_{n}", "hasUniqueValue": True}
            made = await client.send_json("POST", "/crm/properties/2026-03/deals", definition)
            assert made.status_code == 201
        return {}

    async def given_capped(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        """Two deals in a sandbox whose searches page through the first one only."""
        client.sandbox.search_cap = 1
        for name in ("A", "B"):
            client.sandbox.store.create("deals", {"dealname": name})
        return {}

    async def given_searches_spent(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        client.sandbox.search_throttle = WindowThrottle(Rate(1, 3600.0))
        client.sandbox.search_throttle.admit(TEST_PORTAL_ID)
        return {}

    async def given_burst_spent(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        client.sandbox.others = OtherApps(policy="burst", after=0, requests=1)
        return {}

    async def given_day_spent(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        client.sandbox.daily_used = client.sandbox.daily_limit
        return {}

    async def given_client(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        return {"client_id": TEST_CLIENT_ID, "secret": TEST_CLIENT_SECRET}

    async def given_oauth(self, client: BareClient[HubSpotSandbox]) -> dict[str, str]:
        """An OAuth access token (the journal takes no private app token)."""
        token = await client.refresh_grant(
            "/oauth/v3/token", TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REFRESH_TOKEN
        )
        return {"oauth": token}
