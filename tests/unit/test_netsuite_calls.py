"""Requests NetSuiteLedger spends per record: a batch's updates are checked against one
SuiteQL read (``prefetch``) instead of one read each, and a record changed in NetSuite is
still refused as stale."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from syncledger.adapters.netsuite.mapping import load_mapping
from syncledger.core.errors import StaleVersionError
from syncledger.core.ports import Prefetcher, PushResult
from tests.contracts.ledger_contract import key
from tests.support.documents import customer
from tests.support.netsuite import InProcessNetSuite, Sent, in_process_netsuite

ZONE = "Pacific/Auckland"  # the user's time zone, which SuiteQL times are written in
START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
async def ns() -> AsyncIterator[InProcessNetSuite]:
    zoned = dataclasses.replace(load_mapping(), timezone=ZONE)
    env = in_process_netsuite(
        concurrency=10, per_minute=2000, latency=0.0, mapping=zoned, timezone=ZONE
    )
    env.sandbox.book.clock = lambda: START
    yield env
    await env.aclose()


async def push_customers(ns: InProcessNetSuite, count: int) -> list[PushResult]:
    return [
        await ns.ledger.create_customer(
            customer(n), external_ref=f"csv/customer/C-{n}", idempotency_key=key("c", n)
        )
        for n in range(1, count + 1)
    ]


async def update_email(ns: InProcessNetSuite, n: int, pushed: PushResult) -> PushResult:
    changed = customer(n).model_copy(update={"email": f"new{n}@acme.example"})
    return await ns.ledger.update_customer(
        changed,
        ledger_id=pushed.ledger_id,
        version=pushed.version,
        external_ref=f"csv/customer/C-{n}",
        idempotency_key=key("cu", n),
    )


def calls(sent: list[Sent]) -> list[str]:
    return [f"{s.method} {'suiteql' if s.path.endswith('/suiteql') else s.path}" for s in sent]


async def test_a_batch_of_updates_is_checked_by_one_suiteql_read(ns: InProcessNetSuite) -> None:
    assert isinstance(ns.ledger, Prefetcher)
    pushed = await push_customers(ns, 5)
    ns.sandbox.book.clock = lambda: START + timedelta(seconds=3)
    ns.wire.sent.clear()

    await ns.ledger.prefetch("customer", [p.ledger_id for p in pushed])
    for n, p in enumerate(pushed, start=1):
        await update_email(ns, n, p)

    sent = calls(ns.wire.sent)
    assert sent[0] == "POST suiteql" and "suiteql" not in " ".join(sent[1:])
    writes = [c for c in sent if c.startswith("PATCH")]
    assert len(writes) == 5
    # no read before any write: each update's only read is the new version after its PATCH
    # (NetSuite answers a PATCH with 204 and no body)
    assert sent[1:] == [c for w in writes for c in (w, w.replace("PATCH", "GET"))]
    emails = {r["email"] for r in ns.sandbox.records("customer")}
    assert emails == {f"new{n}@acme.example" for n in range(1, 6)}


async def test_a_prefetched_record_changed_in_netsuite_is_refused_as_stale(
    ns: InProcessNetSuite,
) -> None:
    (pushed,) = await push_customers(ns, 1)
    ns.sandbox.book.clock = lambda: START + timedelta(seconds=5)
    ns.sandbox.patch("customer", pushed.ledger_id, {"companyName": "Edited in NetSuite"}, ())
    await ns.ledger.prefetch("customer", [pushed.ledger_id])
    ns.wire.sent.clear()

    with pytest.raises(StaleVersionError):
        await update_email(ns, 1, pushed)

    assert calls(ns.wire.sent) == []  # the prefetched row showed it: nothing read, no write
    (held,) = ns.sandbox.records("customer")
    assert (held["companyName"], held.get("email")) == ("Edited in NetSuite", None)


async def test_a_record_changed_in_netsuite_without_a_prefetch_is_refused_as_stale(
    ns: InProcessNetSuite,
) -> None:
    (pushed,) = await push_customers(ns, 1)
    ns.sandbox.patch("customer", pushed.ledger_id, {"companyName": "Edited in NetSuite"}, ())

    with pytest.raises(StaleVersionError):  # same second: the version's digest tells it
        await update_email(ns, 1, pushed)

    (held,) = ns.sandbox.records("customer")
    assert (held["companyName"], held.get("email")) == ("Edited in NetSuite", None)


async def test_a_prefetched_row_is_served_once_then_the_record_is_read(
    ns: InProcessNetSuite,
) -> None:
    (pushed,) = await push_customers(ns, 1)
    await ns.ledger.prefetch("customer", [pushed.ledger_id])
    ns.sandbox.book.clock = lambda: START + timedelta(seconds=2)
    first = await update_email(ns, 1, pushed)
    ns.sandbox.book.clock = lambda: START + timedelta(seconds=4)
    ns.sandbox.patch("customer", pushed.ledger_id, {"companyName": "Edited in NetSuite"}, ())
    ns.wire.sent.clear()

    with pytest.raises(StaleVersionError):  # nothing kept for it now: read, and refused
        await update_email(ns, 1, first)

    assert calls(ns.wire.sent) == [f"GET /services/rest/record/v1/customer/{pushed.ledger_id}"]


async def test_prefetch_ignores_kinds_and_ids_it_cannot_read_in_bulk(
    ns: InProcessNetSuite,
) -> None:
    await ns.ledger.prefetch("payment", ["101"])
    await ns.ledger.prefetch("customer", ["not-an-id"])
    assert ns.wire.sent == []
