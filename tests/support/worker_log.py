"""The log side of the worker's integration tests: customers ingested for it, and what
its durable consumer has not acknowledged yet."""

from __future__ import annotations

from collections.abc import AsyncIterator

from syncledger.core.bootstrap import Runtime
from syncledger.core.pipeline import ingest_items
from syncledger.core.ports import SourceItem
from syncledger.core.worker import durable_name
from tests.support.records import customer


async def ingest_customers(rt: Runtime, n: int) -> None:
    """Customers ``c0`` .. ``c<n-1>`` ingested into the log."""

    async def gen() -> AsyncIterator[SourceItem]:
        for i in range(n):
            yield customer(f"c{i}")

    await ingest_items(rt, gen())


async def unfinished(rt: Runtime, ledger: str = "qbo") -> int:
    """Messages the worker's consumer for ``ledger`` has not acknowledged: pending or
    delivered and waiting for their ack."""
    durable = durable_name(rt.settings.entity, ledger)
    info = await rt.nc.jetstream().consumer_info(rt.settings.stream, durable)
    return int(info.num_pending + info.num_ack_pending)
