"""The sync process on fakes: MemoryEventStore + MemoryLedger + MemoryKeyStore."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

import pytest

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.ingest import Ingestor
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.mapping import Mapping
from syncledger.core.ports import SourceItem
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.sync import Outcome, SyncService
from syncledger.core.sync_state import SyncState
from tests.support.records import customer, invoice, payment

ENTITY = "acme"


class Harness:
    def __init__(
        self,
        ledger: MemoryLedger | None = None,
        max_attempts: int = 4,
        mapping: Mapping | None = None,
        authority: dict[str, str] | None = None,
    ) -> None:
        self.mapping = mapping
        self.authority = authority
        self.store = MemoryEventStore()
        self.keys = MemoryKeyStore()
        self.ledger = ledger or MemoryLedger()
        self.max_attempts = max_attempts
        self.consumed = 0

    async def service(self) -> SyncService:
        state = SyncState(ENTITY, self.ledger.ledger)
        await state.load(self.store)
        return SyncService(
            self.store,
            self.ledger,
            self.keys,
            state,
            entity=ENTITY,
            actor="test",
            mapping_version="memory@1",
            max_attempts=self.max_attempts,
            base_delay=0.0,
            mapping=self.mapping,
            authority=self.authority,
        )

    async def ingest(self, items: Iterable[SourceItem]) -> None:
        ingestor = Ingestor(self.store, self.keys, entity=ENTITY, actor="test")
        await ingestor.load()

        async def gen() -> AsyncIterator[SourceItem]:
            for item in items:
                yield item

        await ingestor.ingest(gen())

    async def run(self, service: SyncService | None = None, rounds: int = 10) -> list[Outcome]:
        """Deliver every source event (from the last consumed one), re-delivering retries."""
        service = service or await self.service()
        outcomes: list[Outcome] = []
        pending = [s async for s in self.store.read(f"sl.{ENTITY}.source.>", self.consumed + 1)]
        if pending:
            self.consumed = pending[-1].seq
        for _ in range(rounds):
            retry = []
            for stored in pending:
                outcome = await service.handle(stored.seq, stored.subject, stored.raw)
                outcomes.append(outcome)
                if outcome.status == "retry":
                    retry.append(stored)
            if not retry:
                break
            pending = retry
        return outcomes

    async def types(self, ref_fragment: str = "") -> list[str]:
        return [
            json.loads(s.raw)["type"] async for s in self.store.read() if ref_fragment in s.subject
        ]


BOOK = [
    customer("c1", email="ada@example.com"),
    customer("c2"),
    invoice("i1", "c1"),
    invoice("i2", "c2", discount="5.00"),
    payment("p1", "i1", "c1", "60.00"),
]


async def test_customers_invoices_and_payments_reach_the_ledger_once() -> None:
    h = Harness()
    await h.ingest(BOOK)
    outcomes = await h.run()
    assert [o.status for o in outcomes if o.status != "ignored"] == ["pushed"] * 5
    assert (h.ledger.count("customer"), h.ledger.count("invoice"), h.ledger.count("payment")) == (
        2,
        2,
        1,
    )
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None and inv.total == Decimal("110.00") and inv.balance == Decimal("50.00")
    assert await h.types("invoice.csv-i1") == ["LedgerPushRequested", "LedgerPushSucceeded"]


async def test_redelivery_and_a_fresh_worker_push_nothing_again() -> None:
    h = Harness()
    await h.ingest(BOOK)
    await h.run()
    h.consumed = 0  # every message delivered again, to a worker rebuilt from the log
    again = await h.run()
    assert {o.status for o in again} <= {"skipped", "ignored"}
    assert h.ledger.calls == 5


async def test_reimporting_unchanged_data_appends_nothing() -> None:
    h = Harness()
    await h.ingest(BOOK)
    before = await h.store.last_seq()
    await h.ingest(BOOK)
    assert await h.store.last_seq() == before


async def test_crash_after_the_ledger_committed_is_recovered_without_a_duplicate() -> None:
    # the platform ignores its idempotency key (as QBO users report): only lookup saves us
    ledger = MemoryLedger(
        honour_keys=False, commit_then_fail=[TransientLedgerError("timed out", code="timeout")]
    )
    h = Harness(ledger)
    await h.ingest([customer("c1")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["retry", "recovered"]
    assert ledger.count("customer") == 1
    assert await h.types() == [
        "SourceRecordObserved",
        "LedgerPushRequested",
        "LedgerPushFailed",
        "LedgerPushSucceeded",
    ]


async def test_worker_killed_between_commit_and_outcome_recovers_on_restart() -> None:
    ledger = MemoryLedger(honour_keys=False)
    h = Harness(ledger)
    await h.ingest([customer("c1"), invoice("i1", "c1")])
    await h.run()
    # simulate the kill: the ledger has an invoice, the log only its request
    await h.ingest([invoice("i2", "c1")])
    service = await h.service()
    service_ledger_create = ledger.create_invoice

    async def crash(*args: object, **kwargs: object) -> object:
        await service_ledger_create(*args, **kwargs)  # type: ignore[arg-type]
        raise SystemExit("killed")

    ledger.create_invoice = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await h.run(service)
    ledger.create_invoice = service_ledger_create  # type: ignore[method-assign]
    h.consumed -= 1  # the unacked message is redelivered to a new worker
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["recovered"]
    assert ledger.count("invoice") == 2


async def test_transient_errors_retry_then_succeed_and_permanent_ones_are_abandoned() -> None:
    ledger = MemoryLedger(fail_next=[TransientLedgerError("503", code="503", retry_after=0)] * 2)
    h = Harness(ledger)
    await h.ingest([customer("c1")])
    assert [o.status for o in await h.run()] == ["retry", "retry", "pushed"]
    ledger.fail_next = [PermanentLedgerError("Business Validation Error", code="6000")]
    await h.ingest([customer("c2")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    assert ledger.count("customer") == 1


async def test_too_many_transient_failures_are_abandoned_not_dropped() -> None:
    ledger = MemoryLedger(fail_next=[TransientLedgerError("503", code="503")] * 10)
    h = Harness(ledger, max_attempts=3)
    await h.ingest([customer("c1")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["retry", "retry", "abandoned"]
    assert (await h.types()).count("LedgerPushAbandoned") == 1


async def test_invalid_records_become_rejections_with_reasons() -> None:
    h = Harness()
    await h.ingest(
        [
            customer("c1"),
            invoice("i1", "c1", total="999.00"),
            invoice("i2", "c1", currency="XYZ"),
            invoice("i3", "nobody"),
        ]
    )
    outcomes = await h.run()
    assert [o.status for o in outcomes][1:] == ["rejected"] * 3
    reasons = {}
    async for s in h.store.read():
        ev = json.loads(s.raw)
        if ev["type"] == "SourceRecordRejected":
            reasons[ev["data"]["ref"]] = {r["code"] for r in ev["data"]["reasons"]}
    assert "totals_mismatch" in reasons["csv/invoice/i1"]
    assert "unknown_currency" in reasons["csv/invoice/i2"]
    assert reasons["csv/invoice/i3"] == {"customer_not_found"}
    assert h.ledger.count("invoice") == 0


async def test_an_invoice_of_a_rejected_customer_is_rejected_too() -> None:
    h = Harness()
    await h.ingest([customer("c1", name="Bad: Name"), invoice("i1", "c1")])
    h.ledger.ledger = "qbo"
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["rejected", "rejected"]


async def test_an_older_version_never_overwrites_a_newer_one() -> None:
    h = Harness()
    await h.ingest([customer("c1"), customer("c1", name="Renamed", version="2026-02-01")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["skipped", "pushed"]
    [rec] = [r for r in h.ledger.records.values()]
    assert rec.name == "Renamed"


async def test_an_existing_ledger_customer_is_linked_not_duplicated() -> None:
    h = Harness()
    h.ledger.seed_customer("Existing Co")  # created by a person, carries no reference of ours
    await h.ingest([customer("c1", name="Existing Co")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["linked"]
    assert h.ledger.count("customer") == 1
    assert await h.types("customer.csv-c1") == ["LedgerPushRequested", "RecordLinked"]


async def test_ambiguous_matches_are_not_guessed_but_wait_for_review() -> None:
    h = Harness()
    first = h.ledger.seed_customer("Twin Co")
    second = h.ledger.seed_customer("twin co")
    await h.ingest([customer("c1", name="Twin Co"), invoice("i1", "c1")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["review", "rejected"]
    assert (h.ledger.count("customer"), h.ledger.count("invoice")) == (2, 0)
    service = await h.service()
    rec = service.state.records["csv/customer/c1"]
    assert rec.review_candidates == (first, second)
    assert service.state.records["csv/invoice/i1"].waiting_on == "csv/customer/c1"
    # a redelivery does not ask again, nor guess
    assert "ReviewRequested" in await h.types("customer.csv-c1")


async def test_an_older_version_arriving_late_is_ignored() -> None:
    h = Harness()
    await h.ingest([customer("c1", name="Newest", version="2026-03-01T00:00:00")])
    await h.ingest([customer("c1", name="Stale", version="2026-01-01T00:00:00")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["pushed", "skipped"]
    [rec] = list(h.ledger.records.values())
    assert rec.name == "Newest"
