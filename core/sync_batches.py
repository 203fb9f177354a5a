"""Batching: documents created through the ledger's batch endpoint where it has one
(requested events in one append, one batch call, outcome events in one append)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from syncledger.core.errors import LedgerError
from syncledger.core.events import LedgerPushSucceeded
from syncledger.core.model import CreditNote, Invoice, Payment
from syncledger.core.ports import BatchCreator, PushResult
from syncledger.core.sync_claims import Claims
from syncledger.core.sync_context import Outcome, SyncContext, Work, needs
from syncledger.core.sync_creates import create_request
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_outcomes import Outcomes


class Batch:
    """The creates held for one batch call, and the outcomes of a ``handle_many`` run
    (a held record's ``deferred`` outcome is replaced by its batch's)."""

    def __init__(self, ctx: SyncContext, log: SyncLog, claims: Claims, outcomes: Outcomes):
        self._ctx = ctx
        self._log = log
        self._claims = claims
        self._outcomes = outcomes
        self._held: list[tuple[int, Work]] | None = None  # (result index, work)
        self.results: list[Outcome] = []
        self.limit = 30

    def open(self) -> None:
        self._held, self.results = [], []

    def close(self) -> None:
        self._held = None

    @property
    def full(self) -> bool:
        return self._held is not None and len(self._held) >= self.limit

    def takes(self, work: Work) -> bool:
        """Whether ``work`` waits for the batch call (a batch is open and it is a
        document's create)."""
        if self._held is None:
            return False
        if isinstance(work.record, Invoice) and work.record.status == "disputed":
            return False  # its credit note needs the invoice's ledger id straight away
        return work.operation == "create" and isinstance(
            work.record, Invoice | Payment | CreditNote
        )

    def hold(self, work: Work) -> Outcome:
        assert self._held is not None
        self._held.append((len(self.results), work))
        return Outcome("deferred", str(work.ref))

    def holds_dependency_of(self, work: Work) -> bool:
        held = {str(w.ref) for _, w in self._held or ()}
        if work.record is None or not held:
            return False
        deps = {f"{work.ref.system}/{kind}/{rid}" for kind, rid in needs(work.record)}
        return bool(deps & held)

    def held_against(self, invoice_ledger_id: str) -> Decimal:
        """What batched, not yet sent payments and credit notes will apply to an invoice."""
        held = Decimal(0)
        for _, w in self._held or ():
            rec = w.record
            if not isinstance(rec, Payment | CreditNote) or rec.invoice_id is None:
                continue
            if self._ctx.link_of(f"{w.ref.system}/invoice/{rec.invoice_id}") != invoice_ledger_id:
                continue
            if isinstance(rec, Payment):
                held += rec.amount if w.applied is None else w.applied
            else:
                held += rec.total if w.applied is None else w.applied
        return held

    async def flush(self) -> None:
        """Requested events (one append), one batch call, outcome events (one append)."""
        held, self._held = self._held or [], [] if self._held is not None else None
        if not held:
            return
        self._ctx.check_owner()
        held = await self._claim(held)
        if held:
            await self._send([w for _, w in held], [i for i, _ in held])

    async def _claim(self, held: list[tuple[int, Work]]) -> list[tuple[int, Work]]:
        claims = await self._claims.claim_many([w for _, w in held])
        for (index, work), claimed in zip(held, claims, strict=True):
            if not claimed:
                self.results[index] = self._claims.elsewhere(work)
        return [h for h, claimed in zip(held, claims, strict=True) if claimed]

    async def _send(self, works: list[Work], indexes: list[int]) -> None:
        self._ctx.check_owner()
        ledger = self._ctx.ledger
        assert isinstance(ledger, BatchCreator)
        batch_key = hashlib.sha256("".join(w.key for w in works).encode()).hexdigest()
        answers: list[PushResult | LedgerError]
        try:
            answers = await ledger.create_many(
                [create_request(self._ctx, self._log, w) for w in works], batch_key=batch_key
            )
        except LedgerError as exc:  # the whole call failed: every item is retried alone
            answers = [exc] * len(works)
        settled = [self._outcomes.settle(w, a) for w, a in zip(works, answers, strict=True)]
        await self._log.append_many(
            [(w, payload) for w, (payload, _) in zip(works, settled, strict=True)]
        )
        for index, (_, outcome) in zip(indexes, settled, strict=True):
            self.results[index] = outcome
        for work, (payload, _) in zip(works, settled, strict=True):
            if isinstance(payload, LedgerPushSucceeded):
                await self._outcomes.after_success(work, payload)
