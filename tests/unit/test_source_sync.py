"""Source → log through the source port, on fakes: delta reads with a stored cursor,
webhooks stored before the answer (and once), hints re-read from the log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from syncledger.core.errors import EventStoreError
from syncledger.core.events import (
    Envelope,
    EventData,
    SourceCursorAdvanced,
    SourceMappingPublished,
    SourceRecordObserved,
    WebhookProcessed,
    WebhookReceived,
)
from syncledger.core.keystore import MemoryKeyStore, PiiSealer
from syncledger.core.metrics import REGISTRY
from syncledger.core.serve import Endpoint, webhook_app
from syncledger.core.source_ports import (
    RecordHint,
    SourceChanges,
    SourceItem,
    WebhookDelivery,
    WebhookRefused,
    WebhookRequest,
)
from syncledger.core.source_sync import (
    SourceLog,
    WebhookDesk,
    last_cursor,
    pending_hints,
    poll_source,
    process_webhooks,
    publish_source_mapping,
)
from syncledger.core.store_memory import MemoryEventStore

ENTITY = "acme"
SECRET = b"test-secret"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def customer(cid: str, name: str) -> SourceItem:
    return SourceItem("fake", "customer", cid, "v1", {"id": cid, "name": name, "currency": "USD"})


@dataclass
class FakeSource:
    """A source whose records live in a dict; its cursor is the count of changes seen.
    Deliveries are signed with an HMAC of the body; they name records (hints)."""

    system: str = "fake"
    records: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # ids, in change order
    page: int = 2
    fetched: int = 0
    fail_after_items: bool = False

    def put(self, cid: str, name: str) -> None:
        self.records[cid] = name
        self.changes.append(cid)

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        start = int(cursor or 0)
        ids = self.changes[start : start + self.page]
        items = tuple(customer(i, self.records[i]) for i in ids)
        end = start + len(ids)
        return SourceChanges(items, str(end) if ids else None, more=end < len(self.changes))

    async def aclose(self) -> None:
        return None

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        given = request.headers.get("x-signature")
        if given is None:
            raise WebhookRefused("unsigned", "no x-signature header")
        mac = base64.b64encode(hmac.new(SECRET, request.body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(mac, given):
            raise WebhookRefused("bad_signature", "the signature does not match the body")
        body = json.loads(request.body)
        return WebhookDelivery(body["id"], tuple(RecordHint("customer", i) for i in body["ids"]))

    async def fetch(self, hints: Sequence[RecordHint]) -> list[SourceItem]:
        self.fetched += 1
        return [customer(h.id, self.records[h.id]) for h in hints if h.id in self.records]


def source_log(store: MemoryEventStore | None = None) -> SourceLog:
    return SourceLog(store or MemoryEventStore(), MemoryKeyStore(), ENTITY, "test")


async def events(log: SourceLog) -> list[EventData]:
    return [s.envelope().payload() async for s in log.store.read()]


def of(found: list[EventData], cls: type[EventData]) -> list[EventData]:
    return [e for e in found if isinstance(e, cls)]


# ---------------------------------------------------------------------- delta reads


async def test_a_poll_follows_pages_and_stores_the_cursor_after_the_records() -> None:
    src, log = FakeSource(), source_log()
    for n in range(5):
        src.put(f"c{n}", f"Customer {n}")
    report = await poll_source(log, src)
    assert report.observed == 5
    found = await events(log)
    observed = of(found, SourceRecordObserved)
    assert [e.ref for e in observed] == [f"fake/customer/c{n}" for n in range(5)]  # type: ignore[attr-defined]
    cursors = of(found, SourceCursorAdvanced)
    assert [c.cursor for c in cursors] == ["2", "4", "5"]  # type: ignore[attr-defined]
    # each cursor comes after the records of its page
    kinds = [type(e).__name__ for e in found]
    assert kinds.index("SourceCursorAdvanced") > 1
    assert await last_cursor(log, "fake") == "5"


async def test_the_next_poll_starts_at_the_stored_cursor() -> None:
    src, log = FakeSource(), source_log()
    src.put("c1", "One")
    await poll_source(log, src)
    src.put("c2", "Two")
    again = await poll_source(log, FakeSource(records=src.records, changes=src.changes))
    assert (again.observed, again.unchanged) == (1, 0)


async def test_a_crash_before_the_cursor_rereads_the_page_and_appends_nothing_twice() -> None:
    src, log = FakeSource(page=10), source_log()
    src.put("c1", "One")
    await poll_source(log, src)
    # as if the process died after the records and before the cursor: drop the cursor
    fresh = source_log()
    for stored in [s async for s in log.store.read()]:
        if not isinstance(stored.envelope().payload(), SourceCursorAdvanced):
            await fresh.store.append([stored.envelope()])
    fresh = SourceLog(fresh.store, log.keys, ENTITY, "test")
    report = await poll_source(fresh, src)
    assert (report.observed, report.unchanged) == (0, 1)
    assert len(of(await events(fresh), SourceRecordObserved)) == 1


# ---------------------------------------------------------------------- webhooks


def signed_post(ids: list[str], delivery: str, *, forge: bool = False) -> dict[str, object]:
    body = json.dumps({"id": delivery, "ids": ids}).encode()
    mac = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    if forge:
        body = body.replace(b"c", b"d")
    return {"content": body, "headers": {"x-signature": mac}}


def client(src: FakeSource, log: SourceLog) -> httpx.AsyncClient:
    app = webhook_app({"fake": Endpoint(src, WebhookDesk(log, "fake"))}, clock=lambda: NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve")


def refused(source: str, reason: str) -> float:
    labels = {"source": source, "reason": reason}
    return REGISTRY.get_sample_value("syncledger_webhooks_refused_total", labels) or 0.0


async def test_a_verified_delivery_is_in_the_log_when_it_is_answered() -> None:
    src, log = FakeSource(), source_log()
    src.put("c1", "One")
    async with client(src, log) as http:
        answer = await http.post("/webhooks/fake", **signed_post(["c1"], "d-1"))  # type: ignore[arg-type]
    assert answer.status_code == 200
    assert answer.json() == {"stored": True, "duplicate": False}
    [receipt] = of(await events(log), WebhookReceived)
    assert receipt.delivery_id == "d-1"  # type: ignore[attr-defined]
    assert [h.id for h in receipt.hints] == ["c1"]  # type: ignore[attr-defined]


async def test_a_retried_delivery_is_stored_once() -> None:
    src, log = FakeSource(), source_log()
    async with client(src, log) as http:
        answers = await asyncio.gather(
            *(http.post("/webhooks/fake", **signed_post(["c1"], "d-1")) for _ in range(5))  # type: ignore[arg-type]
        )
    assert {a.status_code for a in answers} == {200}
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True, True]
    assert len(of(await events(log), WebhookReceived)) == 1


async def test_a_forged_or_unsigned_delivery_is_refused_counted_and_not_stored() -> None:
    src, log = FakeSource(), source_log()
    before = refused("fake", "bad_signature"), refused("fake", "unsigned")
    async with client(src, log) as http:
        forged = await http.post("/webhooks/fake", **signed_post(["c1"], "d-1", forge=True))  # type: ignore[arg-type]
        bare = await http.post("/webhooks/fake", content=b'{"id": "d-2", "ids": []}')
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_signature")
    assert (bare.status_code, bare.json()["error"]) == (401, "unsigned")
    assert (refused("fake", "bad_signature"), refused("fake", "unsigned")) == (
        before[0] + 1,
        before[1] + 1,
    )
    assert await events(log) == []


async def test_a_delivery_for_an_unknown_source_is_refused() -> None:
    async with client(FakeSource(), source_log()) as http:
        answer = await http.post("/webhooks/other", content=b"{}")
    assert answer.status_code == 404


class DownStore(MemoryEventStore):
    async def subject_last_seq(self, subject: str) -> int:
        raise EventStoreError("the log is away")

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        raise EventStoreError("the log is away")


async def test_a_delivery_the_log_cannot_take_is_answered_503_for_the_sender_to_retry() -> None:
    log = source_log(DownStore())
    async with client(FakeSource(), log) as http:
        answer = await http.post("/webhooks/fake", **signed_post(["c1"], "d-1"))  # type: ignore[arg-type]
    assert answer.status_code == 503


async def test_hints_are_reread_through_the_source_then_marked_processed() -> None:
    src, log = FakeSource(), source_log()
    src.put("c1", "Named in the hook")
    async with client(src, log) as http:
        await http.post("/webhooks/fake", **signed_post(["c1", "gone"], "d-1"))  # type: ignore[arg-type]
    report = await process_webhooks(log, src)
    assert report.observed == 1
    found = await events(log)
    [observed] = of(found, SourceRecordObserved)
    assert "name" not in observed.record  # type: ignore[attr-defined]  # sealed: personal
    [stored] = [
        s.envelope() async for s in log.store.read() if s.envelope().type == "SourceRecordObserved"
    ]
    assert stored.pii is not None
    opened = PiiSealer(log.keys).open(stored.pii, stored.id)
    assert opened["name"] == "Named in the hook"
    assert len(of(found, WebhookProcessed)) == 1
    assert await pending_hints(log, "fake") == {}
    assert (await process_webhooks(log, src)).observed == 0
    assert src.fetched == 1  # nothing pending: no second read


async def test_a_receipt_left_unprocessed_by_a_crash_is_processed_once_later() -> None:
    src, log = FakeSource(), source_log()
    src.put("c1", "One")
    await WebhookDesk(log, "fake").receive(WebhookDelivery("d-1", (RecordHint("customer", "c1"),)))
    assert set(await pending_hints(log, "fake")) != set()
    first = await process_webhooks(log, src)
    second = await process_webhooks(log, src)
    assert (first.observed, second.observed) == (1, 0)


async def test_records_a_signed_body_carries_are_stored_before_the_receipt() -> None:
    log = source_log()
    desk = WebhookDesk(log, "fake")
    delivery = WebhookDelivery("d-9", items=(customer("c7", "Carried"),))
    receipt = await desk.receive(delivery)
    again = await desk.receive(delivery)
    assert (receipt.duplicate, receipt.records, again.duplicate) == (False, 1, True)
    kinds = [type(e).__name__ for e in await events(log)]
    assert kinds == ["SourceRecordObserved", "WebhookReceived"]


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_serve_answers_health_and_metrics(path: str) -> None:
    async with client(FakeSource(), source_log()) as http:
        assert (await http.get(path)).status_code == 200


# ---------------------------------------------------------------------- source mapping


async def test_a_source_mapping_is_published_once_and_named_on_what_it_shaped() -> None:
    src, log = FakeSource(), source_log()
    src.put("c1", "One")
    mapped = await publish_source_mapping(log, "fake", "version = 1\n[customer]\nname = 'n'\n")
    again = await publish_source_mapping(log, "fake", "version = 1\n[customer]\nname = 'n'\n")
    assert mapped.mapping == again.mapping
    assert mapped.mapping is not None and mapped.mapping.startswith("fake@")
    await poll_source(mapped, src)
    found = await events(log)
    [published] = of(found, SourceMappingPublished)
    assert published.mapping_version == mapped.mapping  # type: ignore[attr-defined]
    [observed] = of(found, SourceRecordObserved)
    assert observed.source_mapping == mapped.mapping  # type: ignore[attr-defined]
    changed = await publish_source_mapping(log, "fake", "version = 2\n")
    assert changed.mapping != mapped.mapping
    assert len(of(await events(log), SourceMappingPublished)) == 2
