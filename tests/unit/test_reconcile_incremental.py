"""Incremental reconciliation against the ledger mirror (a real SQLite file): a routine run
reads only the ledger's delta and finds what a full run finds, under the same keys; a full
sweep runs when asked, when the mirror is new and when the last one is old enough."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile import Expected, Mismatch, Reconciler, ReconReport
from syncledger.core.reconcile_mirror import LedgerMirror, from_body, open_mirror_engine, to_body
from syncledger.core.store_memory import MemoryEventStore

D = Decimal
USD = "USD"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = 100  # records per list request, as Xero pages its reads


@dataclass
class CountedLedger(MemoryLedger):
    """The memory ledger counting the requests a paged API would take to read it: one per
    page of :data:`PAGE` records per kind (an empty kind still costs one)."""

    requests: int = 0
    read: int = 0
    kinds: tuple[str, ...] = field(
        default=("customer", "invoice", "payment", "credit_note", "refund")
    )

    def _count(self, n: int) -> None:
        self.requests += max(1, -(-n // PAGE))
        self.read += n

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        found = [r for r in self.records.values() if r.kind == kind]
        self._count(len(found))
        for rec in found:
            yield rec

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        for kind in self.kinds:
            found = [
                r
                for r in self.records.values()
                if r.kind == kind and r.updated_at is not None and r.updated_at > since
            ]
            self._count(len(found))
            for rec in found:
                yield rec

    def touch(self, ledger_id: str, **changes: object) -> None:
        """A person edits a record in the ledger now."""
        rec = self.records[ledger_id]
        version = str(int(rec.version or 0) + 1)
        self.records[ledger_id] = replace(
            rec,
            version=version,
            updated_at=datetime.now(UTC),
            **changes,  # type: ignore[arg-type]
        )


def _book(n: int) -> tuple[list[Expected], CountedLedger]:
    ledger = CountedLedger()
    expected = []
    for i in range(n):
        cust = f"C{i % 7}"
        ref = f"csv/invoice/i{i}"
        ledger.records[f"L{i}"] = LedgerRecord(
            "invoice", f"L{i}", "1", ref, total=D("100.00"), balance=D("100.00"), status="open",
            currency=USD, customer_ledger_id=cust, updated_at=LONG_AGO,
        )  # fmt: skip
        expected.append(
            Expected(
                ref,
                "invoice",
                f"L{i}",
                D("100.00"),
                USD,
                paid=D("0"),
                customer_ref=f"csv/customer/{cust}",
                customer_ledger_ref=cust,
            )
        )  # fmt: skip
    return expected, ledger


def _open(report: ReconReport) -> dict[str, tuple[str | None, str | None]]:
    return {m.key: (m.expected, m.actual) for m in report.open}


async def _run(
    ledger: CountedLedger,
    expected: list[Expected],
    before: dict[str, Mismatch],
    mirror: LedgerMirror | None,
    *,
    full: bool = False,
) -> ReconReport:
    recon = Reconciler(MemoryEventStore(), ledger, entity="acme", actor="t", mirror=mirror)
    return await recon.run(expected, before, full=full)


def _mirror(tmp_path: Path) -> LedgerMirror:
    return LedgerMirror(open_mirror_engine(tmp_path / "mirror.sqlite"))


async def _edits(expected: list[Expected], ledger: CountedLedger) -> list[Expected]:
    """Changes on both sides: in the ledger (paid — the ledger owns money: no mismatch —,
    voided, amount, a stray copy of ours, a hand-raised invoice) and in the log (a payment
    pushed and applied there too, one pushed but not in the ledger, an invoice no longer
    linked, a new invoice pushed but lost in the ledger)."""
    ledger.touch("L1", balance=D("0.00"), status="paid")  # paid in the ledger only
    ledger.touch("L2", status="void", balance=D("0"))
    ledger.touch("L3", total=D("90.00"), balance=D("90.00"))
    ledger.records["L900"] = replace(
        ledger.records["L4"], ledger_id="L900", updated_at=datetime.now(UTC)
    )  # a duplicate of i4 (and an orphan)
    ledger.records["H1"] = LedgerRecord(
        "invoice", "H1", "1", None, total=D("5.00"), balance=D("5.00"), status="open",
        currency=USD, customer_ledger_id="C0", updated_at=datetime.now(UTC),
    )  # fmt: skip
    ledger.touch("L5", balance=D("40.00"), status="partially_paid")  # matches the log below
    changed = [replace(e, paid=D("60.00")) if e.ledger_ref == "L5" else e for e in expected]
    # a payment the log applied that the ledger does not hold: a balance mismatch
    changed = [replace(e, paid=D("30.00")) if e.ledger_ref == "L8" else e for e in changed]
    changed = [e for e in changed if e.ledger_ref != "L6"]  # unlinked: L6 is now an orphan
    new = replace(changed[0], source_ref="csv/invoice/new", ledger_ref="L-new")
    return [*changed, new]


async def test_an_incremental_run_finds_what_a_full_run_finds(tmp_path: Path) -> None:
    expected, ledger = _book(300)
    first = await _run(ledger, expected, {}, _mirror(tmp_path))
    assert (first.mode, first.open) == ("full", [])
    expected = await _edits(expected, ledger)

    ledger.requests = ledger.read = 0
    routine = await _run(ledger, expected, {}, _mirror(tmp_path))
    assert routine.mode == "incremental"
    assert ledger.read == 6  # the six records edited, not the book
    full = await _run(ledger, expected, {}, None)

    assert _open(routine) == _open(full)
    assert {k.split("|")[0] for k in _open(full)} == {
        "balance_mismatch", "status_mismatch", "amount_mismatch", "duplicate_in_ledger",
        "orphan_in_ledger", "missing_in_ledger", "ar_balance_mismatch",
    }  # fmt: skip


async def test_cleared_and_carried_mismatches_match_a_full_run(tmp_path: Path) -> None:
    expected, ledger = _book(50)
    ledger.records["L7"] = replace(ledger.records["L7"], total=D("1.00"))  # off from the start
    mirror = _mirror(tmp_path)
    first = await _run(ledger, expected, {}, mirror)
    before = {m.key: m for m in first.open}
    expected = await _edits(expected, ledger)
    second = await _run(ledger, expected, before, mirror)
    assert second.mode == "incremental"
    assert "amount_mismatch|csv/invoice/i7|L7" in _open(second)  # carried, not re-read
    ledger.touch("L8", balance=D("70.00"), status="partially_paid")  # the payment lands
    ledger.touch("L7", total=D("100.00"))
    third = await _run(ledger, expected, {m.key: m for m in second.open}, mirror)
    full = await _run(ledger, expected, {}, None)
    assert third.mode == "incremental"
    assert _open(third) == _open(full)
    assert {k.split("|")[1] for k in third.resolved} >= {"csv/invoice/i8", "csv/invoice/i7"}
    again = await _run(ledger, expected, {m.key: m for m in third.open}, mirror)
    assert (again.detected, again.resolved) == ([], [])  # same keys: nothing new


async def test_a_routine_run_after_a_hundred_changes_takes_a_request_per_kind(
    tmp_path: Path,
) -> None:
    expected, ledger = _book(2_000)
    mirror = _mirror(tmp_path)
    await _run(ledger, expected, {}, mirror)
    assert ledger.requests >= 20  # the full read: a page per 100 invoices
    for i in range(100):
        ledger.touch(f"L{i}", total=D("90.00"), balance=D("90.00"))  # edited by hand
    ledger.requests = ledger.read = 0
    routine = await _run(ledger, expected, {}, mirror)
    assert routine.mode == "incremental"
    assert (ledger.requests, ledger.read) == (5, 100)
    assert routine.compared == 100
    assert len([m for m in routine.open if m.mismatch_type == "amount_mismatch"]) == 100


async def test_a_full_sweep_runs_when_asked_new_or_due(tmp_path: Path) -> None:
    expected, ledger = _book(10)
    engine = open_mirror_engine(tmp_path / "mirror.sqlite")
    mirror = LedgerMirror(engine)
    assert (await _run(ledger, expected, {}, mirror)).mode == "full"  # new
    assert (await _run(ledger, expected, {}, mirror)).mode == "incremental"
    assert (await _run(ledger, expected, {}, mirror, full=True)).mode == "full"  # asked
    recon = Reconciler(
        MemoryEventStore(), ledger, entity="acme", actor="t", mirror=mirror, full_every_s=3600
    )
    assert (await recon.run(expected, {})).mode == "incremental"
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    mirror.save_delta([], {}, {"full_at": old})
    assert (await recon.run(expected, {})).mode == "full"  # due


def test_a_mirrored_record_reads_back_as_it_was() -> None:
    rec = LedgerRecord(
        "credit_note", "N1", "3", "csv/credit_note/n1", name="CN-1", customer_ledger_id="C1",
        currency="EUR", total=D("40.10"), tax=D("0.10"), balance=D("0.00"), status="open",
        updated_at=LONG_AGO, line_items=("A", None), applied_to=(("L1", D("40.10")),),
        raw={"anything": 1},
    )  # fmt: skip
    assert from_body(to_body(rec)) == rec
