"""The source contract on the signed-webhook source: a sender posts its records, signed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.adapters.sources.registry import SourceConnection
from syncledger.adapters.webhooks.platform import SOURCE, TEST_SECRET
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.source_ports import RecordHint, SourceReader, WebhookRequest
from tests.contracts.source_contract import SourceContract, SourceUnderTest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Sender:
    """A system without a connector: it keeps its records and posts them, signed."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, str]] = {}
        self.sent = 0

    async def put_customer(self, source_id: str | None, name: str) -> str:
        sid = source_id or f"c{len(self.records) + 1}"
        stamp = f"2026-01-01T00:00:{len(self.records):02d}+00:00"
        self.records[sid] = {"id": sid, "name": name, "currency": "USD", "updated_at": stamp}
        return sid

    async def delete_customer(self, source_id: str) -> None:
        self.records.pop(source_id)

    async def make_invoice(self) -> str:
        return "webhooks/invoice/i1"

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        return {}

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        data = [self.records[h.id] for h in hints]
        body = json.dumps({"type": "customer.updated", "timestamp": NOW.isoformat(), "data": data})
        self.sent += 1
        headers = sign(TEST_SECRET, f"msg_{self.sent}", NOW, body.encode())
        url = "https://sync.example.com/webhooks/webhooks"
        return WebhookRequest("POST", url, headers, body.encode(), NOW)


class TestWebhookSource(SourceContract):
    delta = False
    deletions_in_delta = False
    reads = False  # records arrive only by webhook (the contract's `reads` switch)

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        conn = SourceConnection(tmp_path / "tokens.json")

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, Sender(), reopen)
        finally:
            await reader.aclose()
