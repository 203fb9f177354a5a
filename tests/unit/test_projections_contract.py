"""Contract suite for the projections: every backend pair (event store x database) runs it.

``ProjectionContract`` needs two fixtures from its subclass: ``engine`` (an empty read-model
database) and ``store`` (an empty event store). Here: SQLite + ``MemoryEventStore``; the
integration suite runs it on a real nats-server and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from syncledger.core.errors import EventStoreUnavailable, ProjectionError
from syncledger.core.events import (
    Envelope,
    EventData,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    MappingVersionPublished,
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    RecordLinked,
    RejectionReason,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    data_digest,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import uuid7
from syncledger.core.store import STREAM_SUBJECTS, EventStore, StoredEvent
from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import ProjectionRunner, ReadModels, make_engine, replay, verify
from syncledger.projections.digest import digests
from syncledger.projections.queries import BalanceView, StatusCount
from syncledger.projections.schema import LIVE

E = "acme"
CUST = "csv/customer/C1"
INV = "csv/invoice/INV-1"


# --------------------------------------------------------------------------- events


def _subject(ref: str, category: str, entity: str = E) -> str:
    system, kind, rid = ref.split("/", 2)
    return subject_for(entity, category, system, kind, rid)  # type: ignore[arg-type]


def env(payload: EventData, ref: str, entity: str = E) -> Envelope:
    subject = _subject(ref, payload.category, entity)
    return make_envelope(payload, entity=entity, subject=subject, actor="test")


def sha(ref: str, version: str) -> str:
    return f"sha-{ref}-{version}"


def observed(
    ref: str,
    version: str = "1",
    *,
    total: str | None = None,
    currency: str = "USD",
    customer: str | None = CUST,
    status: str | None = None,
    entity: str = E,
) -> Envelope:
    kind = ref.split("/")[1]
    record: dict[str, Any] = {"id": ref.rsplit("/", 1)[-1], "currency": currency}
    if total is not None:
        record["amount" if kind == "payment" else "total"] = total
    if status is not None:
        record["status"] = status
    payload = SourceRecordObserved(
        ref=ref,
        kind=kind,
        version=version,
        content_sha256=sha(ref, version),
        record=record,
        customer_ref=None if kind == "customer" else customer,
    )
    return env(payload, ref, entity)


def deleted(ref: str, version: str = "9") -> Envelope:
    return env(SourceRecordDeleted(ref=ref, kind=ref.split("/")[1], version=version), ref)


def rejected(ref: str, version: str = "1", ledger: str | None = None) -> Envelope:
    reasons = (RejectionReason(code="total_mismatch", message="lines do not add up"),)
    payload = SourceRecordRejected(
        ref=ref,
        kind=ref.split("/")[1],
        content_sha256=sha(ref, version),
        reasons=reasons,
        ledger=ledger,
    )
    return env(payload, ref)


def key(ref: str, version: str, ledger: str) -> str:
    return f"idem-{ref}-{version}-{ledger}"


def requested(ref: str, version: str = "1", ledger: str = "qbo") -> Envelope:
    payload = LedgerPushRequested(
        source_ref=ref,
        ledger=ledger,
        operation="create",
        idempotency_key=key(ref, version, ledger),
        mapping_version="m1",
        content_sha256=sha(ref, version),
    )
    return env(payload, ref)


def succeeded(
    ref: str,
    version: str = "1",
    ledger: str = "qbo",
    *,
    recovered: bool = False,
    ledger_ref: str | None = None,
) -> Envelope:
    payload = LedgerPushSucceeded(
        source_ref=ref,
        ledger=ledger,
        ledger_ref=ledger_ref or f"{ledger}/x/{ref}",
        ledger_version=f"v{version}",
        idempotency_key=key(ref, version, ledger),
        content_sha256=sha(ref, version),
        mapping_version="m1",
        recovered=recovered,
    )
    return env(payload, ref)


def failed(ref: str, version: str = "1", ledger: str = "qbo", attempt: int = 1) -> Envelope:
    payload = LedgerPushFailed(
        source_ref=ref,
        ledger=ledger,
        idempotency_key=key(ref, version, ledger),
        attempt=attempt,
        code="503",
        message="service unavailable",
    )
    return env(payload, ref)


def abandoned(ref: str, version: str = "1", ledger: str = "qbo") -> Envelope:
    payload = LedgerPushAbandoned(
        source_ref=ref,
        ledger=ledger,
        idempotency_key=key(ref, version, ledger),
        attempts=5,
        code="6240",
        message="duplicate name",
    )
    return env(payload, ref)


def linked(ref: str, version: str = "1", ledger: str = "qbo") -> Envelope:
    payload = RecordLinked(
        source_ref=ref,
        ledger=ledger,
        ledger_ref=f"{ledger}/x/found",
        matched_by="tax_id",
        content_sha256=sha(ref, version),
    )
    return env(payload, ref)


def mismatch(mkey: str, run: str = "r1", ledger: str = "qbo") -> Envelope:
    payload = MismatchDetected(
        key=mkey,
        mismatch_type="amount_mismatch",
        ledger=ledger,
        source_ref=INV,
        ledger_ref="qbo/invoice/1",
        expected="100.00",
        actual="90.00",
        run_id=run,
    )
    return env(payload, INV)


def resolved(mkey: str, run: str = "r2", ledger: str = "qbo") -> Envelope:
    return env(MismatchResolved(key=mkey, ledger=ledger, run_id=run), INV)


def unknown_type(ref: str = INV) -> Envelope:
    """An event of a type this code has never heard of (a future version's)."""
    now = datetime.now(UTC)
    data = {"whatever": [1, 2, 3]}
    return Envelope(
        id=uuid7(),
        type="SomethingInvented",
        schema_version=1,
        entity=E,
        subject=_subject(ref, "source"),
        occurred_at=now,
        recorded_at=now,
        correlation_id="c",
        actor="future",
        data=data,
        data_sha256=data_digest(data),
    )


def malformed_observed(ref: str = INV) -> Envelope:
    """A SourceRecordObserved whose data lacks its content hash."""
    now = datetime.now(UTC)
    data = {"ref": ref, "kind": "invoice", "version": "1", "record": {}}
    return Envelope(
        id=uuid7(),
        type="SourceRecordObserved",
        schema_version=1,
        entity=E,
        subject=_subject(ref, "source"),
        occurred_at=now,
        recorded_at=now,
        correlation_id="c",
        actor="broken",
        data=data,
        data_sha256=data_digest(data),
    )


def unknown_version(ref: str = INV) -> Envelope:
    """A SourceRecordObserved at schema version 0, which no upcaster takes."""
    good = observed(ref, "0", total="1")
    return Envelope(**{**good.model_dump(), "schema_version": 0})


# --------------------------------------------------------------------------- helpers


class FailingReadStore:
    """A fake of the event-store port whose reads break after ``fail_after`` events."""

    def __init__(self, inner: EventStore, fail_after: int) -> None:
        self._inner = inner
        self._fail_after = fail_after

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        count = 0
        async for stored in self._inner.read(subjects, from_seq):
            if count == self._fail_after:
                raise EventStoreUnavailable("injected: connection lost mid-read")
            count += 1
            yield stored

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        return await self._inner.append(events, expect)

    async def last_seq(self) -> int:
        return await self._inner.last_seq()

    async def subject_last_seq(self, subject: str) -> int:
        return await self._inner.subject_last_seq(subject)

    async def delete(self, seq: int) -> None:
        await self._inner.delete(seq)

    async def purge(self) -> None:
        await self._inner.purge()


_FAULT_SQL = {
    "sqlite": [
        "CREATE TRIGGER inject_fault BEFORE INSERT ON balances "
        "WHEN NEW.customer_ref = 'csv/customer/BOOM' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION inject_fault() RETURNS trigger AS $$ BEGIN "
        "IF NEW.customer_ref = 'csv/customer/BOOM' THEN RAISE EXCEPTION 'injected fault'; "
        "END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER inject_fault BEFORE INSERT ON balances FOR EACH ROW "
        "EXECUTE FUNCTION inject_fault()",
    ],
}
_UNFAULT_SQL = {
    "sqlite": ["DROP TRIGGER inject_fault"],
    "postgresql": ["DROP TRIGGER inject_fault ON balances", "DROP FUNCTION inject_fault()"],
}


def run_sql(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))


def live_digests(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return digests(conn, LIVE)


def balance(models: ReadModels, customer: str = CUST, currency: str = "USD") -> BalanceView:
    found = [b for b in models.balances(E) if (b.customer_ref, b.currency) == (customer, currency)]
    assert len(found) == 1, models.balances(E)
    return found[0]


def amounts(b: BalanceView) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return b.invoiced, b.credited, b.paid, b.balance


def D(text: str) -> Decimal:
    return Decimal(text)


# --------------------------------------------------------------------------- contract


class ProjectionContract:
    """The behaviour every backend pair must show."""

    async def apply(
        self, engine: Engine, store: EventStore, events: list[Envelope], batch_size: int = 3
    ) -> ProjectionRunner:
        await store.append(events)
        runner = ProjectionRunner(engine, store, batch_size=batch_size)
        await runner.catch_up()
        return runner

    # ---------------------------------------------------------------- records

    async def test_observed_record_is_projected(self, engine: Engine, store: EventStore) -> None:
        await self.apply(engine, store, [observed(CUST), observed(INV, total="100.50")])
        rec = ReadModels(engine).record(E, INV)
        assert rec is not None
        assert (rec.kind, rec.version, rec.status) == ("invoice", "1", "observed")
        assert (rec.customer_ref, rec.currency, rec.total) == (CUST, "USD", D("100.50"))
        assert rec.content_sha256 == sha(INV, "1")
        assert [r.source_ref for r in ReadModels(engine).records(E, "customer")] == [CUST]

    async def test_payment_amount_and_kind(self, engine: Engine, store: EventStore) -> None:
        await self.apply(engine, store, [observed("csv/payment/P1", total="20.25")])
        rec = ReadModels(engine).record(E, "csv/payment/P1")
        assert rec is not None and rec.total == D("20.25") and rec.kind == "payment"

    async def test_amount_that_is_not_a_number_is_kept_out(
        self, engine: Engine, store: EventStore
    ) -> None:
        await self.apply(engine, store, [observed(INV, total="12,00"), observed(CUST)])
        rec = ReadModels(engine).record(E, INV)
        assert rec is not None and rec.total is None
        assert ReadModels(engine).balances(E) == []

    async def test_push_lifecycle(self, engine: Engine, store: EventStore) -> None:
        models = ReadModels(engine)
        runner = await self.apply(engine, store, [observed(INV, total="10"), requested(INV)])
        assert models.record(E, INV).status == "pushing"  # type: ignore[union-attr]
        await store.append([failed(INV, attempt=1)])
        await runner.catch_up()
        assert models.record(E, INV).status == "failed"  # type: ignore[union-attr]
        assert StatusCount("qbo", "invoice", "failed", 1) in models.status_counts(E)
        await store.append([succeeded(INV)])
        await runner.catch_up()
        assert models.record(E, INV).status == "synced"  # type: ignore[union-attr]
        link = models.link(E, INV, "qbo")
        assert link is not None
        assert (link.ledger_ref, link.ledger_version, link.how) == (f"qbo/x/{INV}", "v1", "created")
        assert (link.pushed_sha256, link.mapping_version, link.kind) == (
            sha(INV, "1"),
            "m1",
            "invoice",
        )
        assert [x.source_ref for x in models.links_for(E, "qbo", "invoice")] == [INV]
        assert models.links_for(E, "xero", "invoice") == []
        assert models.status_counts(E) == [StatusCount("qbo", "invoice", "synced", 1)]

    async def test_status_counts_include_records_not_sent_yet(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(CUST),
            observed(INV, total="1"),
            requested(INV),
            succeeded(INV),
            observed("csv/invoice/INV-2", total="2"),
        ]
        await self.apply(engine, store, events)
        assert ReadModels(engine).status_counts(E) == [
            StatusCount(None, "customer", "observed", 1),
            StatusCount(None, "invoice", "observed", 1),
            StatusCount("qbo", "invoice", "synced", 1),
        ]

    async def test_recovered_and_matched_links(self, engine: Engine, store: EventStore) -> None:
        other = "csv/invoice/INV-2"
        events = [
            observed(INV, total="1"),
            observed(other, total="2"),
            succeeded(INV, recovered=True),
            linked(other),
        ]
        await self.apply(engine, store, events)
        models = ReadModels(engine)
        assert models.link(E, INV, "qbo").how == "recovered"  # type: ignore[union-attr]
        match = models.link(E, other, "qbo")
        assert match is not None and match.how == "matched:tax_id"
        assert match.ledger_ref == "qbo/x/found" and match.ledger_version is None
        assert models.record(E, other).status == "synced"  # type: ignore[union-attr]

    async def test_update_push_keeps_how_and_records_new_version(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(INV, total="1"),
            linked(INV),
            observed(INV, "2", total="3"),
            requested(INV, "2"),
            succeeded(INV, "2", ledger_ref="qbo/x/found"),
        ]
        await self.apply(engine, store, events)
        link = ReadModels(engine).link(E, INV, "qbo")
        assert link is not None
        assert (link.how, link.ledger_version, link.pushed_sha256) == (
            "matched:tax_id",
            "v2",
            sha(INV, "2"),
        )

    async def test_new_version_makes_synced_record_pending_again(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(INV, total="1"),
            requested(INV),
            succeeded(INV),
            observed(INV, "2", total="2"),
        ]
        await self.apply(engine, store, events)
        models = ReadModels(engine)
        assert models.record(E, INV).status == "observed"  # type: ignore[union-attr]
        assert models.status_counts(E) == [StatusCount("qbo", "invoice", "observed", 1)]
        assert models.link(E, INV, "qbo").pushed_sha256 == sha(INV, "1")  # type: ignore[union-attr]

    async def test_same_content_observed_again_keeps_status(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(INV, total="1"),
            requested(INV),
            succeeded(INV),
            observed(INV, total="1"),
        ]
        await self.apply(engine, store, events)
        assert ReadModels(engine).record(E, INV).status == "synced"  # type: ignore[union-attr]

    async def test_late_success_of_old_version_does_not_mark_new_one_synced(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(INV, total="1"),
            requested(INV),
            observed(INV, "2", total="2"),
            rejected(INV, "2"),
            succeeded(INV, "1"),
        ]
        await self.apply(engine, store, events)
        models = ReadModels(engine)
        assert models.record(E, INV).status == "rejected"  # type: ignore[union-attr]
        assert [e.content_sha256 for e in models.open_errors(E)] == [sha(INV, "2")]
        assert models.link(E, INV, "qbo").pushed_sha256 == sha(INV, "1")  # type: ignore[union-attr]

    async def test_failure_of_a_replaced_request_is_ignored(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(INV, total="1"),
            requested(INV, "1"),
            observed(INV, "2", total="2"),
            requested(INV, "2"),
            abandoned(INV, "1"),
        ]
        await self.apply(engine, store, events)
        models = ReadModels(engine)
        assert models.record(E, INV).status == "pushing"  # type: ignore[union-attr]
        assert models.open_errors(E) == []

    # ---------------------------------------------------------------- errors

    async def test_rejection_opens_error_until_later_version_pushes(
        self, engine: Engine, store: EventStore
    ) -> None:
        models = ReadModels(engine)
        runner = await self.apply(engine, store, [observed(INV, total="1"), rejected(INV)])
        (error,) = models.open_errors(E)
        assert (error.source_ref, error.error, error.ledger, error.code) == (
            INV,
            "rejected",
            None,
            "total_mismatch",
        )
        assert error.reasons == (
            {"code": "total_mismatch", "field": None, "message": "lines do not add up"},
        )
        assert models.record(E, INV).status == "rejected"  # type: ignore[union-attr]
        await store.append([observed(INV, "2", total="2")])
        await runner.catch_up()
        assert len(models.open_errors(E)) == 1  # observed is not enough: it must push fine
        await store.append([requested(INV, "2"), succeeded(INV, "2")])
        await runner.catch_up()
        assert models.open_errors(E) == []

    async def test_abandoned_push_opens_error_until_push_succeeds(
        self, engine: Engine, store: EventStore
    ) -> None:
        models = ReadModels(engine)
        events = [observed(INV, total="1"), requested(INV), failed(INV), abandoned(INV)]
        runner = await self.apply(engine, store, events)
        (error,) = models.open_errors(E)
        assert (error.error, error.ledger, error.code, error.attempts) == (
            "abandoned",
            "qbo",
            "6240",
            5,
        )
        assert error.message == "duplicate name"
        assert models.record(E, INV).status == "abandoned"  # type: ignore[union-attr]
        await store.append([requested(INV, "1", "xero"), succeeded(INV, "1", "xero")])
        await runner.catch_up()
        assert [e.ledger for e in models.open_errors(E)] == ["qbo"]  # other ledger's success
        await store.append([requested(INV), succeeded(INV)])
        await runner.catch_up()
        assert models.open_errors(E) == []

    async def test_ledger_specific_rejection(self, engine: Engine, store: EventStore) -> None:
        await self.apply(engine, store, [observed(INV, total="1"), rejected(INV, ledger="xero")])
        models = ReadModels(engine)
        assert [e.ledger for e in models.open_errors(E)] == ["xero"]
        assert models.status_counts(E) == [StatusCount("xero", "invoice", "rejected", 1)]

    # ---------------------------------------------------------------- balances

    async def test_balances_follow_latest_versions(self, engine: Engine, store: EventStore) -> None:
        models = ReadModels(engine)
        runner = await self.apply(engine, store, [observed(CUST), observed(INV, total="100.00")])
        assert amounts(balance(models)) == (D("100.00"), D("0"), D("0"), D("100.00"))
        await store.append(
            [
                observed(INV, "2", total="120.50"),
                observed("csv/payment/P1", total="20.25"),
                observed("csv/credit_note/CN1", total="10"),
                observed("csv/invoice/INV-2", total="5.005"),
            ]
        )
        await runner.catch_up()
        assert amounts(balance(models)) == (D("125.505"), D("10"), D("20.25"), D("95.255"))
        await store.append([observed(INV, "3", total="120.50", status="void")])
        await runner.catch_up()
        assert amounts(balance(models)) == (D("5.005"), D("10"), D("20.25"), D("-25.245"))
        await store.append([deleted("csv/payment/P1"), deleted("csv/invoice/INV-2")])
        await runner.catch_up()
        assert amounts(balance(models)) == (D("0.000"), D("10"), D("0.00"), D("-10.000"))

    async def test_balances_per_currency_and_customer_move(
        self, engine: Engine, store: EventStore
    ) -> None:
        models = ReadModels(engine)
        other = "csv/customer/C2"
        events = [
            observed(INV, total="100"),
            observed("csv/invoice/INV-2", total="7", currency="EUR"),
            observed(INV, "2", total="100", customer=other),
        ]
        await self.apply(engine, store, events)
        assert balance(models, CUST, "USD").invoiced == 0
        assert balance(models, CUST, "EUR").invoiced == 7
        assert balance(models, other, "USD").balance == 100

    async def test_deleted_record_comes_back_when_observed(
        self, engine: Engine, store: EventStore
    ) -> None:
        models = ReadModels(engine)
        events = [
            observed(INV, total="30"),
            rejected(INV),
            requested(INV, ledger="xero"),
            deleted(INV),
        ]
        runner = await self.apply(engine, store, events)
        assert models.record(E, INV).status == "deleted"  # type: ignore[union-attr]
        assert models.open_errors(E) == []  # a rejection of a deleted record is moot
        assert balance(models).invoiced == 0
        assert models.status_counts(E) == [StatusCount("xero", "invoice", "deleted", 1)]
        await store.append([observed(INV, "10", total="30")])
        await runner.catch_up()
        assert models.record(E, INV).status == "observed"  # type: ignore[union-attr]
        assert balance(models).invoiced == 30

    # ---------------------------------------------------------------- mismatches

    async def test_mismatch_detected_resolved_and_detected_again(
        self, engine: Engine, store: EventStore
    ) -> None:
        models = ReadModels(engine)
        runner = await self.apply(
            engine, store, [mismatch("k1"), mismatch("k1", "r2"), mismatch("k2")]
        )
        found = models.open_mismatches(E, "qbo")
        assert [(m.key, m.run_id, m.state) for m in found] == [
            ("k1", "r2", "open"),
            ("k2", "r1", "open"),
        ]
        assert (found[0].expected, found[0].actual, found[0].mismatch_type) == (
            "100.00",
            "90.00",
            "amount_mismatch",
        )
        first_seen = found[0].detected_seq
        assert models.open_mismatches(E, "xero") == []
        await store.append([resolved("k1", "r3"), resolved("unknown")])
        await runner.catch_up()
        assert [m.key for m in models.open_mismatches(E, "qbo")] == ["k2"]
        await store.append([mismatch("k1", "r4")])
        await runner.catch_up()
        again = [m for m in models.open_mismatches(E, "qbo") if m.key == "k1"]
        assert again[0].run_id == "r4" and again[0].detected_seq > first_seen

    async def test_ledger_record_observed(self, engine: Engine, store: EventStore) -> None:
        first = LedgerRecordObserved(
            ledger="qbo",
            ledger_ref="qbo/invoice/7",
            kind="invoice",
            ledger_version="3",
            status="open",
            total=Decimal("50.00"),
            balance=Decimal("50.00"),
            currency="USD",
        )
        paid = LedgerRecordObserved(
            ledger="qbo",
            ledger_ref="qbo/invoice/7",
            kind="invoice",
            ledger_version="4",
            status="paid",
            balance=Decimal("0.00"),
        )
        await self.apply(engine, store, [env(first, INV), env(paid, INV)])
        row = ReadModels(engine).ledger_record(E, "qbo", "qbo/invoice/7")
        assert row is not None
        assert (row.status, row.ledger_version, row.total, row.balance, row.currency) == (
            "paid",
            "4",
            D("50.00"),
            D("0.00"),
            "USD",
        )

    # ---------------------------------------------------------------- robustness

    async def test_unknown_and_unused_types_are_skipped(
        self, engine: Engine, store: EventStore
    ) -> None:
        mapping = MappingVersionPublished(
            ledger="qbo", mapping_version="m1", sha256="x", content="{}"
        )
        recon = ReconciliationCompleted(
            run_id="r", ledger="qbo", checked=1, open_mismatches=0, detected=0, resolved=0
        )
        events = [unknown_type(), env(mapping, INV), env(recon, INV), observed(INV, total="1")]
        runner = await self.apply(engine, store, events)
        assert runner.position == 4
        assert ReadModels(engine).record(E, INV) is not None

    async def test_malformed_event_is_recorded_and_the_fold_goes_on(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [
            observed(CUST),
            observed(INV, total="1"),
            observed("csv/invoice/INV-2", total="2"),
            malformed_observed(),
            observed("csv/invoice/INV-3", total="4"),
        ]
        await store.append(events)
        runner = ProjectionRunner(engine, store, batch_size=2)
        assert await runner.catch_up() == 5
        models = ReadModels(engine)
        assert runner.position == models.checkpoint() == 5
        (bad,) = models.unfoldable(E)
        assert (bad.seq, bad.event_type, bad.source_ref) == (4, "SourceRecordObserved", INV)
        assert bad.reason == "its data lacks the field 'content_sha256'"
        assert models.record(E, INV).total == 1  # type: ignore[union-attr]
        assert balance(models).invoiced == 1 + 2 + 4
        assert (await verify(engine, store)).ok

    async def test_events_an_older_version_wrote_never_stop_the_read_models(
        self, engine: Engine, store: EventStore
    ) -> None:
        """A ``1e309`` total that an older version let into the log, and an event no
        upcaster reads: fold, replay, verify, status and errors all get past them."""
        from syncledger.core.pipeline import errors_report

        inv2, inv3 = "csv/invoice/INV-2", "csv/invoice/INV-3"
        events = [
            observed(CUST),
            observed(INV, total="1e309"),
            observed(inv2, total="2"),
            unknown_version(inv3),
            observed("csv/invoice/INV-4", total="4"),
        ]
        runner = await self.apply(engine, store, events, batch_size=2)
        models = ReadModels(engine)
        assert runner.position == models.checkpoint() == 5
        stuck = models.unfoldable(E)
        assert [(u.seq, u.source_ref) for u in stuck] == [(2, INV), (4, inv3)]
        assert "310 digits before the point" in stuck[0].reason
        assert "cannot be upcast" in stuck[1].reason
        assert balance(models).invoiced == 2 + 4  # nothing of the 1e309, nothing rounded
        assert models.status_counts(E) == [
            StatusCount(None, "customer", "observed", 1),
            StatusCount(None, "invoice", "observed", 2),
        ]
        report = errors_report(models, E)
        assert "event 2 (SourceRecordObserved of csv/invoice/INV-1)" in report
        assert "event 4 (SourceRecordObserved of csv/invoice/INV-3)" in report
        assert (await verify(engine, store)).ok
        before = live_digests(engine)
        assert (await replay(engine, store, batch_size=3)).last_seq == 5
        assert live_digests(engine) == before
        await store.append([observed(INV, "2", total="3")])  # the corrected row
        await runner.catch_up()
        assert [u.seq for u in models.unfoldable(E)] == [4]
        assert [u.superseded_seq for u in models.unfoldable(E, superseded=True)] == [6, None]
        assert balance(models).invoiced == 2 + 4 + 3

    async def test_refused_version_is_listed_until_a_newer_one_is_observed(
        self, engine: Engine, store: EventStore
    ) -> None:
        events = [observed(INV, total="1"), requested(INV), rejected(INV, "2"), succeeded(INV)]
        runner = await self.apply(engine, store, events)
        models = ReadModels(engine)
        (error,) = models.open_errors(E)
        assert (error.error, error.ledger, error.content_sha256) == ("refused", None, sha(INV, "2"))
        assert models.record(E, INV).status == "synced"  # type: ignore[union-attr]
        await store.append([observed(INV, "3", total="3")])
        await runner.catch_up()
        assert models.open_errors(E) == []

    async def test_entities_are_kept_apart(self, engine: Engine, store: EventStore) -> None:
        await self.apply(
            engine, store, [observed(INV, total="1"), observed(INV, total="2", entity="globex")]
        )
        assert ReadModels(engine).record(E, INV).total == 1  # type: ignore[union-attr]
        assert ReadModels(engine).record("globex", INV).total == 2  # type: ignore[union-attr]

    # ---------------------------------------------------------------- checkpoints

    async def test_database_failure_mid_batch_rolls_back_batch_and_checkpoint(
        self, engine: Engine, store: EventStore
    ) -> None:
        boom = "csv/customer/BOOM"
        events = [
            observed(CUST),
            observed(INV, total="10"),
            observed("csv/invoice/INV-2", total="20"),
            observed("csv/invoice/INV-3", total="30"),
            observed("csv/invoice/INV-4", total="40", customer=boom),
            observed("csv/invoice/INV-5", total="50"),
        ]
        await store.append(events)
        runner = ProjectionRunner(engine, store, batch_size=3)
        await runner.catch_up(until=0)  # creates the tables
        run_sql(engine, _FAULT_SQL[engine.dialect.name])
        with pytest.raises(ProjectionError, match="injected fault"):
            await runner.catch_up()
        models = ReadModels(engine)
        assert runner.position == models.checkpoint() == 3
        assert models.record(E, "csv/invoice/INV-3") is None  # first event of the failed batch
        assert balance(models).invoiced == 30  # INV-1 + INV-2 only
        run_sql(engine, _UNFAULT_SQL[engine.dialect.name])
        assert await ProjectionRunner(engine, store, batch_size=3).catch_up() == 3
        assert balance(models).invoiced == 110  # each invoice counted exactly once
        assert balance(models, boom).invoiced == 40
        assert (await verify(engine, store)).ok

    async def test_unfoldable_rows_commit_with_their_batch_and_checkpoint(
        self, engine: Engine, store: EventStore
    ) -> None:
        boom = "csv/customer/BOOM"
        events = [
            observed(CUST),
            observed(INV, total="1e309"),  # unfoldable, in the batch that fails
            observed("csv/invoice/INV-2", total="20", customer=boom),
        ]
        await store.append(events)
        runner = ProjectionRunner(engine, store, batch_size=3)
        await runner.catch_up(until=0)  # creates the tables
        run_sql(engine, _FAULT_SQL[engine.dialect.name])
        with pytest.raises(ProjectionError, match="injected fault"):
            await runner.catch_up()
        models = ReadModels(engine)
        assert (models.checkpoint(), models.unfoldable(E)) == (0, [])
        run_sql(engine, _UNFAULT_SQL[engine.dialect.name])
        assert await ProjectionRunner(engine, store, batch_size=3).catch_up() == 3
        assert [u.seq for u in models.unfoldable(E)] == [2]
        assert (await verify(engine, store)).ok

    async def test_read_failure_mid_batch_applies_nothing_of_it(
        self, engine: Engine, store: EventStore
    ) -> None:
        invoices = [observed(f"csv/invoice/I{i}", total="1") for i in range(10)]
        await store.append(invoices)
        runner = ProjectionRunner(engine, FailingReadStore(store, fail_after=6), batch_size=4)
        with pytest.raises(EventStoreUnavailable):
            await runner.catch_up()
        models = ReadModels(engine)
        assert runner.position == models.checkpoint() == 4
        assert balance(models).invoiced == 4
        assert await ProjectionRunner(engine, store, batch_size=4).catch_up() == 6
        assert balance(models).invoiced == 10

    async def test_two_runners_share_one_checkpoint(
        self, engine: Engine, store: EventStore
    ) -> None:
        first = await self.apply(engine, store, [observed(INV, total="1")])
        second = ProjectionRunner(engine, store)
        await store.append([observed("csv/invoice/INV-2", total="2")])
        assert await second.catch_up() == 2 - 1
        await store.append([observed("csv/invoice/INV-3", total="4")])
        assert await first.catch_up() == 1  # picks up after the other runner's work
        assert balance(ReadModels(engine)).invoiced == 7

    async def test_concurrent_runners_apply_each_event_once(
        self, engine: Engine, store: EventStore
    ) -> None:
        await store.append([observed(f"csv/invoice/I{i}", total="1") for i in range(40)])
        await ProjectionRunner(engine, store).catch_up(until=0)  # tables exist before the race
        runners = [ProjectionRunner(engine, store, batch_size=3) for _ in range(3)]
        counts = await asyncio.gather(*(r.catch_up() for r in runners))
        assert sum(counts) == 40
        assert [r.position for r in runners] == [40, 40, 40]
        assert balance(ReadModels(engine)).invoiced == 40
        assert (await verify(engine, store)).ok

    async def test_catch_up_until(self, engine: Engine, store: EventStore) -> None:
        await store.append([observed(f"csv/invoice/I{i}", total="1") for i in range(5)])
        runner = ProjectionRunner(engine, store, batch_size=2)
        assert await runner.catch_up(until=3) == 3
        assert runner.position == 3
        assert await runner.catch_up() == 2

    # ---------------------------------------------------------------- rebuild

    def history(self) -> list[Envelope]:
        p1, cn = "csv/payment/P1", "csv/credit_note/CN1"
        return [
            observed(CUST),
            requested(CUST),
            succeeded(CUST),
            observed(INV, total="100.00"),
            requested(INV),
            failed(INV),
            succeeded(INV),
            observed(INV, "2", total="80.10"),
            rejected(INV, "2"),
            observed(INV, "3", total="80.10"),
            requested(INV, "3"),
            succeeded(INV, "3"),
            observed(p1, total="30"),
            linked(p1),
            observed(cn, total="5.5"),
            requested(cn),
            abandoned(cn),
            mismatch("m1"),
            mismatch("m2"),
            resolved("m1"),
            unknown_type(),
            observed("csv/invoice/INV-9", total="1"),
            deleted("csv/invoice/INV-9"),
            requested(p1, ledger="xero"),
            failed(p1, ledger="xero"),
        ]

    async def test_incremental_equals_replay(self, engine: Engine, store: EventStore) -> None:
        runner = ProjectionRunner(engine, store, batch_size=2)
        for i, event in enumerate(self.history()):
            await store.append([event])
            if i % 3 == 0:
                await runner.catch_up()
        await runner.catch_up()
        incremental = live_digests(engine)
        assert (await verify(engine, store)).ok
        result = await replay(engine, store, batch_size=7)
        assert result.last_seq == len(self.history()) == result.events
        assert live_digests(engine) == incremental
        assert amounts(balance(ReadModels(engine))) == (D("80.10"), D("5.5"), D("30"), D("44.60"))

    async def test_replay_swaps_tables_and_runners_carry_on(
        self, engine: Engine, store: EventStore
    ) -> None:
        runner = await self.apply(engine, store, self.history())
        run_sql(engine, ["UPDATE balances SET invoiced = '1'"])  # corrupt the live model
        await replay(engine, store)
        assert balance(ReadModels(engine)).invoiced == D("80.10")
        await store.append([observed("csv/invoice/NEW", total="0.90")])
        assert await runner.catch_up() == 1  # a runner from before the swap continues
        assert balance(ReadModels(engine)).invoiced == D("81.00")
        assert (await verify(engine, store)).ok

    async def test_verify_detects_tampered_rows(self, engine: Engine, store: EventStore) -> None:
        await self.apply(engine, store, self.history())
        assert (await verify(engine, store)).differing == ()
        with engine.begin() as conn:
            conn.execute(
                update(LIVE.records).where(LIVE.records.c.source_ref == INV).values(total="80.11")
            )
            conn.execute(
                update(LIVE.links).values(how="created").where(LIVE.links.c.how != "created")
            )
        result = await verify(engine, store)
        assert result.differing == ("records", "links")
        assert not result.ok and result.last_seq == len(self.history())

    async def test_verify_refuses_without_live_models(
        self, engine: Engine, store: EventStore
    ) -> None:
        await store.append([observed(INV)])
        with pytest.raises(ProjectionError, match="no live read models"):
            await verify(engine, store)

    async def test_replay_of_empty_log(self, engine: Engine, store: EventStore) -> None:
        result = await replay(engine, store)
        assert (result.last_seq, result.events) == (0, 0)
        assert (await verify(engine, store)).ok
        assert ReadModels(engine).balances(E) == []


# --------------------------------------------------------------------------- SQLite + memory


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'readmodels.db'}")
    yield engine
    engine.dispose()


class TestSqliteOnMemoryStore(ProjectionContract):
    @pytest.fixture
    def engine(self, sqlite_engine: Engine) -> Engine:
        return sqlite_engine

    @pytest.fixture
    def store(self) -> EventStore:
        return MemoryEventStore()
