"""Reviews: a new customer matched to the ledger's customers (linked when one matches,
asked of a person when several do), and what that person decided."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from syncledger.core.errors import TransientLedgerError
from syncledger.core.events import CandidateMatch, Envelope, ReviewRequested, ReviewResolved
from syncledger.core.model import Customer, RecordRef
from syncledger.core.ports import PushResult
from syncledger.core.review_match import match_rules
from syncledger.core.sync_context import Outcome, SyncContext, Work, idempotency_key
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_outcomes import Outcomes
from syncledger.core.sync_state import RecordState

Retry = Callable[[str], Awaitable[Outcome]]


class Reviews:
    def __init__(self, ctx: SyncContext, log: SyncLog, outcomes: Outcomes, retry: Retry) -> None:
        self._ctx = ctx
        self._log = log
        self._outcomes = outcomes
        self._retry = retry

    async def match(self, work: Work, customer: Customer) -> Outcome | None:
        """Before creating a customer: ours already there, one to link, several to ask
        about, or none (None: create it)."""
        candidates = self._ctx.matches.take(str(work.ref), customer)
        if candidates is None:  # not read with the batch's (``core/sync_matches.py``)
            candidates = await self._ctx.ledger.match_customer(customer)
        ours = [c for c in candidates if c.external_ref == str(work.ref)]
        if ours:
            found = PushResult(ours[0].ledger_id, ours[0].version, True)
            await self._outcomes.succeeded(work, found)
            return Outcome("recovered", str(work.ref))
        # a ledger customer that carries another of our references is a different record
        candidates = [c for c in candidates if c.external_ref is None]
        if len(candidates) == 1:
            await self._outcomes.link(work, candidates[0])
            return Outcome("linked", str(work.ref))
        if len(candidates) > 1:
            ids = tuple(c.ledger_id for c in candidates)
            message = (
                f"{len(ids)} {self._ctx.name} customers match {work.ref} "
                f"({', '.join(ids[:5])}): link it to one of them, or create a new "
                "customer if none is it"
            )
            matches = tuple(
                CandidateMatch(ledger_id=c.ledger_id, rules=match_rules(customer, c))
                for c in candidates
            )
            await self._ask(work, "ambiguous_match", ids, message, matches)
            return Outcome("review", str(work.ref))
        return None

    async def resolved(self, envelope: Envelope, event: ReviewResolved) -> Outcome:
        """A person decided a review item: link the record, or create it after all."""
        ref = RecordRef.parse(event.ref)
        rec = self._ctx.state.records.get(str(ref))
        if rec is None or rec.ledger_ref is not None or rec.observed_sha is None:
            return Outcome("ignored", str(ref))
        if event.decision == "create":
            return await self._retry(str(ref))
        return await self._link_chosen(self._work(ref, rec, rec.observed_sha, envelope), event)

    def _work(self, ref: RecordRef, rec: RecordState, sha: str, envelope: Envelope) -> Work:
        key = idempotency_key(str(ref), sha, self._ctx.name)
        return Work(ref, rec, None, sha, key, envelope.id, envelope.correlation_id)

    async def _link_chosen(self, work: Work, event: ReviewResolved) -> Outcome:
        ref = str(work.ref)
        target = event.ledger_ref
        try:
            found = None if target is None else await self._ctx.ledger.get(work.ref.kind, target)
        except TransientLedgerError as exc:
            return Outcome("retry", ref, exc.retry_after or self._ctx.base_delay)
        if found is None:
            message = (
                f"{self._ctx.name} has no {work.ref.kind} {target} "
                "to link to: choose another, or create"
            )
            await self._ask(work, "link_target_missing", work.state.review_candidates, message)
            return Outcome("review", ref)
        await self._outcomes.link(work, found, matched_by=f"review: {event.note or 'by hand'}")
        return Outcome("linked", ref)

    async def _ask(
        self,
        work: Work,
        reason: str,
        candidates: tuple[str, ...],
        message: str,
        matches: tuple[CandidateMatch, ...] = (),
    ) -> None:
        await self._log.emit(
            work,
            ReviewRequested(
                source_ref=str(work.ref),
                ledger=self._ctx.name,
                reason=reason,
                candidates=candidates,
                message=message,
                idempotency_key=work.key,
                matches=matches,
            ),
        )
