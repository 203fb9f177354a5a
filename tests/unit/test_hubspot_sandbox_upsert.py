"""The HubSpot sandbox's batch/upsert as the 2026-03 deals spec and SOURCES.md §1.3/§1.6
describe it: a unique-value idProperty, 100 inputs at most, one record per input,
unique values enforced, per-input errors in a 207."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from syncledger.adapters.hubspot.sandbox.server import (
    TEST_ACCESS_TOKEN,
    HubSpotSandbox,
    create_app,
)

UPSERT = "/crm/objects/2026-03/0-3/batch/upsert"
UPDATE = "/crm/objects/2026-03/0-3/batch/update"
KEY = "syncledger_deal_ref"


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


@pytest.mark.parametrize("key", ["syncledger_note", "hs_object_id", ""])
async def test_an_upsert_keyed_on_a_property_that_is_not_unique_is_refused(
    api: tuple[HubSpotSandbox, httpx.AsyncClient], key: str
) -> None:
    sandbox, client = api
    answer = await client.post(UPSERT, json={"inputs": [_input("1", key=key)]})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert sandbox.store.records["deals"] == {}


async def test_more_than_100_inputs_or_two_for_one_record_are_refused(
    api: tuple[HubSpotSandbox, httpx.AsyncClient],
) -> None:
    sandbox, client = api
    many = await client.post(UPSERT, json={"inputs": [_input(f"r{i}") for i in range(101)]})
    twice = await client.post(UPSERT, json={"inputs": [_input("r1"), _input("r1", "y")]})
    assert (many.status_code, twice.status_code) == (400, 400)
    assert sandbox.store.records["deals"] == {}


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


async def test_an_eleventh_unique_property_is_refused(
    api: tuple[HubSpotSandbox, httpx.AsyncClient],
) -> None:
    _sandbox, client = api
    answers = []
    for n in range(10):  # one unique property exists already
        definition = {
            "name": f"unique_{n}",
            "label": "u",
            "type": "string",
            "fieldType": "text",
            "groupName": "g",
            "hasUniqueValue": True,
        }
        answers.append(await client.post("/crm/properties/2026-03/deals", json=definition))
    assert [a.status_code for a in answers] == [201] * 9 + [400]
