"""Property (issue 19 §3): every numeric field of every record kind, fed extreme and
malformed values (huge, tiny, many digits, exponents, NaN, Infinity, -0, empty, not a
number, unicode digits, floats, huge integers, …), goes through ingest, the sync worker
(memory ledger), the fold, replay and reconcile without anything stopping; each value is
either refused with a reason (at ingest or by the worker) or handled exactly (the ledger
and the read models hold precisely the amount the source gave)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from syncledger.core.money import quantize
from syncledger.core.pipeline import expected_records
from syncledger.core.ports import SourceItem
from syncledger.core.reconcile import Reconciler
from syncledger.core.validation import parse_decimal, storable_number_reasons
from syncledger.projections import ProjectionRunner, ReadModels, make_engine, replay
from syncledger.projections.digest import digests
from syncledger.projections.schema import LIVE
from tests.support.records import credit_note, customer, invoice, payment, refund
from tests.unit.test_sync import ENTITY, Harness
from tests.unit.test_validation_properties import FAST

#: (kind, field); ``lines.x`` is the first line's ``x``
FIELDS = [
    ("invoice", "total"),
    ("invoice", "discount"),
    ("invoice", "exchange_rate"),
    ("invoice", "amount_paid"),
    ("invoice", "lines.quantity"),
    ("invoice", "lines.unit_price"),
    ("invoice", "lines.tax_amount"),
    ("credit_note", "total"),
    ("credit_note", "lines.unit_price"),
    ("payment", "amount"),
    ("refund", "amount"),
]
NAMED = [
    "1e309", "1e61", "-1e309", "1E+2", "2.5e-3", "1e-7", "NaN", "nan", "sNaN", "Infinity",
    "-Infinity", "inf", "-0", "0", "-0.00", "+5", "", "   ", "abc", "12abc", "1,000", "$5",
    "--1", "0x10", "½", "²", "١٢٣", "１２３", "9" * 12, "9" * 13, "999999999999.99",
    "1000000000000", "0.000001", "0.0000001", "1." + "0" * 40, "0." + "0" * 29 + "1",
    "1234567890.1234567", "-5.00", "100.005", "0.01", "110.00", "25.00",
]  # fmt: skip
ODD = [
    None, True, [], {}, 1.5, float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"),
    Decimal("-Infinity"), Decimal("1E+309"), Decimal("-0"), 10**30, -(10**13), 10**5000, 7,
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(NAMED),
    st.sampled_from(ODD),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(),
    st.floats(),
    st.text(alphabet="0123456789.-+eE ", max_size=40),
)


def _base(kind: str) -> SourceItem:
    if kind == "invoice":
        return invoice("x1", "c1")
    if kind == "credit_note":
        return credit_note("x1", "i1", "c1", amount="10.00")
    if kind == "payment":
        return payment("x1", "i1", "c1", "110.00")
    return refund("x1", "c1", "10.00", payment_id="p0")


def _with(kind: str, field: str, value: Any) -> SourceItem:
    item = _base(kind)
    fields: dict[str, Any] = json.loads(json.dumps(item.fields))
    if field.startswith("lines."):
        fields["lines"][0][field.removeprefix("lines.")] = value
    else:
        fields[field] = value
    if field != "total":
        _consistent_total(kind, fields)
    return SourceItem(item.system, item.kind, item.id, item.version, fields)


def _consistent_total(kind: str, fields: dict[str, Any]) -> None:
    """When the new value is a storable number, the total that agrees with it (so that
    extreme but valid values get pushed, not only rejected for totals_mismatch)."""
    if kind not in ("invoice", "credit_note") or storable_number_reasons(kind, fields):
        return
    line = fields["lines"][0]
    parts = [parse_decimal("", v)[0] for v in (line["quantity"], line["unit_price"])]
    extra = [parse_decimal("", line.get(n) or "0")[0] for n in ("tax_amount",)]
    discount = parse_decimal("", fields.get("discount") or "0")[0]
    if None in (*parts, *extra, discount):
        return
    with localcontext() as ctx:
        ctx.prec = 80
        total = parts[0] * parts[1] + extra[0] - discount  # type: ignore[operator]
    fields["total"] = str(quantize(total, "USD"))


async def _events(h: Harness, ref: str) -> list[dict[str, Any]]:
    out = []
    async for stored in h.store.read():
        event = json.loads(stored.raw)
        if event["data"].get("ref", event["data"].get("source_ref")) == ref:
            out.append(event)
    return out


async def _pipeline(kind: str, field: str, value: Any) -> None:
    h = Harness()
    await h.ingest([customer("c1"), invoice("i1", "c1"), payment("p0", "i1", "c1", "120.00")])
    await h.ingest([_with(kind, field, value)])
    await h.run()
    engine = make_engine("sqlite://")
    try:
        await _fold_replay_reconcile(h, engine)
        await _refused_or_exact(h, ReadModels(engine), f"csv/{kind}/x1", field, value)
    finally:
        engine.dispose()


async def _fold_replay_reconcile(h: Harness, engine: Any) -> None:
    models = ReadModels(engine)
    runner = ProjectionRunner(engine, h.store)
    await runner.catch_up()
    assert models.unfoldable(ENTITY, superseded=True) == []  # nothing unfoldable got in
    with engine.connect() as conn:
        before = digests(conn, LIVE)
    await replay(engine, h.store)
    with engine.connect() as conn:
        assert digests(conn, LIVE) == before
    expected = expected_records(models, ENTITY, h.ledger.ledger)
    report = await Reconciler(h.store, h.ledger, entity=ENTITY, actor="prop").run(expected, {})
    assert report.open == []  # whatever was pushed, the ledger holds exactly
    await runner.catch_up()


async def _refused_or_exact(
    h: Harness, models: ReadModels, ref: str, field: str, value: Any
) -> None:
    events = await _events(h, ref)
    rejections = [e for e in events if e["type"] == "SourceRecordRejected"]
    pushed = [e for e in events if e["type"] == "LedgerPushSucceeded"]
    assert bool(rejections) != bool(pushed), [e["type"] for e in events]
    event("refused at ingest" if rejections and not rejections[0]["data"]["ledger"] else
          "rejected by the worker" if rejections else "pushed")  # fmt: skip
    if rejections:
        assert all(e["data"]["reasons"] for e in rejections)
        shown = [e for e in models.open_errors(ENTITY) if e.source_ref == ref]
        assert shown and all(e.error in ("rejected", "refused") and e.reasons for e in shown)
        return
    held = await h.ledger.find(ref.split("/")[1], ref)
    record = models.record(ENTITY, ref)
    assert held is not None and record is not None
    assert held.total == record.total  # the read model holds what the ledger holds
    if field in ("total", "amount"):
        assert held.total == Decimal(str(value).strip())  # exactly what the source said


@settings(FAST, max_examples=150)
@given(target=st.sampled_from(FIELDS), value=VALUES)
@example(target=("invoice", "total"), value="1e309")
@example(target=("invoice", "lines.unit_price"), value="1e61")
@example(target=("payment", "amount"), value="999999999999.99")
@example(target=("invoice", "lines.quantity"), value="0.000001")
@example(target=("invoice", "discount"), value="-0")
@example(target=("refund", "amount"), value=10**5000)
def test_extreme_numbers_are_refused_with_a_reason_or_handled_exactly(
    target: tuple[str, str], value: Any
) -> None:
    kind, field = target
    asyncio.run(_pipeline(kind, field, value))
