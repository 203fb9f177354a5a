"""A batch's new customers matched at once (core/sync_matches.py), on the memory ledger
with and without the ``CustomerBatchMatcher`` capability: the same outcomes and the same
ledger, with one match request per batch instead of one per customer."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from syncledger.adapters.memory import BatchMatchingMemoryLedger, MemoryLedger
from syncledger.core.errors import TransientLedgerError
from syncledger.core.model import Customer
from syncledger.core.ports import CustomerBatchMatcher, LedgerRecord, SourceItem
from syncledger.core.sync import Outcome
from syncledger.core.sync_matches import BatchMatches
from tests.support.records import customer
from tests.unit.test_sync import ENTITY, Harness


async def run_many(h: Harness) -> list[Outcome]:
    """Every source event not yet handled, as one batch (the worker's handle_many)."""
    service = await h.service()
    items = [
        (s.seq, s.subject, s.raw)
        async for s in h.store.read(f"sl.{ENTITY}.source.>", h.consumed + 1)
    ]
    h.consumed = items[-1][0]
    return await service.handle_many(items)


def seeded(ledger: MemoryLedger, name: str, **raw: str) -> str:
    """A customer someone created by hand in the ledger (no reference of ours)."""
    rec = LedgerRecord("customer", f"hand-{len(ledger.records) + 1}", "0", None, name=name, raw=raw)
    ledger.records[rec.ledger_id] = rec
    return rec.ledger_id


def customers_in(ledger: MemoryLedger) -> list[tuple[str | None, str | None]]:
    return sorted((r.name, r.external_ref) for r in ledger.records.values())


async def both(
    batches: list[list[SourceItem]], seed: dict[str, dict[str, str]]
) -> tuple[list[list[Outcome]], Harness, list[list[Outcome]], Harness]:
    """The same batches through a ledger with the capability and one without."""
    results = []
    for ledger in (BatchMatchingMemoryLedger(), MemoryLedger()):
        for name, raw in seed.items():
            seeded(ledger, name, **raw)
        h = Harness(ledger)
        outcomes = []
        for batch in batches:
            await h.ingest(batch)
            outcomes.append(await run_many(h))
        results.append((outcomes, h))
    (with_cap, h_cap), (without, h_plain) = results
    return with_cap, h_cap, without, h_plain


def test_only_the_capable_ledger_is_a_batch_matcher() -> None:
    assert isinstance(BatchMatchingMemoryLedger(), CustomerBatchMatcher)
    assert not isinstance(MemoryLedger(), CustomerBatchMatcher)


async def test_a_batch_of_new_customers_is_matched_in_one_request() -> None:
    batch = [customer("c1"), customer("c2", "Acme Ltd"), customer("c3")]
    with_cap, h_cap, without, h_plain = await both([batch], {"ACME LTD ": {}})
    statuses = [o.status for o in with_cap[0]]
    assert statuses == ["pushed", "linked", "pushed"]
    assert statuses == [o.status for o in without[0]]
    assert customers_in(h_cap.ledger) == customers_in(h_plain.ledger)
    ledger = h_cap.ledger
    assert isinstance(ledger, BatchMatchingMemoryLedger)
    assert (ledger.matched_batches, ledger.matched_one) == ([3], 0)


async def test_batch_mates_with_the_same_name_never_make_two_customers() -> None:
    batch = [customer("c1", "Twin Co"), customer("c2", "twin co")]
    with_cap, h_cap, without, h_plain = await both([batch], {})
    assert [o.status for o in with_cap[0]] == ["pushed", "rejected"]
    assert [o.status for o in without[0]] == ["pushed", "rejected"]
    assert customers_in(h_cap.ledger) == customers_in(h_plain.ledger)
    assert h_cap.ledger.count("customer") == 1


async def test_two_versions_of_one_customer_in_a_batch_create_it_once() -> None:
    first = customer("c1", "Version One")
    second = customer("c1", "Version Two", version="2026-01-02T00:00:00")
    with_cap, h_cap, without, h_plain = await both([[first, second]], {})
    # the worker's state already holds the second version: the first is superseded
    assert [o.status for o in without[0]] == ["skipped", "pushed"]
    assert [o.status for o in with_cap[0]] == ["skipped", "pushed"]
    assert customers_in(h_cap.ledger) == customers_in(h_plain.ledger)
    assert customers_in(h_cap.ledger) == [("Version Two", "csv/customer/c1")]
    ledger = h_cap.ledger
    assert isinstance(ledger, BatchMatchingMemoryLedger)
    assert (ledger.matched_batches, ledger.matched_one) == ([1], 0)  # the second version's


async def test_versions_arriving_while_the_worker_runs_create_once_then_update() -> None:
    h = Harness(BatchMatchingMemoryLedger())
    service = await h.service()  # running before the changes arrive: nothing folded yet
    await h.ingest([customer("c1", "Version One")])
    await h.ingest([customer("c1", "Version Two", version="2026-01-02T00:00:00")])
    items = [(s.seq, s.subject, s.raw) async for s in h.store.read(f"sl.{ENTITY}.source.>")]
    outcomes = await service.handle_many(items)
    assert [o.status for o in outcomes] == ["pushed", "pushed"]  # a create, then an update
    assert customers_in(h.ledger) == [("Version Two", "csv/customer/c1")]
    ledger = h.ledger
    assert isinstance(ledger, BatchMatchingMemoryLedger)
    assert (ledger.matched_batches, ledger.matched_one) == ([1], 0)


async def test_an_update_in_the_batch_is_seen_by_the_batch_mates_it_now_matches() -> None:
    """c1 is linked to a hand-made customer; the batch gives c1 c2's tax id, so after
    c1's update that ledger customer matches c2 (by tax id). Matched one by one, c2 links
    to it; the answer read before the update (no match) must not be served, or c2 would
    be created beside it."""
    linked = customer("c1", "Hand Made")
    batch = [
        _with(customer("c1", "Hand Made", version="2026-01-02T00:00:00"), tax_id="DE136695976"),
        _with(customer("c2", "Other Name"), tax_id="DE 136 695 976"),
    ]
    with_cap, h_cap, without, h_plain = await both([[linked], batch], {"Hand Made": {}})
    assert [o.status for o in with_cap[0]] == ["linked"]
    assert [o.status for o in without[1]] == ["pushed", "linked"]
    assert [o.status for o in with_cap[1]] == ["pushed", "linked"]
    assert customers_in(h_cap.ledger) == customers_in(h_plain.ledger)
    assert h_cap.ledger.count("customer") == 1
    ledger = h_cap.ledger
    assert isinstance(ledger, BatchMatchingMemoryLedger)
    assert ledger.matched_batches == [1, 1]  # c2 read with the batch, asked again after
    assert ledger.matched_one == 1


async def test_a_failed_batch_read_falls_back_to_one_by_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Fails(BatchMatchingMemoryLedger):
        async def match_customers(self, customers: object) -> dict[str, list[LedgerRecord]]:
            raise TransientLedgerError("no answer to: Name IN ('Customer c1')", code="timeout")

    h = Harness(Fails())
    await h.ingest([customer("c1"), customer("c2")])
    with caplog.at_level(logging.INFO):
        assert [o.status for o in await run_many(h)] == ["pushed", "pushed"]
    ledger = h.ledger
    assert isinstance(ledger, Fails)
    assert ledger.matched_one == 2
    assert "TransientLedgerError timeout" in caplog.text
    assert "Customer c1" not in caplog.text  # the ledger's message may quote names


def _with(item: SourceItem, **fields: str) -> SourceItem:
    return replace(item, fields={**item.fields, **fields})


# ---------------------------------------------------------------- BatchMatches alone


def _customer(cid: str, name: str, **more: str) -> Customer:
    return Customer(id=cid, name=name, currency="USD", **more)  # type: ignore[arg-type]


async def _read(customers: dict[str, Customer], clock: list[float]) -> BatchMatches:
    ledger = BatchMatchingMemoryLedger()
    matches = BatchMatches(max_age=60.0, clock=lambda: clock[0])
    await matches.read(ledger, customers)
    return matches


async def test_an_answer_is_served_once_for_the_customer_it_was_read_for() -> None:
    a = _customer("a", "Alpha")
    matches = await _read({"x/customer/a": a}, [0.0])
    assert matches.take("x/customer/a", _customer("a", "Alpha 2")) is None  # another version
    matches = await _read({"x/customer/a": a}, [0.0])
    assert matches.take("x/customer/a", a) == []
    assert matches.take("x/customer/a", a) is None  # served once


async def test_an_old_answer_is_not_served() -> None:
    clock = [0.0]
    a = _customer("a", "Alpha")
    matches = await _read({"x/customer/a": a}, clock)
    clock[0] = 61.0
    assert matches.take("x/customer/a", a) is None


async def test_a_write_drops_the_answers_of_batch_mates_sharing_a_key() -> None:
    mates = {
        "x/customer/name": _customer("name", "Shared  NAME"),
        "x/customer/email": _customer("email", "E", email="Ops@Example.com"),
        "x/customer/tax": _customer("tax", "T", tax_id="de-123.456"),
        "x/customer/none": _customer("none", "Unrelated", email="else@example.com"),
    }
    matches = await _read(mates, [0.0])
    written = _customer("w", "shared name", email="ops@example.com ", tax_id="DE123456")
    matches.writing(written)
    assert matches.take("x/customer/none", mates["x/customer/none"]) == []
    for ref in ("x/customer/name", "x/customer/email", "x/customer/tax"):
        assert matches.take(ref, mates[ref]) is None, ref


async def test_an_update_drops_the_answers_naming_that_ledger_customer() -> None:
    ledger = BatchMatchingMemoryLedger()
    hand = seeded(ledger, "Alpha")
    a = _customer("a", "alpha")
    matches = BatchMatches()
    await matches.read(ledger, {"x/customer/a": a})
    matches.writing(_customer("b", "Renamed Elsewhere"), hand)
    assert matches.take("x/customer/a", a) is None


async def test_a_ledger_without_the_capability_is_never_asked() -> None:
    matches = BatchMatches()
    await matches.read(MemoryLedger(), {"x/customer/a": _customer("a", "Alpha")})
    assert len(matches) == 0
