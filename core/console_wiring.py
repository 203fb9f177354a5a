"""The web console's backend over the real parts (a composition-root module: it reaches
the read models, the audit trace and the ledger for ``core/console.py``).

- Each page catches the read models up with the log first (as ``syncledger status``
  does), one catch-up at a time per process.
- ``/errors`` shows the very lines of ``syncledger errors``
  (``core.pipeline.errors_report``); ``/review`` the queue of ``core/review.py`` (each
  candidate with why it matched) and its decision (``resolve_review`` on a desk whose
  actor is the operator's ``console:<name>``); ``/conflicts`` the open conflicts of
  ``core/conflicts.py`` (never a personal value: the console opens no sealed field) and
  their decision (``settle_conflict``, actor ``console:<name>``).
- ``/trace`` is ``syncledger audit trace``'s ``trace_record``: like that command it signs
  a checkpoint when none covers the record's last event yet (an audit event in the log,
  not a decision), so every step comes with an inclusion proof.
- ``/readyz``: the log answers (the stream's last sequence, within
  :data:`PROBE_TIMEOUT_S`) and the projections database answers (its checkpoint row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine

from syncledger.audit.context import AuditContext
from syncledger.audit.trace import ProvenTrace, trace_record
from syncledger.core.alerts import AlertBook
from syncledger.core.bootstrap import Runtime, audit_context
from syncledger.core.conflicts import ConflictDesk, OpenConflict, open_conflicts, settle_conflict
from syncledger.core.console_ports import (
    Candidate,
    ConflictDecision,
    ConflictRow,
    Decision,
    DifferenceView,
    LedgerStatus,
    OpenConflictView,
    ReviewItem,
    ReviewQueue,
    StatusRow,
    StatusView,
    TraceStepView,
    TraceView,
)
from syncledger.core.console_views import parked_alerts
from syncledger.core.decode import decode
from syncledger.core.errors import (
    ConfigurationError,
    EventStoreError,
    LedgerError,
    ProjectionError,
    UndecodableEvent,
)
from syncledger.core.events import ConflictDetected
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.model import RecordRef
from syncledger.core.pipeline import engine_for, errors_report
from syncledger.core.redact import mask_text
from syncledger.core.review import ReviewDesk, matched_by, open_reviews, resolve_review
from syncledger.core.review_match import rules_text
from syncledger.core.rollout_scope import status_words
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter
from syncledger.core.sync_state import RecordState
from syncledger.projections.queries import ErrorView, MismatchView, ReadModels, StatusCount
from syncledger.projections.runner import ProjectionRunner

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


@contextlib.asynccontextmanager
async def open_console(rt: Runtime) -> AsyncIterator[RuntimeConsole]:
    """The console's backend over ``rt``; the ledger (for the review queue) is closed on
    the way out. A ledger that cannot be opened leaves every other page working."""
    s = rt.settings
    handle: LedgerHandle | None = None
    try:
        handle = open_ledger(s)
        desk: ReviewDesk | str = ReviewDesk(rt.store, handle.adapter, s.entity, s.actor)
    except ConfigurationError as exc:
        log.warning("the console's review queue is off: %s", exc)
        desk = str(exc)
    try:
        yield RuntimeConsole(
            rt.store, engine_for(s), desk, audit_context(rt), s.data_dir, s.ledger,
            rt.connection_lost,
        )  # fmt: skip
    finally:
        if handle is not None:
            await handle.aclose()


@dataclass
class RuntimeConsole:
    """:class:`~syncledger.core.console_ports.ConsoleBackend` over one log, one read-model
    database, the configured ledger (through its review desk) and the audit context."""

    store: EventStore
    engine: Engine
    desk: ReviewDesk | str  # the review desk, or why the ledger could not be opened
    audit: AuditContext
    data_dir: Path
    ledger: str  # the configured ledger's id
    connection_lost: asyncio.Event | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _book: AlertBook | None = None

    @property
    def entity(self) -> str:
        return self.audit.entity

    def _desk(self) -> ReviewDesk:
        if isinstance(self.desk, str):
            raise ConfigurationError(f"the review queue needs the ledger: {self.desk}")
        return self.desk

    @property
    def reports_root(self) -> Path:
        return self.data_dir / "reports"

    async def _models(self) -> ReadModels:
        async with self._lock:
            await ProjectionRunner(self.engine, self.store).catch_up()
        return ReadModels(self.engine)

    # ------------------------------------------------------------------ status

    async def status(self) -> StatusView:
        models = await self._models()
        events = await self.store.last_seq()
        counts = models.status_counts(self.entity)
        mismatches = models.open_mismatches(self.entity)
        errors = models.open_errors(self.entity)
        book = await self.alerts()
        return StatusView(
            entity=self.entity,
            events=events,
            ledgers=_ledgers(self.ledger, counts, mismatches, errors),
            unfoldable=len(models.unfoldable(self.entity)),
            parked_alerts=parked_alerts(book),
            parked_channels=tuple(sorted(book.parked_channels.items())),
        )

    async def error_lines(self) -> list[str]:
        models = await self._models()
        text = errors_report(models, self.entity)
        return [] if text == "no open errors" else text.splitlines()

    # ------------------------------------------------------------------ review

    async def reviews(self) -> ReviewQueue:
        desk = self._desk()
        items = await open_reviews(desk)
        found = [await _item(desk, i) for i in items]
        return ReviewQueue(desk.ledger_id, tuple(found))

    async def decide(self, decision: Decision) -> str:
        try:
            ref = RecordRef.parse(decision.ref)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        desk = replace(self._desk(), actor=decision.actor)
        create = decision.link is None
        return await resolve_review(
            desk, ref, link=decision.link, create=create, note=decision.note
        )

    # ------------------------------------------------------------------ conflicts

    def _conflict_desk(self, actor: str | None = None) -> ConflictDesk:
        """The log for the configured ledger; no keys: the console shows no sealed value."""
        return ConflictDesk(self.store, None, self.entity, self.ledger, actor or self.audit.actor)

    async def open_conflicts(self) -> list[OpenConflictView]:
        return [_open_view(c) for c in await open_conflicts(self._conflict_desk())]

    async def settle(self, decision: ConflictDecision) -> str:
        try:
            ref = RecordRef.parse(decision.ref)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        desk = self._conflict_desk(decision.actor)
        return await settle_conflict(desk, ref, decision.decision, decision.note)

    # ------------------------------------------------------------------ reading

    async def conflicts(self) -> list[ConflictRow]:
        rows = []
        async for stored in self.store.read(entity_filter(self.entity, "ledger")):
            try:
                decoded = decode(stored.raw)
            except UndecodableEvent:
                continue
            if isinstance(c := decoded.event, ConflictDetected):
                at = f"{decoded.envelope.recorded_at:%Y-%m-%d %H:%M:%S}"
                rows.append(_conflict(at, c))
        return rows

    async def trace(self, ref: str) -> TraceView:
        return _trace_view(await trace_record(self.audit, ref))

    async def alerts(self) -> AlertBook:
        async with self._lock:
            if self._book is None:
                self._book = AlertBook(self.entity)
            await self._book.catch_up(self.store)
            return self._book

    async def unready(self) -> str | None:
        if self.connection_lost is not None and self.connection_lost.is_set():
            return "the connection to NATS is lost"
        try:
            await asyncio.wait_for(self.store.last_seq(), PROBE_TIMEOUT_S)
        except (EventStoreError, TimeoutError) as exc:
            return _one_line(f"NATS does not answer: {exc or 'no reply in time'}")
        try:
            await asyncio.to_thread(ReadModels(self.engine).checkpoint)
        except ProjectionError as exc:
            return _one_line(f"the projections database does not answer: {exc}")
        return None


def _one_line(text: str) -> str:
    return mask_text(text.splitlines()[0] if text else text)


async def _item(desk: ReviewDesk, item: RecordState) -> ReviewItem:
    found = [await _candidate(desk, item, c) for c in item.review_candidates]
    return ReviewItem(item.source_ref, item.review_reason or "", tuple(found))


async def _candidate(desk: ReviewDesk, item: RecordState, ledger_id: str) -> Candidate:
    """A candidate by the ledger's name for it (``syncledger review`` shows the same)."""
    try:
        found = await desk.ledger.get(item.kind or "customer", ledger_id)
    except LedgerError as exc:
        failed = f"(could not read it: {exc.code or type(exc).__name__})"
        return Candidate(ledger_id, failed, rules_text(matched_by(item, ledger_id)))
    why = rules_text(matched_by(item, ledger_id))
    if found is None:
        return Candidate(ledger_id, "(no longer in the ledger)", why)
    return Candidate(ledger_id, found.name or "(no name)", why)


def _ledgers(
    configured: str,
    counts: list[StatusCount],
    mismatches: list[MismatchView],
    errors: list[ErrorView],
) -> tuple[LedgerStatus, ...]:
    named = {configured} | {c.ledger for c in counts if c.ledger}
    named |= {m.ledger for m in mismatches} | {e.ledger for e in errors if e.ledger}
    unsent = any(c.ledger is None for c in counts) or any(e.ledger is None for e in errors)
    order: list[str | None] = [*sorted(named), *([None] if unsent else [])]
    return tuple(_ledger(name, counts, mismatches, errors) for name in order)


def _ledger(
    name: str | None,
    counts: Iterable[StatusCount],
    mismatches: Iterable[MismatchView],
    errors: Iterable[ErrorView],
) -> LedgerStatus:
    rows = tuple(
        StatusRow(c.kind, status_words(c.status), c.count) for c in counts if c.ledger == name
    )
    return LedgerStatus(
        ledger=name,
        rows=rows,
        open_mismatches=sum(1 for m in mismatches if m.ledger == name),
        open_errors=sum(1 for e in errors if e.ledger == name),
        waiting_review=sum(1 for e in errors if e.ledger == name and e.error == "review"),
    )


def _conflict(at: str, c: ConflictDetected) -> ConflictRow:
    return ConflictRow(
        recorded_at=at,
        source_ref=c.source_ref,
        ledger=c.ledger,
        ledger_ref=c.ledger_ref,
        expected_version=c.expected_version,
        actual_version=c.actual_version,
        resolution=c.resolution,
        detail=c.detail,
    )


def _open_view(c: OpenConflict) -> OpenConflictView:
    diffs = tuple(DifferenceView(d.field, d.ledger, d.ours, d.personal) for d in c.differences)
    return OpenConflictView(
        c.ref, c.ledger, c.ledger_ref, c.recorded_at, c.expected_version, c.actual_version, diffs
    )


def _trace_view(proven: ProvenTrace) -> TraceView:
    t, facts = proven.trace, proven.facts()
    steps = tuple(
        TraceStepView(
            seq=s.seq,
            occurred_at=s.occurred_at,
            type=s.type,
            summary=s.summary,
            personal=s.personal.status,
            proof=tuple(p.hex() for p in s.proof),
        )
        for s in t.steps
    )
    return TraceView(t.ref, facts, steps)
