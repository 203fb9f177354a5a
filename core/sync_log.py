"""The sync's event-store plumbing: append (with optimistic concurrency, refolding what
another writer appended first), emit on a record's ledger subject, the step journal."""

from __future__ import annotations

import json
from collections.abc import Callable

from syncledger.core.errors import ConcurrencyError
from syncledger.core.events import Envelope, EventData, SealedPii, make_envelope
from syncledger.core.ids import uuid7
from syncledger.core.ports import WriteSteps
from syncledger.core.steps import StepJournal
from syncledger.core.store import EventStore
from syncledger.core.subjects import ledger_subject
from syncledger.core.sync_context import SyncContext, Work

#: seals an event's personal fields for the event id it is given (the id is the AAD)
Sealing = Callable[[str], SealedPii]


class SyncLog:
    def __init__(self, ctx: SyncContext) -> None:
        self._ctx = ctx

    @property
    def store(self) -> EventStore:
        return self._ctx.store

    def journal(self, work: Work) -> WriteSteps:
        async def emit(payload: EventData) -> None:
            await self.emit(work, payload)

        return StepJournal(
            source_ref=str(work.ref),
            ledger=self._ctx.name,
            key=work.key,
            state=work.state,
            emit=emit,
            guard=self._ctx.guard,
        )

    def subject(self, work: Work) -> str:
        return ledger_subject(self._ctx.entity, self._ctx.name, work.ref)

    async def emit(self, work: Work, payload: EventData, seal: Sealing | None = None) -> None:
        """Append ``payload`` on the record's ledger subject (``seal``: seals its personal
        fields, e.g. a conflict's personal values, for the new event's id)."""
        await self.append(self.subject(work), payload, work.causation, work.correlation, seal)

    def _envelope(
        self,
        subject: str,
        payload: EventData,
        causation: str,
        correlation: str,
        seal: Sealing | None = None,
    ) -> Envelope:
        event_id = uuid7()
        return make_envelope(
            payload,
            entity=self._ctx.entity,
            subject=subject,
            actor=self._ctx.actor,
            causation_id=causation,
            correlation_id=correlation,
            pii=seal(event_id) if seal is not None else None,
            event_id=event_id,
        )

    def _expected(self, subject: str) -> int:
        return self._ctx.state.subject_seq.get(subject, 0)

    def _fold(self, seq: int, envelope: Envelope) -> None:
        self._ctx.state.apply(seq, envelope.subject, envelope.model_dump(mode="json"))

    async def append_once(self, subject: str, payload: EventData, work: Work) -> None:
        """Append once, expecting the subject as this process last saw it
        (``ConcurrencyError`` when another writer got there first)."""
        await self._append_expecting(
            self._envelope(subject, payload, work.causation, work.correlation)
        )

    async def append(
        self,
        subject: str,
        payload: EventData,
        causation: str,
        correlation: str,
        seal: Sealing | None = None,
    ) -> None:
        """Append, folding what another writer appended first and trying again (3 times)."""
        envelope = self._envelope(subject, payload, causation, correlation, seal)
        for _ in range(3):
            try:
                await self._append_expecting(envelope)
                return
            except ConcurrencyError:
                await self.refresh(subject)
        raise ConcurrencyError(subject, self._expected(subject))

    async def _append_expecting(self, envelope: Envelope) -> None:
        subject = envelope.subject
        [seq] = await self._ctx.store.append([envelope], expect={subject: self._expected(subject)})
        self._fold(seq, envelope)

    async def append_many(
        self, items: list[tuple[Work, EventData]], *, fallback: bool = True
    ) -> None:
        """One atomic append for many records' events (each subject's version checked);
        on a conflict, fall back to appending them one by one (or, without ``fallback``,
        raise ``ConcurrencyError``)."""
        envelopes = [
            self._envelope(self.subject(w), payload, w.causation, w.correlation)
            for w, payload in items
        ]
        expect = {e.subject: self._expected(e.subject) for e in envelopes}
        try:
            seqs = await self._ctx.store.append(envelopes, expect=expect)
        except ConcurrencyError:
            if not fallback:
                raise
            for w, payload in items:
                await self.emit(w, payload)
            return
        for seq, envelope in zip(seqs, envelopes, strict=True):
            self._fold(seq, envelope)

    async def refresh(self, subject: str) -> None:
        """Another writer touched this subject: fold what it wrote."""
        start = self._expected(subject) + 1
        async for stored in self._ctx.store.read(subject, start):
            self._ctx.state.apply(stored.seq, stored.subject, json.loads(stored.raw))
