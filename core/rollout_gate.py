"""The worker's rollout gate (issue 16): hold what the scope leaves out, release what a
wider scope lets in.

- **Hold.** Before a version is validated, its customer is judged by the scope in force
  (``core/rollout.py``) on the raw source fields the log holds (personal ones unsealed):
  the customer's own for a customer, its customer's latest observed version for an
  invoice, payment, credit note or refund. Out of scope: ``RecordHeldForRollout`` once per
  version, and nothing is pushed. Already-pushed records stay in the ledger; their later
  versions are held the same way.
- **Cannot tell yet.** A record whose customer has not been observed (or whose personal
  data was erased) is not judged: it goes on, and the dependency check refuses it until
  its customer is in the ledger (then it is tried again and judged); if its customer
  turns out to be out of scope, the refused version is held with it (no longer an
  error). A record naming no customer at all is held (the safe path: the rule does not
  admit it).
- **Release.** When the worker starts, each held version the scope now admits gets one
  ``RecordReleasedForRollout`` on its source subject, customers first, then invoices,
  then payments, credit notes and refunds (log order within a kind); the worker then
  tries them as it tries a retry. A version pushed before the widening is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from syncledger.core.decode import decode
from syncledger.core.errors import SubjectErased, UndecodableEvent
from syncledger.core.events import (
    Envelope,
    RecordHeldForRollout,
    RecordReleasedForRollout,
    SourceRecordObserved,
    make_envelope,
)
from syncledger.core.model import RecordRef
from syncledger.core.rollout import RolloutRule, digest_of
from syncledger.core.subjects import ledger_subject, source_subject
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_state import RecordState, SyncState

log = logging.getLogger(__name__)

#: a version's raw source fields, personal ones unsealed (``SyncService._fields``)
FieldsOf = Callable[[Envelope, SourceRecordObserved], dict[str, Any]]
#: the order a backlog is released in: what others depend on first
_RANK = {"customer": 0, "invoice": 1, "payment": 2, "credit_note": 2, "refund": 2}
_BATCH = 500


class RolloutGate:
    def __init__(
        self,
        rule: RolloutRule | None,
        log: SyncLog,
        state: SyncState,
        fields_of: FieldsOf,
    ) -> None:
        self.rule, self.digest = rule, digest_of(rule)
        self._log, self._state, self._fields_of = log, state, fields_of
        self._store = log.store
        self._customers: dict[str, tuple[str | None, bool | None]] = {}

    # ------------------------------------------------------------------ judge

    async def admits(self, envelope: Envelope, event: SourceRecordObserved) -> bool | None:
        """In scope, out of it, or None: cannot tell yet (see the module docstring)."""
        if self.rule is None:
            return True
        if event.kind == "customer":
            return self._judge(event.ref, partial(self._fields_of, envelope, event))
        if event.customer_ref is None:
            return False
        return await self._customer_admitted(event.customer_ref)

    async def admits_state(self, rec: RecordState) -> bool | None:
        """:meth:`admits` for a record as the sync state knows it (the release pass)."""
        if self.rule is None:
            return True
        customer = rec.source_ref if rec.kind == "customer" else rec.customer_ref
        return False if customer is None else await self._customer_admitted(customer)

    def _judge(self, customer_ref: str, fields: Callable[[], dict[str, Any]]) -> bool | None:
        rule = self.rule
        if rule is None or not rule.needs_fields:
            return True if rule is None else rule.admits(customer_ref, {})
        try:
            return rule.admits(customer_ref, fields())
        except SubjectErased:
            return None

    async def _customer_admitted(self, customer_ref: str) -> bool | None:
        rec = self._state.records.get(customer_ref)
        if self.rule is not None and not self.rule.needs_fields:
            return self.rule.admits(customer_ref, {})
        if rec is None or not rec.observed_seq:
            return None
        cached = self._customers.get(customer_ref)
        if cached is not None and cached[0] == rec.observed_sha:
            return cached[1]
        verdict = await self._judge_stored(customer_ref, rec)
        self._customers[customer_ref] = (rec.observed_sha, verdict)
        return verdict

    async def _judge_stored(self, customer_ref: str, rec: RecordState) -> bool | None:
        found = await self._observation(rec)
        if found is None:
            return None
        return self._judge(customer_ref, partial(self._fields_of, *found))

    async def _observation(self, rec: RecordState) -> tuple[Envelope, SourceRecordObserved] | None:
        """The record's latest observed version as the log holds it."""
        async for stored in self._store.read(rec.observed_subject, rec.observed_seq):
            if stored.seq != rec.observed_seq:
                return None
            try:
                decoded = decode(stored.raw)
            except UndecodableEvent as exc:
                log.warning("customer event %d cannot be read (%s)", stored.seq, exc)
                return None
            event = decoded.event
            return (decoded.envelope, event) if isinstance(event, SourceRecordObserved) else None
        return None

    # ------------------------------------------------------------------ hold

    async def holds(self, envelope: Envelope, event: SourceRecordObserved) -> bool:
        """True: out of scope, held (logged once per version). A customer the scope
        admits after holding an earlier version of it releases its held records."""
        verdict = await self.admits(envelope, event)
        if verdict is False:
            await self._hold(envelope, event)
            return True
        customer = self._state.get(event.ref)
        if verdict and event.kind == "customer" and customer.held_sha:
            await self._release_dependents(envelope, event.ref)
            customer.held_sha = None  # its earlier version's hold: nothing left to follow
        return False

    async def _hold(self, envelope: Envelope, event: SourceRecordObserved) -> None:
        await self._hold_version(envelope, event.ref, event.kind, event.content_sha256)
        if event.kind == "customer":  # records refused while waiting for it follow it
            for rec in self._waiting_on(event.ref):
                await self._hold_version(envelope, rec.source_ref, rec.kind, rec.rejected_sha)

    async def _hold_version(self, cause: Envelope, ref: str, kind: str, sha: str | None) -> None:
        if sha is None or self._state.get(ref).held_sha == sha:
            return  # held already
        payload = RecordHeldForRollout(
            source_ref=ref,
            ledger=self._state.ledger,
            kind=kind,
            content_sha256=sha,
            rule_sha256=self.digest,
        )
        subject = ledger_subject(self._state.entity, self._state.ledger, RecordRef.parse(ref))
        await self._log.append(subject, payload, cause.id, cause.correlation_id)

    def _waiting_on(self, customer_ref: str) -> list[RecordState]:
        """Records whose latest version was refused because this customer was not in the
        ledger yet (``customer_not_found``, judged before the customer was known)."""
        found = []
        for ref in sorted(self._state.waiters.get(customer_ref, ())):
            rec = self._state.records.get(ref)
            if rec is None or rec.waiting_on != customer_ref or rec.deleted:
                continue
            if rec.rejected_sha is not None and rec.rejected_sha == rec.observed_sha:
                found.append(rec)
        return found

    async def _release_dependents(self, cause: Envelope, customer_ref: str) -> None:
        """The customer is in scope now (a source change): its held records follow it."""
        held = [
            rec
            for rec in self._state.records.values()
            if rec.customer_ref == customer_ref and rec.kind != "customer" and _waiting(rec)
        ]
        for rec in sorted(held, key=_order):
            payload = self._release(rec)
            subject = source_subject(self._state.entity, RecordRef.parse(rec.source_ref))
            await self._log.append(subject, payload, cause.id, cause.correlation_id)

    # ------------------------------------------------------------------ release

    async def releasable(self) -> list[RecordState]:
        """Held versions (still the latest, not deleted) the scope in force admits, in
        dependency order."""
        found = []
        for rec in self._state.records.values():
            if _waiting(rec) and await self.admits_state(rec):
                found.append(rec)
        return sorted(found, key=_order)

    async def release_backlog(self, actor: str) -> int:
        """Append one ``RecordReleasedForRollout`` per releasable record (in order)."""
        records = await self.releasable()
        envelopes = [self._release_envelope(r, actor) for r in records]
        # not folded here: the worker folds each as it takes it (a newer observation on
        # the same subject, not taken yet, must still be folded first); this runs once
        # per start, and a restart folds them from the log, so none is released twice
        for start in range(0, len(envelopes), _BATCH):
            await self._store.append(envelopes[start : start + _BATCH])
        if envelopes:
            log.info("rollout scope widened: %d held records released", len(envelopes))
        return len(envelopes)

    def _release(self, rec: RecordState) -> RecordReleasedForRollout:
        return RecordReleasedForRollout(
            ref=rec.source_ref, ledger=self._state.ledger, rule_sha256=self.digest
        )

    def _release_envelope(self, rec: RecordState, actor: str) -> Envelope:
        entity = self._state.entity
        subject = source_subject(entity, RecordRef.parse(rec.source_ref))
        return make_envelope(self._release(rec), entity=entity, subject=subject, actor=actor)


def _waiting(rec: RecordState) -> bool:
    """Its latest version is held (not released since, not deleted)."""
    return rec.held_sha is not None and rec.held_sha == rec.observed_sha and not rec.deleted


def _order(rec: RecordState) -> tuple[int, int]:
    return _RANK.get(rec.kind, 3), rec.observed_seq
