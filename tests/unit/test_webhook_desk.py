"""The webhook desk's fast path keeps its guarantees: a delivery is stored once across
tries, desks (processes) and restarts, a crash or a failed write between the record and
the receipt loses nothing and stores nothing twice, a late retry never appends an older
version over a newer one, and new customers' data keys are durable (real SQLite) before
their records are appended."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from syncledger.core.errors import EventStoreError, KeyStoreError, SubjectErased
from syncledger.core.events import (
    Envelope,
    EventData,
    SourceRecordObserved,
    WebhookReceived,
)
from syncledger.core.keys_ahead import KeysAhead
from syncledger.core.keystore import MemoryKeyStore, PiiSealer, SqliteKeyStore, subject_key_id
from syncledger.core.source_ports import RecordHint, SourceItem, WebhookDelivery
from syncledger.core.source_sync import SourceLog, WebhookDesk
from syncledger.core.store_memory import MemoryEventStore

ENTITY = "acme"
KEK = os.urandom(32)


def customer(cid: str, name: str) -> SourceItem:
    return SourceItem("hooks", "customer", cid, "v1", {"id": cid, "name": name, "currency": "USD"})


def carrying(delivery_id: str, *items: SourceItem) -> WebhookDelivery:
    return WebhookDelivery(delivery_id, items=items)


async def events(store: MemoryEventStore) -> list[EventData]:
    return [s.envelope().payload() async for s in store.read()]


def observed(found: list[EventData]) -> list[tuple[str, str]]:
    return [(e.ref, e.content_sha256) for e in found if isinstance(e, SourceRecordObserved)]


def receipts(found: list[EventData]) -> list[str]:
    return [e.delivery_id for e in found if isinstance(e, WebhookReceived)]


class FailingStore(MemoryEventStore):
    """Refuses the appends it is told to (as a log that went away would)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()  # event types to refuse, e.g. WebhookReceived

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        if any(ev.type in self.refuse for ev in events):
            raise EventStoreError("the log is away")
        return await super().append(events, expect)


async def test_a_failed_receipt_write_then_a_retry_stores_the_record_and_receipt_once() -> None:
    store = FailingStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    desk = WebhookDesk(log, "hooks")
    delivery = carrying("d-1", customer("c1", "One"))
    store.refuse = {"WebhookReceived"}
    with pytest.raises(EventStoreError):
        await desk.receive(delivery)  # the record is in, the receipt is not: serve says 503
    store.refuse = set()
    again = await desk.receive(delivery)
    restarted = await WebhookDesk(log, "hooks").receive(delivery)  # a process after a restart
    assert (again.duplicate, restarted.duplicate) == (False, True)
    found = await events(store)
    assert len(observed(found)) == 1
    assert receipts(found) == ["d-1"]


async def test_a_failed_record_write_is_not_taken_as_stored_by_the_retry() -> None:
    """The ingestor remembers what it appended; after a failed append it must not skip
    the same record on the retry as unchanged."""
    store = FailingStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    desk = WebhookDesk(log, "hooks")
    delivery = carrying("d-1", customer("c1", "One"))
    store.refuse = {"SourceRecordObserved"}
    with pytest.raises(EventStoreError):
        await desk.receive(delivery)
    store.refuse = set()
    assert (await desk.receive(delivery)).duplicate is False
    found = await events(store)
    assert [ref for ref, _ in observed(found)] == ["hooks/customer/c1"]
    assert receipts(found) == ["d-1"]


async def test_a_late_retry_after_a_newer_version_appends_nothing() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    older, newer = carrying("d-1", customer("c1", "Old")), carrying("d-2", customer("c1", "New"))
    await WebhookDesk(log, "hooks").receive(older)
    await WebhookDesk(log, "hooks").receive(newer)
    late = await WebhookDesk(log, "hooks").receive(older)  # another process, or after a restart
    assert late.duplicate is True
    found = await events(store)
    assert len(observed(found)) == 2
    assert receipts(found) == ["d-1", "d-2"]


async def test_hint_deliveries_are_stored_once_across_desks_and_tries() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    desks = [WebhookDesk(log, "hooks") for _ in range(3)]  # three processes
    delivery = WebhookDelivery("d-7", (RecordHint("customer", "c7"),))
    answers = await asyncio.gather(*(d.receive(delivery) for d in desks for _ in range(4)))
    assert sorted(a.duplicate for a in answers) == [False] + [True] * 11
    assert receipts(await events(store)) == ["d-7"]


async def test_new_customers_keys_are_durable_before_their_records(tmp_path: Path) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    store = MemoryEventStore()
    desk = WebhookDesk(SourceLog(store, keys, ENTITY, "serve"), "hooks")
    deliveries = [carrying(f"d-{n}", customer(f"c{n}", f"Name {n}")) for n in range(20)]
    answers = await asyncio.gather(*(desk.receive(d) for d in deliveries))
    assert [a.duplicate for a in answers] == [False] * 20
    keys.close()
    reopened = SqliteKeyStore(tmp_path / "keys.db", KEK)  # what a restart finds on disk
    sealer = PiiSealer(reopened)
    names = []
    async for stored in store.read():
        envelope = stored.envelope()
        if envelope.pii is not None:
            names.append(sealer.open(envelope.pii, envelope.id)["name"])
    assert sorted(names) == sorted(f"Name {n}" for n in range(20))


class CountedKeyStore(SqliteKeyStore):
    """The real keystore, noting how many new keys each batch asked for."""

    batches: list[int]

    def create_missing(self, key_ids: Iterable[str]) -> None:
        wanted = list(key_ids)
        self.batches.append(len(self.uncached(wanted)))
        super().create_missing(wanted)


async def test_keys_asked_for_together_are_made_in_one_batch(tmp_path: Path) -> None:
    keys = CountedKeyStore(tmp_path / "keys.db", KEK)
    keys.batches = []
    ahead = KeysAhead(keys)
    await asyncio.gather(*(ahead.ready([f"k{n}"]) for n in range(50)))
    assert keys.batches == [50]
    assert keys.uncached(f"k{n}" for n in range(50)) == []


class LoopWatchedKeyStore(SqliteKeyStore):
    """The real keystore, noting each key the ingest had to read or make itself."""

    on_loop: list[str]

    def data_key(self, key_id: str, *, create: bool = False) -> bytes:
        if self.uncached([key_id]):
            self.on_loop.append(key_id)
        return super().data_key(key_id, create=create)


async def test_the_ingest_finds_every_new_customers_key_made_ahead(tmp_path: Path) -> None:
    keys = LoopWatchedKeyStore(tmp_path / "keys.db", KEK)
    keys.on_loop = []
    desk = WebhookDesk(SourceLog(MemoryEventStore(), keys, ENTITY, "serve"), "hooks")
    invoice = SourceItem("hooks", "invoice", "i1", "v1", {"id": "i1", "customer_id": "c9"})
    deliveries = [carrying(f"d-{n}", customer(f"c{n}", f"Name {n}")) for n in range(10)]
    await asyncio.gather(*(desk.receive(d) for d in [*deliveries, carrying("d-i", invoice)]))
    # the entity's one name-digest key (nmk-) is read once per process, not per delivery
    assert [k for k in keys.on_loop if not k.startswith("nmk-")] == []
    assert keys.uncached(subject_key_id(ENTITY, f"hooks/customer/c{n}") for n in range(10)) == []


async def test_a_shredded_key_stays_shredded_when_asked_for_ahead(tmp_path: Path) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    gone = subject_key_id(ENTITY, "hooks/customer/c1")
    keys.data_key(gone, create=True)
    keys.shred(gone)
    await KeysAhead(keys).ready([gone, "other"])
    with pytest.raises(SubjectErased):
        keys.data_key(gone, create=True)
    assert keys.is_shredded(gone)
    assert keys.data_key("other") is not None


class BrokenOnceKeyStore(SqliteKeyStore):
    """The real keystore, whose next batch fails while ``broken`` (a disk error)."""

    broken: bool

    def create_missing(self, key_ids: Iterable[str]) -> None:
        if self.broken:
            self.broken = False
            raise KeyStoreError("cannot store new data keys (disk I/O error)")
        super().create_missing(key_ids)


async def test_a_failed_key_batch_fails_its_callers_and_the_next_batch_is_made(
    tmp_path: Path,
) -> None:
    keys = BrokenOnceKeyStore(tmp_path / "keys.db", KEK)
    keys.broken = True
    ahead = KeysAhead(keys)
    with pytest.raises(KeyStoreError):
        await ahead.ready(["k1"])
    await ahead.ready(["k1", "k2"])
    assert keys.uncached(["k1", "k2"]) == []
