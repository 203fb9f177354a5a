"""Back-sync: what changed in the ledger comes back as events (DESIGN §6).

The ledger is the source of truth for money: payment status and balances flow back, as
``LedgerRecordObserved``, and are written back to the source where it can take them.
Our own writes are recognised (the version we got back from the push) and not echoed.
Customer details the ledger owns (``customer_field_authority``) that a bookkeeper changed
go back to the source's customer record (``core/customer_reverse.py``).
A person's edit of a document we own the content of (its total changed) is logged as
``ConflictDetected(needs_review)`` straight away, before any push could overwrite it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from syncledger.core.customer_reverse import CustomerReverse
from syncledger.core.events import (
    ConflictDetected,
    EventData,
    FieldDifference,
    LedgerRecordObserved,
    make_envelope,
)
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerAdapter, LedgerRecord
from syncledger.core.source_ports import StatusWriter
from syncledger.core.store import EventStore
from syncledger.core.subjects import ledger_subject
from syncledger.core.sync_state import RecordState, SyncState
from syncledger.core.words import money_or_unknown
from syncledger.core.writeback import pending_writes, write_back_run

log = logging.getLogger(__name__)


@dataclass
class BackSyncReport:
    seen: int = 0
    observed: int = 0
    ours: int = 0  # echoes of our own writes, skipped
    foreign: int = 0  # ledger records that carry no reference of ours
    conflicts: int = 0
    written_back: int = 0
    #: statuses observed (now or before) that wait for a source to take them: a run
    #: without one leaves them pending in the log for the next run that has one
    waiting: int = 0
    newest: datetime | None = None
    #: customer details the ledger owns: changes logged, customers written back, fields
    #: the source refused, changes waiting for a run with a source to write to
    details_observed: int = 0
    details_written: int = 0
    details_refused: int = 0
    details_waiting: int = 0
    lines: list[str] = field(default_factory=list)


class BackSync:
    def __init__(
        self,
        store: EventStore,
        ledger: LedgerAdapter,
        state: SyncState,
        *,
        entity: str,
        actor: str,
        writer: StatusWriter | None = None,
        reverse: CustomerReverse | None = None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._state = state
        self._entity = entity
        self._actor = actor
        self._writer = writer
        self._reverse = reverse
        self._customers: list[LedgerRecord] = []  # ours, changed in the ledger

    async def poll(self, since: datetime) -> BackSyncReport:
        report = BackSyncReport()
        async for rec in self._ledger.changes(since):
            report.seen += 1
            if rec.updated_at is not None and (
                report.newest is None or rec.updated_at > report.newest
            ):
                report.newest = rec.updated_at
            await self._one(rec, report)
        await self._write_back(report)
        await self._details_back(report)
        return report

    async def _one(self, rec: LedgerRecord, report: BackSyncReport) -> None:
        state = self._state.records.get(rec.external_ref or "")
        if state is None or state.ledger_ref != rec.ledger_id:
            report.foreign += 1
            return
        if rec.version in (state.ledger_version, state.seen_version):
            report.ours += 1  # our own write, or already observed
            return
        ref = RecordRef.parse(state.source_ref)
        if rec.kind == "customer":
            self._customers.append(rec)
        events: list[EventData] = [self._observation(rec, ref)]
        if self._edited_content(rec, state):
            events.append(self._conflict(rec, ref, state))
            report.conflicts += 1
        await self._append(ref, events)
        report.observed += 1

    @staticmethod
    def _edited_content(rec: LedgerRecord, state: RecordState) -> bool:
        """A document's total changed in the ledger: someone edited what we pushed."""
        return (
            rec.kind in ("invoice", "credit_note")
            and state.pushed_total is not None
            and rec.total is not None
            and rec.total != state.pushed_total
            and rec.status != "void"
        )

    def _observation(self, rec: LedgerRecord, ref: RecordRef) -> LedgerRecordObserved:
        return LedgerRecordObserved(
            ledger=self._ledger.ledger,
            ledger_ref=rec.ledger_id,
            kind=rec.kind,
            source_ref=str(ref),
            ledger_version=rec.version,
            status=rec.status,
            total=rec.total,
            balance=rec.balance,
            currency=rec.currency,
            number=rec.name if rec.kind != "customer" else None,
        )

    def _conflict(self, rec: LedgerRecord, ref: RecordRef, state: RecordState) -> ConflictDetected:
        return ConflictDetected(
            source_ref=str(ref),
            ledger=self._ledger.ledger,
            ledger_ref=rec.ledger_id,
            expected_version=state.ledger_version,
            actual_version=rec.version,
            resolution="needs_review",
            detail=f"total is {rec.total} in the ledger, {state.pushed_total} as pushed",
            differences=(
                FieldDifference(field="total", ledger=str(rec.total), ours=str(state.pushed_total)),
            ),
            ledger_total=rec.total,
        )

    async def _append(self, ref: RecordRef, payloads: list[EventData]) -> None:
        subject = ledger_subject(self._entity, self._ledger.ledger, ref)
        envelopes = [
            make_envelope(p, entity=self._entity, subject=subject, actor=self._actor)
            for p in payloads
        ]
        seqs = await self._store.append(envelopes)
        for seq, env in zip(seqs, envelopes, strict=True):
            self._state.apply(seq, subject, json.loads(env.to_bytes()))

    async def _write_back(self, report: BackSyncReport) -> None:
        """Every status the log says is not settled yet (``core/writeback.py``): a line
        for each one written, refused by the source (logged once, with its reason) or
        not attempted this time; without a source to write to, they stay pending (counted
        in ``waiting``)."""
        if self._writer is None:
            pending = await pending_writes(self._store, self._entity, self._ledger.ledger)
            report.waiting = len(pending)
            return
        done = await write_back_run(
            self._store,
            self._writer,
            entity=self._entity,
            ledger=self._ledger.ledger,
            actor=self._actor,
        )
        report.written_back += len(done.written)
        report.lines.extend(
            f"{u.source_ref}: {u.status} (balance {money_or_unknown(u.balance, None)})"
            for u in done.written
        )
        report.lines.extend(
            f"{r.update.source_ref}: {r.update.status} NOT written back, refused by the source "
            f"({r.code}: {r.message})"
            for r in done.refused
        )
        report.lines.extend(
            f"{u.source_ref}: {u.status} not written back this time (the next run tries again)"
            for u in done.waiting
        )

    async def _details_back(self, report: BackSyncReport) -> None:
        """Customer details the ledger owns, back to the source (core/customer_reverse.py)."""
        changed, self._customers = self._customers, []
        if self._reverse is None:
            return
        done = await self._reverse.run(changed)
        report.details_observed += done.observed
        report.details_written += done.written
        report.details_refused += done.refused
        report.details_waiting += done.waiting
        report.lines.extend(done.lines)
