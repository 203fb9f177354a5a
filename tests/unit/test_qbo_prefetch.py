"""QboLedger.prefetch against the QBO sandbox in-process: a batch's ids go in ``Id IN``
queries bounded as the batch matcher bounds its own (adapters/qbo/matching.py), each read
to its last page, and every update of the batch takes its record from there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncledger.adapters.qbo.matching import MAX_VALUE_CHARS, MAX_VALUES
from syncledger.core.ports import CustomerUpdate, CustomerWrite
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer
from tests.support.qbo import InProcessQbo, in_process_qbo


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    async with closed_after(
        in_process_qbo(per_second=200, per_minute=10000, ledger_options={"page_size": 3})
    ) as env:
        yield env


async def created(env: InProcessQbo, n: int) -> str:
    pushed = await env.ledger.create_customer(
        CustomerWrite(customer(n), external_ref=f"csv/customer/C-{n}", idempotency_key=key(str(n)))
    )
    return pushed.ledger_id


def id_lists(env: InProcessQbo, before: int) -> list[str]:
    statements = env.transport.queries("Customer")[before:]
    return [s.split("Id IN (", 1)[1].split(")", 1)[0] for s in statements]


def reads_of(env: InProcessQbo, ledger_id: str) -> int:
    path = f"/customer/{ledger_id}"
    return sum(r.method == "GET" and r.url.path.endswith(path) for r in env.transport.requests)


async def test_a_large_batch_is_read_in_bounded_id_lists(qbo: InProcessQbo) -> None:
    made = [await created(qbo, n) for n in range(1, 6)]  # five: two pages of 3
    absent = [str(10_000 + n) for n in range(245)]
    before = len(qbo.transport.queries("Customer"))
    await qbo.ledger.prefetch("customer", [*made, *absent])
    lists = id_lists(qbo, before)
    # 250 ids: 100, 100 and 50, the first holding the five customers (two pages of 3)
    assert [v.count(",") + 1 for v in lists] == [100, 100, 100, 50]
    assert all(len(v) <= MAX_VALUE_CHARS and v.count(",") < MAX_VALUES for v in lists)
    assert lists[0] == lists[1] and all(f"'{i}'" in lists[0] for i in made)
    for n, ledger_id in enumerate(made, 1):
        await qbo.ledger.update_customer(
            CustomerUpdate(
                customer(n, name=f"Renamed {n}"),
                ledger_id=ledger_id,
                version="0",
                external_ref=f"csv/customer/C-{n}",
                idempotency_key=key(f"u{n}"),
            )
        )
        assert reads_of(qbo, ledger_id) == 0  # each update took its prefetched record
    names = {c["DisplayName"] for c in qbo.sandbox.book.records("Customer")}
    assert names == {f"Renamed {n}" for n in range(1, 6)}
