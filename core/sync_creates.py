"""Creates: the ledger call that makes a new record (after a crash, a lookup by our
reference first; a new customer is matched before it is created)."""

from __future__ import annotations

from collections.abc import Callable

from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.ports import (
    CreateRequest,
    CreditNoteWrite,
    CustomerWrite,
    InvoiceWrite,
    PaymentWrite,
    PushResult,
    RefundWrite,
    create_one,
)
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
        ledger = self._ctx.ledger
        if isinstance(rec, Customer):
            self._ctx.matches.writing(rec)  # batch-mates it may match are asked again
            return await ledger.create_customer(CustomerWrite(rec, ref, key))
        if isinstance(rec, Refund):
            return await ledger.create_refund(self._refund(work, rec))
        return await create_one(ledger, create_request(self._ctx, self._log, work))

    def _refund(self, work: Work, rec: Refund) -> RefundWrite:
        link_of = _links(self._ctx, work)
        return RefundWrite(
            rec,
            customer_ledger_id=link_of("customer", rec.customer_key()),
            credit_kind=rec.credit_kind,
            credit_ledger_id=link_of(rec.credit_kind, rec.credit_id),
            external_ref=str(work.ref),
            idempotency_key=work.key,
            steps=self._log.journal(work),
        )


def create_request(ctx: SyncContext, log: SyncLog, work: Work) -> CreateRequest:
    """The write of a new invoice, payment or credit note, its customer and invoice linked
    (written alone, or in a batch: ``core.sync_batches``)."""
    rec, link_of = work.record, _links(ctx, work)
    assert isinstance(rec, Invoice | Payment | CreditNote)
    ref, key, steps = str(work.ref), work.key, log.journal(work)
    customer_id = link_of("customer", rec.customer_key())
    if isinstance(rec, Invoice):
        return InvoiceWrite(rec, customer_id, ref, key, steps)
    if isinstance(rec, Payment):
        paid = link_of("invoice", rec.invoice_id)
        return PaymentWrite(rec, customer_id, paid, ref, key, steps, work.applied)
    credited = link_of("invoice", rec.invoice_id) if rec.invoice_id else None
    return CreditNoteWrite(rec, customer_id, credited, ref, key, steps)


def _links(ctx: SyncContext, work: Work) -> Callable[[str, str], str]:
    """The ledger id linked to the record ``rid`` of ``kind`` in ``work``'s source."""
    return lambda kind, rid: ctx.link_of(f"{work.ref.system}/{kind}/{rid}")
