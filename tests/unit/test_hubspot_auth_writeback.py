"""HubSpot OAuth refresh, deal write-back and webhook refusals against the sandbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REFRESH_TOKEN,
    HubSpotSandbox,
)
from syncledger.adapters.hubspot.writeback import PROPERTIES
from syncledger.core.source_ports import (
    StatusUpdate,
    StatusWriter,
    WebhookReceiver,
    WebhookRefused,
)
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import WEBHOOK_URL, HubSpotPerson, connection


async def test_oauth_tokens_are_refreshed_and_persisted(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    sandbox.store.create("companies", {"name": "Token Co"})
    conn = connection(
        tmp_path,
        sandbox,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        refresh_token=TEST_REFRESH_TOKEN,
    )
    reader = SOURCE.connect(conn)
    try:
        first, _ = await read_all(reader, None)
        stored = json.loads(conn.token_file.read_text())
        sandbox.oauth.expire_access_tokens()
        again, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    assert [i.fields["name"] for i in first] == [i.fields["name"] for i in again] == ["Token Co"]
    assert stored["refresh_token"] != TEST_REFRESH_TOKEN
    assert json.loads(conn.token_file.read_text())["refresh_token"] != stored["refresh_token"]
    assert TEST_CLIENT_SECRET not in conn.token_file.read_text()


def _update(ref: str, balance: str) -> StatusUpdate:
    return StatusUpdate(
        source_ref=ref,
        ledger="xero",
        status="partially_paid",
        currency="EUR",
        total=Decimal("100.00"),
        balance=Decimal(balance),
        ledger_number="INV-7",
        ledger_id="7",
        link="https://ledger/inv/7",
        at=None,
    )


async def test_write_back_creates_its_properties_once(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    person = HubSpotPerson(sandbox)
    refs = [await person.make_invoice() for _ in range(2)]
    conn = connection(tmp_path, sandbox)
    for balance in ("40.00", "10.00"):  # two readers, as after a restart
        writer = SOURCE.connect(conn)
        assert isinstance(writer, StatusWriter)
        try:
            assert [
                o.result for o in await writer.write_back([_update(r, balance) for r in refs])
            ] == ["written"] * 2
            assert [o.result for o in await writer.write_back([_update(refs[0], balance)])] == [
                "written"
            ] * 1
        finally:
            await writer.aclose()
    posts = post_counts(sandbox.requests)
    assert posts["/crm/properties/2026-03/deals"] == len(PROPERTIES)
    assert posts["/crm/properties/2026-03/deals/groups"] == 1
    written = await person.payment_status(refs[1])
    assert written["syncledger_amount_paid"] == "90.00"
    assert written["syncledger_ledger_number"] == "INV-7"
    assert set(sandbox.store.property_defs["deals"]) == set(PROPERTIES)


def post_counts(requests: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method, path in requests:
        if method == "POST":
            counts[path] = counts.get(path, 0) + 1
    return counts


async def test_a_write_back_for_another_system_writes_nothing(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    writer = SOURCE.connect(connection(tmp_path, sandbox))
    assert isinstance(writer, StatusWriter)
    try:
        [outcome] = await writer.write_back([_update("csv/invoice/1", "0")])
        assert outcome.result == "not_attempted"  # it waits for its own source
    finally:
        await writer.aclose()
    assert sandbox.requests == []


@pytest.mark.parametrize("shift", [timedelta(minutes=-6), timedelta(minutes=6)])
async def test_a_delivery_outside_five_minutes_is_stale(tmp_path: Path, shift: timedelta) -> None:
    sandbox = HubSpotSandbox()
    receiver = SOURCE.connect(connection(tmp_path, sandbox))
    assert isinstance(receiver, WebhookReceiver)
    request = sandbox.store.signed_webhook(
        [sandbox.store.event("deals", "5", "creation")], secret=TEST_CLIENT_SECRET, url=WEBHOOK_URL
    )
    with pytest.raises(WebhookRefused) as refused:
        receiver.verify(replace(request, received_at=request.received_at + shift))
    assert refused.value.reason == "stale"
    await receiver.aclose()  # type: ignore[attr-defined]


async def test_a_batch_names_each_record_and_deletions(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    receiver = SOURCE.connect(connection(tmp_path, sandbox))
    assert isinstance(receiver, WebhookReceiver)
    events = [
        store.event("deals", "5", "propertyChange"),
        store.event("contacts", "6", "deletion"),
        store.event("companies", "7", "creation"),
    ]
    request = store.signed_webhook(events, secret=TEST_CLIENT_SECRET, url=WEBHOOK_URL)
    delivery = receiver.verify(request)
    await receiver.aclose()  # type: ignore[attr-defined]
    assert {(h.kind, h.id, h.deleted) for h in delivery.hints} == {
        ("invoice", "5", False),
        ("customer", "contact-6", True),
        ("customer", "7", False),
    }
    bad = replace(request, body=b"not json", headers={**request.headers})
    with pytest.raises(WebhookRefused) as refused:
        receiver.verify(bad)
    assert refused.value.reason == "bad_signature"  # checked before the body is read
