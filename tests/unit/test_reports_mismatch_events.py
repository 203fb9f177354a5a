"""Every mismatch type the reconciler finds is appended to the log as ``MismatchDetected``
and folded into the ``mismatches`` read model (in-memory store, real SQLite): the
reconciler run never crashes on one it emits, a re-run appends nothing new, and a cleared
one is resolved."""

from __future__ import annotations

from decimal import Decimal

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.events import MismatchDetected
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import Expected, Mismatch, Reconciler
from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all

ENTITY = "recon"
USD = "USD"


def _inv(ledger_id: str, ref: str, total: str = "110.00", **kw: object) -> LedgerRecord:
    fields: dict[str, object] = {"total": Decimal(total), "currency": USD, "status": "open"}
    fields.update(kw)
    return LedgerRecord("invoice", ledger_id, "1", ref, **fields)  # type: ignore[arg-type]


def _book() -> tuple[list[Expected], dict[str, LedgerRecord]]:
    """One record for each mismatch type the reconciler emits."""
    ok = Expected("csv/invoice/ok", "invoice", "L-ok", Decimal("110.00"), USD)
    expected = [
        ok,
        Expected("csv/invoice/gone", "invoice", "L-gone", Decimal("50.00"), USD),
        Expected("csv/invoice/amt", "invoice", "L-amt", Decimal("110.00"), USD),
        Expected("csv/invoice/tax", "invoice", "L-tax", Decimal("110.00"), USD, tax=Decimal("10")),
        Expected("csv/invoice/cur", "invoice", "L-cur", Decimal("110.00"), USD),
        Expected(
            "csv/payment/app", "payment", "L-app", Decimal("20.00"), USD, "L-ok", Decimal("20.00")
        ),
        Expected("csv/invoice/dup", "invoice", "L-dup1", Decimal("110.00"), USD),
    ]
    held = [
        _inv("L-ok", "csv/invoice/ok"),
        _inv("L-amt", "csv/invoice/amt", "99.00"),
        _inv("L-tax", "csv/invoice/tax", tax=Decimal("8.25")),
        _inv("L-cur", "csv/invoice/cur", currency="EUR"),
        LedgerRecord(
            "payment", "L-app", "1", "csv/payment/app", total=Decimal("20.00"), currency=USD
        ),
        _inv("L-orphan", "csv/invoice/lost"),
        _inv("L-dup1", "csv/invoice/dup"),
        _inv("L-dup2", "csv/invoice/dup"),
    ]
    return expected, {r.ledger_id: r for r in held}


TYPES = {
    "missing_in_ledger": "csv/invoice/gone",
    "amount_mismatch": "csv/invoice/amt",
    "tax_mismatch": "csv/invoice/tax",
    "currency_mismatch": "csv/invoice/cur",
    "application_mismatch": "csv/payment/app",
    "orphan_in_ledger": "csv/invoice/lost",
    "duplicate_in_ledger": "csv/invoice/dup",
}
#: the extra copy of a duplicate links to nothing: it is an orphan too
FOUND = {*TYPES.items(), ("orphan_in_ledger", "csv/invoice/dup")}


async def _detected(store: MemoryEventStore) -> list[MismatchDetected]:
    out = []
    async for stored in store.read():
        payload = stored.envelope().payload()
        if isinstance(payload, MismatchDetected):
            out.append(payload)
    return out


def _open(models: ReadModels, ledger: str) -> dict[str, Mismatch]:
    return {
        m.key: Mismatch(m.key, m.mismatch_type, m.source_ref, m.ledger_ref, m.expected, m.actual)
        for m in models.open_mismatches(ENTITY, ledger)
    }


async def test_each_mismatch_type_is_appended_folded_and_resolved() -> None:
    store, (expected, held) = MemoryEventStore(), _book()
    ledger = MemoryLedger(records=held)
    engine = make_engine("sqlite://")
    create_all(engine)
    runner, models = ProjectionRunner(engine, store), ReadModels(engine)
    recon = Reconciler(store, ledger, entity=ENTITY, actor="test")

    report = await recon.run(expected, {})
    await runner.catch_up()

    appended = {(d.mismatch_type, d.source_ref) for d in await _detected(store)}
    assert appended == FOUND
    folded = {(m.mismatch_type, m.source_ref) for m in models.open_mismatches(ENTITY, "memory")}
    assert folded == FOUND
    assert len(report.open) == len(FOUND) and report.ledger_duplicates == 1

    again = await recon.run(expected, _open(models, "memory"))
    await runner.catch_up()
    assert (again.detected, again.resolved) == ([], [])
    assert len(await _detected(store)) == len(FOUND)  # nothing appended twice

    held["L-amt"] = _inv("L-amt", "csv/invoice/amt")  # the bookkeeper corrected it
    cleared = await recon.run(expected, _open(models, "memory"))
    await runner.catch_up()
    assert [k.split("|")[0] for k in cleared.resolved] == ["amount_mismatch"]
    left = {m.mismatch_type for m in models.open_mismatches(ENTITY, "memory")}
    assert left == set(TYPES) - {"amount_mismatch"}
