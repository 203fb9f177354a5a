"""Finance alerts wired into a process (composition root): the FastStream subscriber that
raises alerts from the log, and the desk that delivers them (``core/alerts.py``).

The subscriber is a durable JetStream pull consumer (``alerts-<entity>``) on the entity's
events; a batch is acknowledged only after every alert it raises is in the log, so a
crash redelivers it and raising again stores nothing twice (the alert's subject must be
empty). The consumer starts at the newest event the first time alert channels are
configured: what was open before is in ``syncledger errors`` and the reports, not sent
as a burst of old news.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage

from syncledger.adapters.alerts.registry import open_channels
from syncledger.audit.alert_drafts import register as register_audit_drafts
from syncledger.core.alert_consumer import consumer_config, consumer_name
from syncledger.core.alerts import AlertDesk, TurnReport
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.logs import quiet_idle_fetches
from syncledger.core.settings import Settings, nats_servers
from syncledger.core.store import StoredEvent
from syncledger.core.subjects import entity_filter
from syncledger.core.worker import wait_idle

log = logging.getLogger(__name__)

BatchMessage = Annotated[NatsBatchMessage, Context("message")]


@contextlib.asynccontextmanager
async def alert_desk(rt: Runtime) -> AsyncIterator[AlertDesk]:
    """The entity's desk with its configured channels, closed on the way out."""
    register_audit_drafts()
    s = rt.settings
    channels = open_channels(s.alert_channels)
    try:
        yield AlertDesk(
            rt.store,
            entity=s.entity,
            actor=s.actor,
            configs=s.alert_channels,
            channels=channels,
            delays=s.alert_retry_delays_s,
        )
    finally:
        for channel in channels.values():
            await channel.aclose()


def build_alert_broker(rt: Runtime, desk: AlertDesk) -> NatsBroker:
    s = rt.settings
    quiet_idle_fetches(log)
    broker = NatsBroker(nats_servers(rt.nats_url), logger=log, graceful_timeout=15.0)
    consumer = consumer_config(s.entity)

    @broker.subscriber(
        entity_filter(s.entity),
        stream=JStream(s.stream, declare=False),
        durable=consumer_name(s.entity),
        config=consumer,
        pull_sub=PullSub(batch_size=200, timeout=0.5, batch=True),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_events(msg: BatchMessage) -> None:
        raws = msg.raw_message
        items = [StoredEvent(m.metadata.sequence.stream, m.subject, m.data) for m in raws]
        try:
            await desk.raise_for(items)
        except Exception:  # the log away for a moment, a bug: the batch comes back
            log.exception("raising alerts from stream seqs %s.. failed; will retry", items[0].seq)
            for m in raws:
                await m.nak(delay=5.0)
            return
        for m in raws:
            await m.ack()

    return broker


@contextlib.asynccontextmanager
async def raising(rt: Runtime, desk: AlertDesk) -> AsyncIterator[NatsBroker]:
    """The subscriber, running for the duration of the block."""
    broker = build_alert_broker(rt, desk)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def deliver_now(rt: Runtime) -> TurnReport:
    """``syncledger alerts deliver``: raise what the log holds, then one delivery pass."""
    async with alert_desk(rt) as desk, raising(rt, desk):
        s = rt.settings
        await wait_idle(rt.nc.jetstream(), s.stream, consumer_name(s.entity), give_up_after=120)
        return await desk.turn()


async def deliver_alerts(settings: Settings) -> TurnReport:
    async with open_runtime(settings) as rt:
        return await deliver_now(rt)
