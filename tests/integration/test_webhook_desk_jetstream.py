"""The webhook desk on the real parts (JetStream, a SQLite keystore): many new customers
at once are each stored once with their keys durable on disk, a retry of any of them is a
duplicate (also in another desk, as in another process), and a write that fails between
the record and the receipt stores nothing of the delivery, and the retry stores it whole
once. Records and receipt are one atomic append: desks racing on one delivery store it
once, a late retry of an older version stores nothing, and a delivery whose record
subject moved meanwhile (another desk's newer version) is stored after it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import nats
import pytest

from syncledger.core.errors import EventStoreError
from syncledger.core.events import Envelope, SourceRecordObserved, WebhookReceived
from syncledger.core.keystore import PiiSealer, SqliteKeyStore
from syncledger.core.source_ports import SourceItem, WebhookDelivery
from syncledger.core.source_sync import SourceLog, WebhookDesk
from syncledger.core.store_jetstream import JetStreamEventStore

pytestmark = pytest.mark.integration

ENTITY = "acme"
KEK = os.urandom(32)


@pytest.fixture
async def store(nats_url: str) -> AsyncIterator[JetStreamEventStore]:
    nc = await nats.connect(nats_url)
    stream = f"DESK_{uuid.uuid4().hex[:8].upper()}"
    store = JetStreamEventStore(nc, stream=stream)
    await store.ensure_stream(create=True)
    try:
        yield store
    finally:
        await store.close()
        await nc.jetstream().delete_stream(stream)
        await nc.close()


class ReceiptRefused:
    """The real store, refusing receipts while ``refusing`` (the log failing between the
    record and the receipt, as a crash there leaves it)."""

    def __init__(self, store: JetStreamEventStore) -> None:
        self.store = store
        self.refusing = True

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        if self.refusing and any(ev.type == "WebhookReceived" for ev in events):
            raise EventStoreError("the log went away")
        return await self.store.append(events, expect)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def new_customer(n: int, name: str = "", delivery: str = "") -> WebhookDelivery:
    fields = {"id": f"C{n}", "name": name or f"Customer {n}", "currency": "USD"}
    item = SourceItem("hooks", "customer", f"C{n}", "v1", fields)
    return WebhookDelivery(delivery or f"msg_{n}", items=(item,))


async def in_log(store: JetStreamEventStore, keys: SqliteKeyStore) -> tuple[list[str], list[str]]:
    """(receipts' delivery ids, the names sealed in the observed records)."""
    sealer, received, names = PiiSealer(keys), [], []
    async for stored in store.read(f"sl.{ENTITY}.>"):
        envelope = stored.envelope()
        payload = envelope.payload()
        if isinstance(payload, WebhookReceived):
            received.append(payload.delivery_id)
        elif isinstance(payload, SourceRecordObserved) and envelope.pii is not None:
            names.append(sealer.open(envelope.pii, envelope.id)["name"])
    return received, names


async def test_many_new_customers_at_once_are_stored_once_with_durable_keys(
    store: JetStreamEventStore, tmp_path: Path
) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    log = SourceLog(store, keys, ENTITY, "serve")
    deliveries = [new_customer(n) for n in range(200)]
    desk, other = WebhookDesk(log, "hooks"), WebhookDesk(log, "hooks")  # two processes
    stored = await asyncio.gather(*(desk.receive(d) for d in deliveries))
    retried = await asyncio.gather(*(other.receive(d) for d in deliveries))
    assert [r.duplicate for r in stored] == [False] * 200
    assert [r.duplicate for r in retried] == [True] * 200
    keys.close()
    received, names = await in_log(store, SqliteKeyStore(tmp_path / "keys.db", KEK))
    assert sorted(received) == sorted(f"msg_{n}" for n in range(200))
    assert sorted(names) == sorted(f"Customer {n}" for n in range(200))


async def test_a_failure_between_record_and_receipt_is_completed_once_by_the_retry(
    store: JetStreamEventStore, tmp_path: Path
) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    failing = ReceiptRefused(store)
    delivery = new_customer(1)
    with pytest.raises(EventStoreError):
        await WebhookDesk(SourceLog(failing, keys, ENTITY, "serve"), "hooks").receive(delivery)
    assert await in_log(store, keys) == ([], [])  # one append: nothing of the delivery
    restarted = WebhookDesk(SourceLog(store, keys, ENTITY, "serve"), "hooks")
    answers = await asyncio.gather(*(restarted.receive(delivery) for _ in range(3)))
    assert sorted(a.duplicate for a in answers) == [False, True, True]
    assert await in_log(store, keys) == (["msg_1"], ["Customer 1"])


async def test_desks_racing_on_deliveries_store_each_once(
    store: JetStreamEventStore, tmp_path: Path
) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    log = SourceLog(store, keys, ENTITY, "serve")
    desks = [WebhookDesk(log, "hooks") for _ in range(3)]  # three processes
    deliveries = [new_customer(n) for n in range(20)]
    tries = [desk.receive(d) for d in deliveries for desk in desks for _ in range(2)]
    answers = await asyncio.gather(*tries)
    assert sum(not a.duplicate for a in answers) == 20
    received, names = await in_log(store, keys)
    assert sorted(received) == sorted(f"msg_{n}" for n in range(20))
    assert sorted(names) == sorted(f"Customer {n}" for n in range(20))


async def test_a_late_retry_of_an_older_version_stores_nothing(
    store: JetStreamEventStore, tmp_path: Path
) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    log = SourceLog(store, keys, ENTITY, "serve")
    stale = WebhookDesk(log, "hooks")
    await stale.receive(new_customer(0))  # its ingestor loaded before what follows
    older, newer = new_customer(1, "Old", "msg_a"), new_customer(1, "New", "msg_b")
    await WebhookDesk(log, "hooks").receive(older)
    await WebhookDesk(log, "hooks").receive(newer)
    answers = [await desk.receive(older) for desk in (stale, WebhookDesk(log, "hooks"))]
    assert [a.duplicate for a in answers] == [True, True]
    assert await in_log(store, keys) == (
        ["msg_0", "msg_a", "msg_b"],
        ["Customer 0", "Old", "New"],
    )


async def test_a_delivery_whose_record_moved_meanwhile_is_stored_after_it(
    store: JetStreamEventStore, tmp_path: Path
) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db", KEK)
    log = SourceLog(store, keys, ENTITY, "serve")
    stale, other = WebhookDesk(log, "hooks"), WebhookDesk(log, "hooks")
    await stale.receive(new_customer(1, "First", "msg_a"))
    await other.receive(new_customer(1, "Second", "msg_b"))
    answer = await stale.receive(new_customer(1, "Third", "msg_c"))  # expects msg_a's seq
    assert (answer.duplicate, answer.records) == (False, 1)
    assert await in_log(store, keys) == (
        ["msg_a", "msg_b", "msg_c"],
        ["First", "Second", "Third"],
    )
