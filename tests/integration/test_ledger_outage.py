"""A ledger that goes away in the middle of ``sync --once`` (core/pipeline.py
``sync_bounded``) on a real nats-server, the real worker and the QBO sandbox: the run ends
with one line within its wait, no record is given up for it, and the next run pushes
every record once; records an earlier outage abandoned are pushed by the next run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.platforms import Connection, platform
from syncledger.core.bootstrap import Runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import LedgerUnavailable
from syncledger.core.events import LedgerPushAbandoned, LedgerPushRequested, make_envelope
from syncledger.core.ledgers import LedgerHandle
from syncledger.core.model import RecordRef
from syncledger.core.pipeline import ingest_items, sync_bounded
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.core.subjects import ledger_subject
from syncledger.core.sync import idempotency_key
from syncledger.core.sync_state import SyncState
from tests.support.records import customer

pytestmark = pytest.mark.integration
ENTITY = "outage"
CUSTOMERS = [customer(f"c{i}") for i in range(1, 7)]


class Switch(httpx.AsyncBaseTransport):
    """The sandbox app; refuses connections from the moment ``dark`` says so."""

    def __init__(self, app: httpx.AsyncBaseTransport, dark: Callable[[], bool]) -> None:
        self.app, self.dark = app, dark

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.dark():
            raise httpx.ConnectError("connection refused", request=request)
        return await self.app.handle_async_request(request)


@pytest.fixture
def settings(tmp_path: Path, server: EmbeddedNats) -> Settings:
    """For the shared ``rt`` (tests/integration/conftest.py)."""
    return Settings(
        data_dir=tmp_path / "state", nats_url=server.url, entity=ENTITY, ledger_wait_s=2.0
    )


class Books:
    """One QBO sandbox book, reached through a switch that can go dark."""

    def __init__(self, tmp_path: Path) -> None:
        self.plat = platform("qbo")
        self.app = self.plat.sandbox_app(None)
        self.token_file = tmp_path / "tokens" / "qbo.json"

    def ledger(self, switch: Switch) -> LedgerHandle:
        conn = Connection(self.plat.sandbox_url, self.token_file, {}, switch)
        return LedgerHandle(self.plat.connect(conn), None, "QuickBooks Online at http://qbo.test")

    def switch(self, dark: Callable[[], bool] = lambda: False) -> Switch:
        return Switch(httpx.ASGITransport(app=self.app), dark)

    def customers(self) -> int:
        return self.plat.sandbox_handle(self.app).count("customer")


async def ingest(rt: Runtime, items: list[SourceItem]) -> None:
    async def gen() -> AsyncIterator[SourceItem]:
        for item in items:
            yield item

    await ingest_items(rt, gen())


async def ledger_types(rt: Runtime) -> list[str]:
    return [json.loads(s.raw)["type"] async for s in rt.store.read(f"sl.{ENTITY}.ledger.>")]


async def test_a_ledger_gone_mid_run_ends_it_with_one_line_and_abandons_nothing(
    tmp_path: Path, rt: Runtime
) -> None:
    books = Books(tmp_path)
    await ingest(rt, CUSTOMERS)
    ledger = books.ledger(books.switch(dark=lambda: books.customers() >= 2))
    with pytest.raises(LedgerUnavailable) as gone:
        await sync_bounded(rt, ledger)
    await ledger.aclose()
    message = str(gone.value)
    assert message.startswith("QuickBooks Online at http://qbo.test did not answer for 2 s (")
    assert books.customers() == 2  # then it went away
    waiting = len(CUSTOMERS) - 2
    assert message.endswith(f"; {waiting} records wait and will be pushed when it is back")
    assert "LedgerPushAbandoned" not in await ledger_types(rt)

    ledger = books.ledger(books.switch())  # the ledger is back
    await sync_bounded(rt, ledger)
    await ledger.aclose()
    assert books.customers() == len(CUSTOMERS)  # every record, once
    assert "LedgerPushAbandoned" not in await ledger_types(rt)


async def test_records_an_outage_abandoned_are_pushed_by_the_next_run(
    tmp_path: Path, rt: Runtime
) -> None:
    books = Books(tmp_path)
    await ingest(rt, CUSTOMERS[:2])
    await abandon_as_an_outage_does(rt, "csv/customer/c1")
    ledger = books.ledger(books.switch())
    await sync_bounded(rt, ledger)
    await ledger.aclose()
    assert books.customers() == 2
    state = SyncState(ENTITY, "qbo")
    await state.load(rt.store)
    assert state.records["csv/customer/c1"].ledger_ref is not None
    assert state.records["csv/customer/c1"].abandoned_key is None


async def abandon_as_an_outage_does(rt: Runtime, ref: str) -> None:
    """What the sync appends when a push's attempts run out while the ledger is away."""
    state = SyncState(ENTITY, "qbo")
    await state.load(rt.store)
    sha = state.records[ref].observed_sha
    assert sha is not None
    key = idempotency_key(ref, sha, "qbo")
    events = [
        LedgerPushRequested(
            source_ref=ref,
            ledger="qbo",
            operation="create",
            idempotency_key=key,
            mapping_version="qbo@outage",
            content_sha256=sha,
        ),
        LedgerPushAbandoned(
            source_ref=ref,
            ledger="qbo",
            idempotency_key=key,
            attempts=8,
            message="qbo POST /v3/company/sandbox-realm/customer: ConnectError",
            transient=True,
        ),
    ]
    subject = ledger_subject(ENTITY, "qbo", RecordRef.parse(ref))
    await rt.store.append(
        [make_envelope(e, entity=ENTITY, subject=subject, actor="test") for e in events]
    )
    await asyncio.sleep(0)
