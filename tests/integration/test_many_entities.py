"""Hundreds of entities on one log stream (issue 13, "Owned partitions": a provider syncing
hundreds of client companies), on a real nats-server configured as the embedded one.

nats-server 2.15 holds at most ``default_max_consumers`` consumers on a stream that sets
no limit of its own — 1,000 unless configured (core/embedded.py) — idle ephemeral ones
included, and every read of the log used to leave one behind for a minute
(core/jetstream_read.py). Here 300 entities each get their durable sync consumer, 295
through the worker's own code (``build_broker``, all of them pulling at once, as one
worker owning them all would) and 5 through ``sync --once`` after an import of their own
records; those 5 end in the ledger, no read leaves a consumer behind, the stream takes
consumers beyond nats-server's own default, and no "maximum consumers" refusal appears
anywhere (the server's log, our logs).
"""

from __future__ import annotations

import logging
from pathlib import Path

import nats as nats_py
import pytest
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js import api as js_api

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import MAX_CONSUMERS_PER_STREAM, EmbeddedNats
from syncledger.core.ledgers import open_ledger
from syncledger.core.pipeline import import_csv, sync_once, sync_service
from syncledger.core.settings import Settings
from syncledger.core.store import STREAM_NAME
from syncledger.core.worker import build_broker, durable_name
from tests.e2e.test_partitions import write_export

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITIES = [f"client{n:03d}" for n in range(300)]
SAMPLE = ENTITIES[::60]  # 5 of them: imported and synced
REFUSED = "maximum consumers"
#: nats-server 2.15's own default_max_consumers (measured on 2.15.1; core/embedded.py)
SERVER_DEFAULT = 1000


@pytest.fixture
def cfg(tmp_path: Path, server: EmbeddedNats) -> Settings:
    return Settings(data_dir=tmp_path / "state", nats_url=server.url, entities=ENTITIES)


async def consumer_names(js: JetStreamContext) -> list[str]:
    names: list[str] = []
    while True:  # the server lists at most 256 at a time
        batch = await js.consumers_info(STREAM_NAME, offset=len(names))
        names += [c.name for c in batch]
        if not batch:
            return names


async def start_workers(cfg: Settings, entities: list[str]) -> list[NatsBroker]:
    """The worker's brokers for ``entities``, each creating and pulling from its durable
    consumer (their events never come: only the sample entities have any)."""
    idle = cfg.for_entity("idle-service")
    brokers = []
    async with open_runtime(idle) as rt:
        ledger = open_ledger(idle)
        try:
            service = await sync_service(rt, ledger)
        finally:
            await ledger.aclose()
    for entity in entities:
        broker, _stats = build_broker(
            str(cfg.nats_url), service, stream=STREAM_NAME, entity=entity, ledger="qbo"
        )
        await broker.start()
        brokers.append(broker)
    return brokers


async def invoice_refs(settings: Settings) -> set[str | None]:
    ledger = open_ledger(settings)
    try:
        return {r.external_ref async for r in ledger.adapter.list_all("invoice")}
    finally:
        await ledger.aclose()


async def test_three_hundred_entities_each_with_its_sync_consumer_on_one_stream(
    cfg: Settings, server: EmbeddedNats, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    brokers = await start_workers(cfg, [e for e in ENTITIES if e not in SAMPLE])
    nc = await nats_py.connect(server.url)
    js = nc.jetstream()
    try:
        for n, entity in enumerate(SAMPLE):
            one = cfg.for_entity(entity)
            report = await import_csv(one, write_export(tmp_path / entity, 2, 3, tag=f"s{n}"))
            assert report.refused == 0
            said = await sync_once(one)
            assert REFUSED not in said
            assert {f"csv/invoice/s{n}I{i}" for i in range(3)} <= await invoice_refs(one)

        names = await consumer_names(js)
        assert {durable_name(e, "qbo") for e in ENTITIES} <= set(names)
        # nothing but durable ones: every read deleted the consumer it made
        assert [n for n in names if not n.startswith(("sync-", "alerts-"))] == []

        # the stream takes consumers beyond nats-server's own default
        extra = SERVER_DEFAULT + 1 - len(names)
        config = js_api.ConsumerConfig(
            ack_policy=js_api.AckPolicy.NONE, mem_storage=True, inactive_threshold=30.0
        )
        made = [(await js.add_consumer(STREAM_NAME, config)).name for _ in range(extra)]
        assert len(await consumer_names(js)) == SERVER_DEFAULT + 1 < MAX_CONSUMERS_PER_STREAM
        for name in made:
            await js.delete_consumer(STREAM_NAME, name)
    finally:
        await nc.close()
        for broker in brokers:
            await broker.stop()
    assert REFUSED not in server.log_file.read_text()
    assert REFUSED not in caplog.text
