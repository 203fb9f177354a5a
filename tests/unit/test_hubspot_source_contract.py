"""The source contract on HubSpot's sandbox: a person edits the CRM through the sandbox's
own helpers; the reader talks to it over HTTP in-process (httpx.ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_CLIENT_SECRET,
    HubSpotSandbox,
    create_app,
)
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.source_ports import RecordHint, SourceReader, WebhookRequest
from tests.contracts.source_contract import SourceContract, SourceUnderTest

WEBHOOK_URL = "https://sync.example.com/hooks/hubspot?portal=62515"


class HubSpotPerson:
    """Someone at HubSpot's screens: companies, deals with line items, stages."""

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.store = sandbox.store

    async def put_customer(self, source_id: str | None, name: str) -> str:
        if source_id is None:
            return self.store.create("companies", {"name": name})
        self.store.update("companies", source_id, {"name": name})
        return source_id

    async def delete_customer(self, source_id: str) -> None:
        self.store.archive("companies", source_id)

    async def make_invoice(self) -> str:
        company = self.store.create("companies", {"name": "Invoiced Ltd"})
        deal = self.store.create(
            "deals",
            {
                "dealname": "Big deal",
                "dealstage": "closedwon",
                "closedate": "2026-03-01T00:00:00.000Z",
            },
        )
        item = self.store.create(
            "line_items", {"name": "Widget", "quantity": "2", "price": "50.00"}
        )
        self.store.associate("deals", deal, "line_items", item)
        self.store.associate("deals", deal, "companies", company)
        return f"hubspot/invoice/{deal}"

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        deal = self.store.records["deals"][source_ref.rsplit("/", 1)[1]]
        return {k: v for k, v in deal.properties.items() if k.startswith("syncledger_")}

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        events = [
            self.store.event(
                "companies" if h.kind == "customer" else "deals",
                h.id.rsplit("-", 1)[-1],
                "deletion" if h.deleted else "propertyChange",
            )
            for h in hints
        ]
        return self.store.signed_webhook(events, secret=TEST_CLIENT_SECRET, url=WEBHOOK_URL)


def connection(tmp_path: Path, sandbox: HubSpotSandbox, **creds: str) -> SourceConnection:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    return SourceConnection(
        tmp_path / "hubspot-tokens.json",
        base_url=SOURCE.sandbox_url,
        credentials=creds,
        transport=transport,
    )


class TestHubSpotSource(SourceContract):
    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        sandbox = HubSpotSandbox()
        conn = connection(tmp_path, sandbox)

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, HubSpotPerson(sandbox), reopen)
        finally:
            await reader.aclose()
