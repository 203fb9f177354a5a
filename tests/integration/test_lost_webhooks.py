"""A lost webhook is caught up by the next delta read (issue 11, review), for HubSpot and
Jobber: a person changes the source (a rename, a new customer), the sandbox's sender makes
its signed delivery and the delivery is dropped on the way. The change is in the log
after the next delta read, once; when the sender's late retry of that delivery then
reaches ``serve`` it is stored and re-read, and adds no second observation.

Real parts: the log is JetStream (a real ``nats-server``), ``serve``'s webhook endpoint
runs under uvicorn on a loopback port and the late delivery is a real HTTP POST. The
sandboxes are reached in-process (httpx.ASGITransport), as in the source contract suites:
HubSpot over real HTTP would be read as a live portal, whose delta window ends two minutes
before now (platform.py ``LIVE_CLOCK_MARGIN_MS``), so a change made a moment ago would not
be read yet."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
import uvicorn

from syncledger.adapters.hubspot.platform import SOURCE as HUBSPOT
from syncledger.adapters.hubspot.sandbox.server import TEST_CLIENT_SECRET, HubSpotSandbox
from syncledger.adapters.jobber.platform import SOURCE as JOBBER
from syncledger.adapters.jobber.sandbox.server import sandbox_of as jobber_sandbox_of
from syncledger.core.events import SourceRecordObserved, WebhookProcessed, WebhookReceived
from syncledger.core.keystore import MemoryKeyStore, PiiSealer
from syncledger.core.serve import Endpoint, webhook_app
from syncledger.core.source_ports import (
    SourceReader,
    WebhookReceiver,
    WebhookRequest,
)
from syncledger.core.source_sync import (
    SourceLog,
    WebhookDesk,
    pending_hints,
    poll_source,
    process_webhooks,
)
from syncledger.core.store_jetstream import JetStreamEventStore
from tests.contracts.source_contract import SourceEditor
from tests.unit import test_hubspot_source_contract as hubspot_suite
from tests.unit import test_jobber_source_contract as jobber_suite

pytestmark = pytest.mark.integration

ENTITY = "acme"
PUBLIC_URL = "https://sync.example.com"


@dataclass
class Source:
    """A source under test: its reader, a person at its screens, and the signed delivery
    its sender makes about a customer."""

    reader: SourceReader
    person: SourceEditor
    delivery: Callable[[str], WebhookRequest]


def hubspot_source(tmp_path: Path) -> Source:
    sandbox = HubSpotSandbox()
    reader = HUBSPOT.connect(hubspot_suite.connection(tmp_path, sandbox))
    events = sandbox.store.event

    def delivery(customer: str) -> WebhookRequest:
        return sandbox.store.signed_webhook(
            [events("companies", customer, "propertyChange")],
            secret=TEST_CLIENT_SECRET,
            url=f"{PUBLIC_URL}/webhooks/hubspot",
        )

    return Source(reader, hubspot_suite.HubSpotPerson(sandbox), delivery)


def jobber_source(tmp_path: Path) -> Source:
    app = JOBBER.sandbox_app(None, rate_scale=jobber_suite.SCALE)
    assert app is not None
    sandbox = jobber_sandbox_of(app)
    reader = JOBBER.connect(jobber_suite.connection(app, tmp_path))

    def delivery(customer: str) -> WebhookRequest:
        return sandbox.signed_webhook("CLIENT_UPDATE", customer)

    return Source(reader, jobber_suite.JobberPerson(sandbox), delivery)


SOURCES: dict[str, Callable[[Path], Source]] = {"hubspot": hubspot_source, "jobber": jobber_source}


@pytest.fixture
async def log(nats_url: str) -> AsyncIterator[SourceLog]:
    nc = await nats.connect(nats_url)
    stream = f"LOST_{uuid.uuid4().hex[:8].upper()}"
    store = JetStreamEventStore(nc, stream=stream)
    await store.ensure_stream(create=True)
    try:
        yield SourceLog(store, MemoryKeyStore(), ENTITY, "test")
    finally:
        await store.close()
        await nc.jetstream().delete_stream(stream)
        await nc.close()


@asynccontextmanager
async def serving(log: SourceLog, receiver: WebhookReceiver, system: str) -> AsyncIterator[str]:
    """``serve``'s webhook endpoint for ``system`` on a loopback port, in this event loop
    (the log's connection lives here); the socket listens before the server starts, so a
    first request waits in its backlog."""
    app = webhook_app({system: Endpoint(receiver, WebhookDesk(log, system))}, public_url=PUBLIC_URL)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/{system}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def observed(log: SourceLog, ref: str) -> list[str]:
    """The names the log holds for ``ref``, one per observation, oldest first (names are
    personal: sealed in the envelope, opened here)."""
    names = []
    async for stored in log.store.read():
        envelope = stored.envelope()
        event = envelope.payload()
        if isinstance(event, SourceRecordObserved) and event.ref == ref:
            assert envelope.pii is not None
            opened = PiiSealer(log.keys).open(envelope.pii, envelope.id)
            names.append(str(opened.get("name")))
    return names


async def count(log: SourceLog, kind: type[object]) -> int:
    return sum([isinstance(s.envelope().payload(), kind) async for s in log.store.read()])


async def post(url: str, request: WebhookRequest) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(url, content=request.body, headers=dict(request.headers))


@pytest.mark.parametrize("system", sorted(SOURCES))
async def test_a_lost_webhook_is_caught_up_by_the_next_delta_read_once(
    system: str, log: SourceLog, tmp_path: Path
) -> None:
    source = SOURCES[system](tmp_path)
    reader, person = source.reader, source.person
    assert isinstance(reader, WebhookReceiver)
    try:
        async with serving(log, reader, system) as url:
            renamed = await person.put_customer(None, "Before Ltd")
            await poll_source(log, reader)  # the backfill
            await person.put_customer(renamed, "After Ltd")
            added = await person.put_customer(None, "Added Ltd")
            lost = [source.delivery(renamed), source.delivery(added)]  # dropped on the way
            await process_webhooks(log, reader)  # no receipt: nothing is re-read
            ref_renamed, ref_added = (f"{system}/customer/{c}" for c in (renamed, added))
            assert (await observed(log, ref_renamed), await observed(log, ref_added)) == (
                ["Before Ltd"],
                [],
            )

            caught_up = await poll_source(log, reader)  # the next delta read

            assert caught_up.observed == 2
            assert await observed(log, ref_renamed) == ["Before Ltd", "After Ltd"]
            assert await observed(log, ref_added) == ["Added Ltd"]
            answers = [await post(url, late) for late in lost]  # the sender's late retries
            assert [(a.status_code, a.json()) for a in answers] == [
                (200, {"stored": True, "duplicate": False})
            ] * 2
            assert set(await pending_hints(log, system)) != set()
            late = await process_webhooks(log, reader)
            again = await poll_source(log, reader)
    finally:
        await reader.aclose()  # type: ignore[attr-defined]
    assert (late.observed, again.observed) == (0, 0)
    assert await observed(log, ref_renamed) == ["Before Ltd", "After Ltd"]
    assert await observed(log, ref_added) == ["Added Ltd"]
    assert await count(log, WebhookReceived) == 2
    assert await count(log, WebhookProcessed) == 2
    assert await pending_hints(log, system) == {}
