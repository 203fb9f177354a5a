"""The source contract on Jobber, against the sandbox in-process; a person edits records
through the sandbox's own helpers (never the adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.jobber.platform import SOURCE
from syncledger.adapters.jobber.sandbox.server import JobberSandbox, sandbox_of
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.source_ports import (
    RecordHint,
    SourceReader,
    WebhookRequest,
)
from tests.contracts.source_contract import SourceContract, SourceUnderTest

#: the sandbox refills its cost bucket this much faster, so the suite does not wait minutes
SCALE = 20.0
TOPICS = {"customer": "CLIENT", "invoice": "INVOICE", "payment": "PAYMENT"}


class JobberPerson:
    """Someone using Jobber's screens: clients, archives, invoices; reads payments."""

    def __init__(self, sandbox: JobberSandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store

    async def put_customer(self, source_id: str | None, name: str) -> str:
        return self.store.put_client(source_id, companyName=name)

    async def delete_customer(self, source_id: str) -> None:
        self.store.archive_client(source_id)

    async def make_invoice(self) -> str:
        client = self.store.put_client(companyName="Invoiced Ltd")
        lines = [{"name": "Service", "description": "", "quantity": 1, "unitPrice": 100}]
        return "jobber/invoice/" + self.store.put_invoice(client, "1001", lines)

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        invoice = source_ref.removeprefix("jobber/invoice/")
        records = self.store.records[invoice].fields["paymentRecords"]
        if not records:
            return {}
        return {
            "paymentsTotal": str(self.store.paid_amount(invoice)),
            "notes": " | ".join(r["note"] for r in records),
        }

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        [hint] = hints
        action = "DESTROY" if hint.deleted else "UPDATE"
        return self.sandbox.signed_webhook(f"{TOPICS[hint.kind]}_{action}", hint.id)


def connection(app: object, tmp_path: Path, scale: float = SCALE) -> SourceConnection:
    return SourceConnection(
        tmp_path / "jobber-tokens.json",
        base_url=SOURCE.sandbox_url,
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        rate_scale=scale,
    )


class TestJobberSource(SourceContract):
    signed_time = False
    signature_headers = ("x-jobber-hmac-sha256",)

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        app = SOURCE.sandbox_app(None, rate_scale=SCALE)
        assert app is not None
        conn = connection(app, tmp_path)

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, JobberPerson(sandbox_of(app)), reopen)
        finally:
            await reader.aclose()
