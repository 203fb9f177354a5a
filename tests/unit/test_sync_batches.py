"""Creating documents through a ledger's batch endpoint (handle_many), on fakes."""

from __future__ import annotations

from collections.abc import Sequence

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.errors import LedgerError, PermanentLedgerError, TransientLedgerError
from syncledger.core.ports import CreateRequest, PushResult
from syncledger.core.sync import Outcome
from tests.support.records import customer, invoice, payment
from tests.unit.test_sync import ENTITY, Harness

BOOK = [
    customer("c1"),
    customer("c2"),
    invoice("i1", "c1"),
    invoice("i2", "c1"),
    invoice("i3", "c2"),
    payment("p1", "i1", "c1", "10.00"),
    payment("p2", "i3", "c2", "110.00"),
]


async def run_many(h: Harness) -> list[Outcome]:
    service = await h.service()
    items = [(s.seq, s.subject, s.raw) async for s in h.store.read(f"sl.{ENTITY}.source.>")]
    return await service.handle_many(items)


async def test_documents_go_in_batches_and_each_lands_once() -> None:
    h = Harness()
    await h.ingest(BOOK)
    outcomes = await run_many(h)
    assert [o.status for o in outcomes] == ["pushed"] * 7
    assert h.ledger.batches == [3, 2]  # invoices together; payments after their invoices
    assert (h.ledger.count("invoice"), h.ledger.count("payment")) == (3, 2)
    again = await run_many(h)  # redelivered: nothing new
    assert {o.status for o in again} == {"skipped"}
    assert h.ledger.batches == [3, 2]


class CommitsThenTimesOut(MemoryLedger):
    """The batch lands in the ledger, the answer is lost (and keys are not honoured)."""

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        await super().create_many(requests, batch_key=batch_key)
        raise TransientLedgerError("read timed out", code="timeout")


async def test_a_batch_lost_after_commit_is_recovered_item_by_item() -> None:
    h = Harness(CommitsThenTimesOut(honour_keys=False))
    await h.ingest(BOOK[:5])
    first = await run_many(h)
    assert [o.status for o in first] == ["pushed", "pushed", "retry", "retry", "retry"]
    second = await run_many(h)  # the worker restarts; the unacked messages come back
    assert [o.status for o in second][2:] == ["recovered"] * 3
    assert h.ledger.count("invoice") == 3


class RefusesOne(MemoryLedger):
    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        results = await super().create_many(requests[1:], batch_key=batch_key)
        return [PermanentLedgerError("Invalid Reference Id", code="2500"), *results]


async def test_one_refused_item_does_not_fail_the_batch() -> None:
    h = Harness(RefusesOne())
    await h.ingest(BOOK[:5])
    outcomes = await run_many(h)
    assert [o.status for o in outcomes][2:] == ["abandoned", "pushed", "pushed"]
    assert h.ledger.count("invoice") == 2
