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
from syncledger.core.source_sync import Receipt, SourceLog, WebhookDesk, _RecentIds
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
        await desk.receive(delivery)  # serve says 503
    assert await events(store) == []  # record and receipt are one append: nothing of it
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


async def test_a_late_retry_through_a_desk_that_missed_the_newer_version_stores_nothing() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    older, newer = carrying("d-1", customer("c1", "Old")), carrying("d-2", customer("c1", "New"))
    stale = WebhookDesk(log, "hooks")
    await stale.receive(carrying("d-0", customer("c0", "Other")))  # loaded before d-1, d-2
    await WebhookDesk(log, "hooks").receive(older)
    await WebhookDesk(log, "hooks").receive(newer)
    assert (await stale.receive(older)).duplicate is True
    found = await events(store)
    assert [ref for ref, _ in observed(found)] == ["hooks/customer/c0"] + ["hooks/customer/c1"] * 2
    assert receipts(found) == ["d-0", "d-1", "d-2"]


async def test_after_a_refused_late_retry_the_desk_still_knows_the_newer_version() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    desk = WebhookDesk(log, "hooks", _recent=_RecentIds(1))  # forgets d-1 once d-2 is in
    await desk.receive(carrying("d-1", customer("c1", "Old")))
    await desk.receive(carrying("d-2", customer("c1", "New")))
    assert (await desk.receive(carrying("d-1", customer("c1", "Old")))).duplicate is True
    assert (await desk.receive(carrying("d-3", customer("c1", "New")))).duplicate is False
    found = await events(store)
    assert len(observed(found)) == 2  # d-3's version is the log's latest: only its receipt
    assert receipts(found) == ["d-1", "d-2", "d-3"]


async def test_a_newer_version_appended_meanwhile_is_read_and_the_delivery_goes_after_it() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    stale = WebhookDesk(log, "hooks")
    await stale.receive(carrying("d-0", customer("c1", "First")))
    await WebhookDesk(log, "hooks").receive(carrying("d-1", customer("c1", "Second")))
    answer = await stale.receive(carrying("d-2", customer("c1", "Third")))  # expects d-0's seq
    assert (answer.duplicate, answer.records) == (False, 1)
    found = await events(store)
    assert len(observed(found)) == 3
    assert receipts(found) == ["d-0", "d-1", "d-2"]


async def test_the_same_version_appended_meanwhile_is_not_appended_again() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    stale = WebhookDesk(log, "hooks")
    await stale.receive(carrying("d-0", customer("c0", "Other")))
    await WebhookDesk(log, "hooks").receive(carrying("d-1", customer("c1", "Same")))
    assert (await stale.receive(carrying("d-2", customer("c1", "Same")))).duplicate is False
    found = await events(store)
    assert [ref for ref, _ in observed(found)] == ["hooks/customer/c0", "hooks/customer/c1"]
    assert receipts(found) == ["d-0", "d-1", "d-2"]


async def test_a_delivery_carrying_records_is_stored_once_across_desks_and_tries() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    desks = [WebhookDesk(log, "hooks") for _ in range(3)]  # three processes
    delivery = carrying("d-5", customer("c5", "Five"), customer("c6", "Six"))
    answers = await asyncio.gather(*(d.receive(delivery) for d in desks for _ in range(4)))
    assert sorted(a.duplicate for a in answers) == [False] + [True] * 11
    found = await events(store)
    assert sorted(ref for ref, _ in observed(found)) == ["hooks/customer/c5", "hooks/customer/c6"]
    assert receipts(found) == ["d-5"]


class RefusingDelivery(MemoryEventStore):
    """Refuses every append holding the receipt of delivery ``refused`` (the log failing
    for that one write)."""

    refused = ""

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        if any(ev.subject.endswith(f".webhook.{self.refused}") for ev in events):
            raise EventStoreError("the log is away")
        return await super().append(events, expect)


async def test_a_record_in_two_deliveries_at_once_is_stored_when_one_of_them_fails() -> None:
    store = RefusingDelivery()
    store.refused = "d-1"
    desk = WebhookDesk(SourceLog(store, MemoryKeyStore(), ENTITY, "serve"), "hooks")
    same = customer("c1", "One")
    answers = await asyncio.gather(
        desk.receive(carrying("d-1", same)),
        desk.receive(carrying("d-2", same)),
        return_exceptions=True,
    )
    assert isinstance(answers[0], EventStoreError)
    assert answers[1] == Receipt(duplicate=False, records=1)
    found = await events(store)
    assert [ref for ref, _ in observed(found)] == ["hooks/customer/c1"]
    assert receipts(found) == ["d-2"]


class CountedLookups(MemoryEventStore):
    lookups = 0

    async def subject_last_seq(self, subject: str) -> int:
        self.lookups += 1
        return await super().subject_last_seq(subject)


async def test_a_delivery_is_one_append_without_a_receipt_lookup() -> None:
    store = CountedLookups()
    desk = WebhookDesk(SourceLog(store, MemoryKeyStore(), ENTITY, "serve"), "hooks")
    await desk.receive(carrying("d-1", customer("c1", "One"), customer("c2", "Two")))
    assert store.lookups == 0
    assert [s.seq async for s in store.read()] == [1, 2, 3]


async def test_a_delivery_too_large_for_one_append_is_stored_in_two_steps_once() -> None:
    store = MemoryEventStore()
    log = SourceLog(store, MemoryKeyStore(), ENTITY, "serve")
    delivery = carrying("d-1", customer("c1", "One"), customer("c2", "Two"))
    first = await WebhookDesk(log, "hooks", one_append_max=1).receive(delivery)
    again = await WebhookDesk(log, "hooks", one_append_max=1).receive(delivery)
    assert (first.duplicate, again.duplicate) == (False, True)
    found = await events(store)
    assert len(observed(found)) == 2
    assert receipts(found) == ["d-1"]


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


async def test_staging_leaves_the_ingestors_memory_as_it_was() -> None:
    store = MemoryEventStore()
    ingestor = SourceLog(store, MemoryKeyStore(), ENTITY, "serve").ingestor()
    items = [customer("c1", "One"), customer("c1", "One"), customer("c2", "Two")]
    first = ingestor.stage(items)
    again = ingestor.stage(items)  # nothing appended: the same is still new
    assert [ev.subject for ev in first.envelopes] == [ev.subject for ev in again.envelopes]
    assert len(first.envelopes) == 2  # the same version twice in one delivery: once
    seqs = await store.append(list(first.envelopes), dict(first.expect))
    ingestor.appended(first, seqs)
    assert ingestor.stage(items).envelopes == ()
