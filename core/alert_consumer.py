"""The durable JetStream consumer alerts are raised from (``core/alert_jobs.py``).

It is created, starting at the newest event, by the first command run while alert
channels are configured (``open_runtime``), so the mismatches a later ``reconcile``
records are raised by whichever process delivers alerts next (``run``, or
``syncledger alerts deliver``), even if none was running at the time. What happened
before alerts were configured is not sent as a burst of old news: ``syncledger errors``
and the reports show it.
"""

from __future__ import annotations

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import api as js_api

from syncledger.core.subjects import entity_filter


def consumer_name(entity: str) -> str:
    return f"alerts-{entity}".replace(".", "_")


def consumer_config(entity: str) -> js_api.ConsumerConfig:
    """One configuration for creating it here and for FastStream binding to it."""
    return js_api.ConsumerConfig(
        durable_name=consumer_name(entity),
        filter_subject=entity_filter(entity),
        ack_policy=js_api.AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_deliver=-1,
        deliver_policy=js_api.DeliverPolicy.NEW,
        max_ack_pending=2000,
    )


async def ensure_alert_consumer(nc: NatsClient, stream: str, entity: str) -> None:
    js = nc.jetstream()
    try:
        await js.consumer_info(stream, consumer_name(entity))
    except nats.js.errors.NotFoundError:
        await js.add_consumer(stream, consumer_config(entity))
