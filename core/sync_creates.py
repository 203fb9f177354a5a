"""Creates: the ledger call that makes a new record (after a crash, a lookup by our
reference first; a new customer is matched before it is created)."""

from __future__ import annotations

from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.ports import PushResult
from syncledger.core.sync_context import Outcome, SyncContext, Work
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_outcomes import Outcomes
from syncledger.core.sync_reviews import Reviews


class Creates:
    def __init__(
        self, ctx: SyncContext, log: SyncLog, outcomes: Outcomes, reviews: Reviews
    ) -> None:
        self._ctx = ctx
        self._log = log
        self._outcomes = outcomes
        self._reviews = reviews

    async def write(self, work: Work, recovering: bool) -> Outcome:
        if recovering and not work.state.steps_of(work.key):
            found = await self._ctx.ledger.find(work.ref.kind, str(work.ref))
            if found is not None:
                landed = PushResult(found.ledger_id, found.version, True)
                await self._outcomes.succeeded(work, landed)
                return Outcome("recovered", str(work.ref))
        if isinstance(work.record, Customer) and work.state.review_decision != "create":
            matched = await self._reviews.match(work, work.record)
            if matched is not None:
                return matched
        result = await self._create(work)
        await self._outcomes.succeeded(work, result)
        return Outcome("recovered" if result.recovered else "pushed", str(work.ref))

    async def _create(self, work: Work) -> PushResult:
        rec, ref, key = work.record, str(work.ref), work.key
        self._ctx.check_owner()
        if isinstance(rec, Customer):
            self._ctx.matches.writing(rec)  # batch-mates it may match are asked again
            ledger = self._ctx.ledger
            return await ledger.create_customer(rec, external_ref=ref, idempotency_key=key)
        assert rec is not None
        if isinstance(rec, Invoice):
            return await self._invoice(work, rec)
        if isinstance(rec, Payment):
            return await self._payment(work, rec)
        if isinstance(rec, Refund):
            return await self._refund(work, rec)
        assert isinstance(rec, CreditNote)
        return await self._credit_note(work, rec)

    def _link(self, work: Work, kind: str, rid: str) -> str:
        return self._ctx.link_of(f"{work.ref.system}/{kind}/{rid}")

    async def _invoice(self, work: Work, rec: Invoice) -> PushResult:
        return await self._ctx.ledger.create_invoice(
            rec,
            customer_ledger_id=self._link(work, "customer", rec.customer_key()),
            external_ref=str(work.ref),
            idempotency_key=work.key,
            steps=self._log.journal(work),
        )

    async def _payment(self, work: Work, rec: Payment) -> PushResult:
        return await self._ctx.ledger.apply_payment(
            rec,
            customer_ledger_id=self._link(work, "customer", rec.customer_key()),
            invoice_ledger_id=self._link(work, "invoice", rec.invoice_id),
            external_ref=str(work.ref),
            idempotency_key=work.key,
            steps=self._log.journal(work),
            applied=work.applied,
        )

    async def _refund(self, work: Work, rec: Refund) -> PushResult:
        return await self._ctx.ledger.create_refund(
            rec,
            customer_ledger_id=self._link(work, "customer", rec.customer_key()),
            credit_kind=rec.credit_kind,
            credit_ledger_id=self._link(work, rec.credit_kind, rec.credit_id),
            external_ref=str(work.ref),
            idempotency_key=work.key,
            steps=self._log.journal(work),
        )

    async def _credit_note(self, work: Work, rec: CreditNote) -> PushResult:
        customer_id = self._link(work, "customer", rec.customer_key())
        invoice_id = self._link(work, "invoice", rec.invoice_id) if rec.invoice_id else None
        return await self._ctx.ledger.create_credit_note(
            rec,
            customer_ledger_id=customer_id,
            invoice_ledger_id=invoice_id,
            external_ref=str(work.ref),
            idempotency_key=work.key,
            steps=self._log.journal(work),
        )
