"""QBO: a batch of updates reads its records in one query (``prefetch``), and QBO's own
SyncToken check still refuses a stale update."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncledger.core.errors import StaleVersionError
from syncledger.core.ports import Prefetcher
from tests.contracts.ledger_contract import key
from tests.support.documents import customer, push_customer
from tests.support.qbo import InProcessQbo, in_process_qbo


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    env = in_process_qbo(per_second=50, per_minute=2000)
    yield env
    await env.ledger.aclose()
    env.sandbox.close()


async def _pushed(qbo: InProcessQbo, count: int) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for n in range(1, count + 1):
        ledger_id = await push_customer(qbo.ledger, n)
        record = await qbo.ledger.get("customer", ledger_id)
        assert record is not None
        versions[ledger_id] = record.version
    return versions


async def test_a_batch_of_updates_sends_one_query_and_one_write_each(qbo: InProcessQbo) -> None:
    assert isinstance(qbo.ledger, Prefetcher)
    versions = await _pushed(qbo, 3)
    qbo.transport.requests.clear()
    await qbo.ledger.prefetch("customer", list(versions))
    for n, (ledger_id, version) in enumerate(versions.items(), start=1):
        await qbo.ledger.update_customer(
            customer(n, name=f"Renamed {n}"),
            ledger_id=ledger_id,
            version=version,
            external_ref=f"csv/customer/C-{n}",
            idempotency_key=key("u", n),
        )
    sent = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in qbo.transport.requests]
    assert sent == [("GET", "query")] + [("POST", "customer")] * 3
    for ledger_id in versions:
        record = await qbo.ledger.get("customer", ledger_id)
        assert record is not None and record.name is not None
        assert record.name.startswith("Renamed")


async def test_a_prefetched_record_changed_since_our_write_is_refused_as_stale(
    qbo: InProcessQbo,
) -> None:
    versions = await _pushed(qbo, 1)
    ((ledger_id, ours),) = versions.items()
    await qbo.ledger.update_customer(  # someone else's edit: QBO moves the SyncToken on
        customer(1, name="Their name"),
        ledger_id=ledger_id,
        version=ours,
        external_ref="csv/customer/C-1",
        idempotency_key=key("theirs"),
    )
    await qbo.ledger.prefetch("customer", [ledger_id])
    with pytest.raises(StaleVersionError):
        await qbo.ledger.update_customer(
            customer(1, name="Our name"),
            ledger_id=ledger_id,
            version=ours,
            external_ref="csv/customer/C-1",
            idempotency_key=key("ours"),
        )
    record = await qbo.ledger.get("customer", ledger_id)
    assert record is not None and record.name == "Their name"


async def test_a_record_is_served_from_the_bulk_read_once(qbo: InProcessQbo) -> None:
    versions = await _pushed(qbo, 1)
    ((ledger_id, version),) = versions.items()
    await qbo.ledger.prefetch("customer", [ledger_id])
    qbo.transport.requests.clear()
    first = await qbo.ledger.update_customer(
        customer(1, name="A"),
        ledger_id=ledger_id,
        version=version,
        external_ref="csv/customer/C-1",
        idempotency_key=key("a"),
    )
    await qbo.ledger.update_customer(
        customer(1, name="B"),
        ledger_id=ledger_id,
        version=first.version,
        external_ref="csv/customer/C-1",
        idempotency_key=key("b"),
    )
    sent = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in qbo.transport.requests]
    assert sent == [("POST", "customer"), ("GET", ledger_id), ("POST", "customer")]
