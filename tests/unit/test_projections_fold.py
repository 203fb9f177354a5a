"""Properties of the fold (balances arithmetic, batching) and of event decoding."""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncledger.core.errors import ProjectionError
from syncledger.core.events import (
    Envelope,
    LedgerPushFailed,
    SourceRecordObserved,
    make_envelope,
    subject_for,
)
from syncledger.core.store import StoredEvent
from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import ProjectionRunner, make_engine, replay
from syncledger.projections.decode import decode
from syncledger.projections.digest import digests
from syncledger.projections.fold import HANDLED, IGNORED, apply, decimal_text
from syncledger.projections.schema import LIVE
from syncledger.projections.state import WorkingSet
from tests.unit.test_projections_contract import deleted, observed

DOCS = ("csv/invoice/I1", "csv/invoice/I2", "csv/payment/P1", "csv/credit_note/N1")
CUSTOMERS = ("csv/customer/A", "csv/customer/B")
CURRENCIES = ("USD", "JPY")
BUCKET = {"invoice": "invoiced", "credit_note": "credited", "payment": "paid"}

amount = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=3,
    allow_nan=False, allow_infinity=False,
)  # fmt: skip
observe_op = st.tuples(
    st.just("observe"), st.sampled_from(DOCS), amount, st.sampled_from(CUSTOMERS),
    st.sampled_from(CURRENCIES), st.booleans(),
)  # fmt: skip
delete_op = st.tuples(st.just("delete"), st.sampled_from(DOCS))
ops = st.lists(st.one_of(observe_op, observe_op, delete_op), min_size=1, max_size=25)


def _events(operations: list[tuple[object, ...]]) -> list[Envelope]:
    events = []
    for version, op in enumerate(operations):
        if op[0] == "delete":
            events.append(deleted(str(op[1]), str(version)))
            continue
        _, ref, total, customer, currency, void = op
        events.append(
            observed(
                str(ref),
                str(version),
                total=str(total),
                customer=str(customer),
                currency=str(currency),
                status="void" if void else "open",
            )
        )
    return events


def _expected(operations: list[tuple[object, ...]]) -> dict[tuple[str, str, str], Decimal]:
    """Model: the latest state of each document, summed per customer/currency/bucket."""
    latest: dict[str, tuple[object, ...] | None] = {}
    for op in operations:
        latest[str(op[1])] = None if op[0] == "delete" else op
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for ref, op in latest.items():
        if op is None or op[5]:
            continue
        _, _, total, customer, currency, _ = op
        bucket = BUCKET[ref.split("/")[1]]
        sums[(str(customer), str(currency), bucket)] += Decimal(str(total))
    return sums


def _fold(events: list[Envelope]) -> WorkingSet:
    ws = WorkingSet(complete=True)
    stored = [StoredEvent(i + 1, e.subject, e.to_bytes()) for i, e in enumerate(events)]
    apply(ws, [ev for s in stored if (ev := decode(s, HANDLED)) is not None])
    return ws


@given(ops)
@settings(max_examples=300, deadline=None)
def test_balances_equal_sum_of_latest_versions(operations: list[tuple[object, ...]]) -> None:
    ws = _fold(_events(operations))
    expected = _expected(operations)
    got: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in ws.balances.rows.values():
        for bucket in BUCKET.values():
            got[(row["customer_ref"], row["currency"], bucket)] = Decimal(row[bucket])
        invoiced, credited, paid = (Decimal(row[b]) for b in ("invoiced", "credited", "paid"))
        assert Decimal(row["balance"]) == invoiced - credited - paid
    for k in set(expected) | set(got):
        assert got[k] == expected[k], k


@given(ops, st.integers(min_value=1, max_value=6))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_batching_gives_the_replayed_tables(
    operations: list[tuple[object, ...]], batch: int
) -> None:
    asyncio.run(_same_as_replay(_events(operations), batch))


async def _same_as_replay(events: list[Envelope], batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'rm.db'}")
        try:
            store = MemoryEventStore()
            runner = ProjectionRunner(engine, store, batch_size=batch, max_cached_rows=3)
            for i in range(0, len(events), 4):
                await store.append(events[i : i + 4])
                await runner.catch_up()
            with engine.connect() as conn:
                incremental = digests(conn, LIVE)
            await replay(engine, store)
            with engine.connect() as conn:
                assert digests(conn, LIVE) == incremental
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    ("value", "text"),
    [("100.50", "100.50"), ("1E+2", "100"), (Decimal("0.000"), "0.000"), (7, "7"),
     ("abc", None), ("NaN", None), (1.5, None), (True, None), (None, None), (" 3.10 ", "3.10")],
)  # fmt: skip
def test_decimal_text(value: object, text: str | None) -> None:
    assert decimal_text(value) == text


def test_every_known_event_type_is_handled_or_ignored_explicitly() -> None:
    import syncledger.audit.events  # noqa: F401 - registers the audit module's event types
    from syncledger.core.events import registered_types

    registered = registered_types()
    assert "CheckpointSigned" in registered
    handled = set(HANDLED)
    unhandled = {
        name for name, cls in registered.items()
        if cls.category != "audit" and cls not in handled | IGNORED
    }  # fmt: skip
    assert unhandled == set()  # a new source/ledger/recon type needs a decision here
    assert not handled & IGNORED


def test_numbers_are_decoded_as_decimal_never_float() -> None:
    env = make_envelope(
        observed("csv/invoice/X").payload().model_copy(update={"record": {"total": 0}}),
        entity="e", subject=subject_for("e", "source", "csv", "invoice", "X"), actor="t",
    )  # fmt: skip
    raw = env.to_bytes().replace(b'"total":0', b'"total":12.30')
    event = decode(StoredEvent(1, env.subject, raw), HANDLED)
    assert event is not None and isinstance(event.payload, SourceRecordObserved)
    assert event.payload.record["total"] == Decimal("12.30")
    assert isinstance(event.payload.record["total"], Decimal)


def test_unwanted_types_are_not_decoded_further() -> None:
    env = observed("csv/invoice/X")
    assert decode(StoredEvent(1, env.subject, env.to_bytes()), (LedgerPushFailed,)) is None


def test_garbage_bytes_are_a_projection_error_naming_the_sequence() -> None:
    with pytest.raises(ProjectionError, match="sequence 42"):
        decode(StoredEvent(42, "sl.x", b"{not json"), HANDLED)


def test_newer_schema_version_than_code_is_refused() -> None:
    env = observed("csv/invoice/X")
    raw = env.to_bytes().replace(b'"schema_version":1', b'"schema_version":99')
    with pytest.raises(ProjectionError, match="newer than this code"):
        decode(StoredEvent(5, env.subject, raw), HANDLED)


def test_amounts_beyond_exact_precision_are_refused_not_rounded() -> None:
    wide = "9" * 23 + "." + "9" * 24  # as wide as the read models take: 47 digits
    events = [observed(f"csv/invoice/I{i}", total=wide) for i in range(3)]
    events.append(observed("csv/invoice/I9", total="9" * 25))  # one digit too many
    ws = _fold(events)
    (customer,) = ws.balances.rows.values()
    assert customer["invoiced"] == "2" + "9" * 23 + "." + "9" * 23 + "7"  # exact: 3 x wide
    (row,) = ws.unfoldable.rows.values()
    assert (row["seq"], row["source_ref"]) == (4, "csv/invoice/I9")
    assert "25 digits before the point" in row["reason"]
    assert ("acme", "csv/invoice/I9") not in ws.records.rows  # no half-applied state


def test_sums_that_cannot_be_exact_are_unfoldable_not_rounded() -> None:
    almost = "9" * 24  # adding 1 to the sum of 10^36 of these would need 61 digits
    ws = WorkingSet(complete=True)
    ws.balances.put({
        "entity": "acme", "customer_ref": "csv/customer/C1", "currency": "USD",
        "invoiced": "9" * 60, "credited": "0", "paid": "0", "balance": "9" * 60, "last_seq": 1,
    })  # fmt: skip
    env = observed("csv/invoice/I1", total=almost)
    apply(ws, [decode(StoredEvent(2, env.subject, env.to_bytes()), HANDLED)])  # type: ignore[list-item]
    (row,) = ws.unfoldable.rows.values()
    assert "cannot be added exactly within 60 digits (Inexact)" in row["reason"]
    (customer,) = ws.balances.rows.values()
    assert customer["invoiced"] == "9" * 60  # untouched


def test_the_record_with_the_wide_amount_is_the_unfoldable_one() -> None:
    """The issue's log: ``1e309`` then an ordinary invoice of the same customer. The
    wide one is refused by the fold; the ordinary one folds as usual."""
    events = [observed("csv/invoice/I1", total="1e309"), observed("csv/invoice/I2", total="10.00")]
    ws = _fold(events)
    (row,) = ws.unfoldable.rows.values()
    assert (row["seq"], row["source_ref"], row["event_type"]) == (
        1,
        "csv/invoice/I1",
        "SourceRecordObserved",
    )
    assert "310 digits before the point" in row["reason"]
    (customer,) = ws.balances.rows.values()
    assert customer["invoiced"] == "10.00"


def test_an_event_that_fails_half_way_leaves_nothing_of_itself() -> None:
    """Its old contribution was already taken out of the balance when adding the new one
    failed: both changes are undone, and only the unfoldable row remains."""
    ws = WorkingSet(complete=True)
    first = observed("csv/invoice/I1", total="1")
    apply(ws, [decode(StoredEvent(1, first.subject, first.to_bytes()), HANDLED)])  # type: ignore[list-item]
    (key,) = ws.balances.rows
    ws.balances.put({**ws.balances.rows[key], "invoiced": "9" * 60, "balance": "9" * 60})
    before = {name: dict(t.rows) for name, t in ws.tables.items()}
    second = observed("csv/invoice/I1", "2", total="9" * 24)  # 9..98 + 9..9: 61 digits
    recorded = apply(ws, [decode(StoredEvent(2, second.subject, second.to_bytes()), HANDLED)])  # type: ignore[list-item]
    assert [r["seq"] for r in recorded] == [2]
    after = {name: dict(t.rows) for name, t in ws.tables.items()}
    assert after["unfoldable"].keys() == {("acme", 2)}
    assert {k: v for k, v in after.items() if k != "unfoldable"} == {
        k: v for k, v in before.items() if k != "unfoldable"
    }


class GarbageAt:
    """The event-store port over a memory store whose event ``seq`` holds bytes that are
    not an event (a log written by something else, or damaged)."""

    def __init__(self, inner: MemoryEventStore, seq: int, raw: bytes) -> None:
        self.inner, self.seq, self.raw = inner, seq, raw

    async def read(self, subjects: str = "sl.>", from_seq: int = 1) -> AsyncIterator[StoredEvent]:
        async for stored in self.inner.read(subjects, from_seq):
            yield (
                StoredEvent(stored.seq, stored.subject, self.raw)
                if stored.seq == self.seq
                else stored
            )

    async def last_seq(self) -> int:
        return await self.inner.last_seq()


@pytest.mark.parametrize(
    "raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"type": "SourceRecordObserved"}']
)
async def test_bytes_that_are_not_an_event_are_unfoldable(raw: bytes, tmp_path: Path) -> None:
    inner = MemoryEventStore()
    await inner.append([observed(f"csv/invoice/I{n}", total=str(n)) for n in (1, 2, 4)])
    store = GarbageAt(inner, 2, raw)
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    try:
        runner = ProjectionRunner(engine, store, batch_size=2)  # type: ignore[arg-type]
        assert await runner.catch_up() == 3
        with engine.connect() as conn:
            [row] = conn.execute(LIVE.unfoldable.select()).mappings().all()
        assert (row["seq"], row["entity"], row["source_ref"]) == (2, "acme", "")
        with engine.connect() as conn:
            totals = sorted(r.total for r in conn.execute(LIVE.records.select()))
        assert totals == ["1", "4"]
    finally:
        engine.dispose()
