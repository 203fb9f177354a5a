"""Before a push's intent is logged: are the records it needs in the ledger, and the
decisions that need the ledger's current figures (items, how much of a payment or credit
note its invoice takes, whether a refund's credit still holds the amount)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Literal

from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.sync_batches import Batch
from syncledger.core.sync_context import Missing, SyncContext, Work, needs
from syncledger.core.sync_items import Items
from syncledger.core.validation import CUSTOMER_NOT_FOUND, REFUND_EXCEEDS_CREDIT
from syncledger.core.words import money


class Prepare:
    def __init__(self, ctx: SyncContext, items: Items, batch: Batch) -> None:
        self._ctx = ctx
        self._items = items
        self._batch = batch

    def missing_dependency(self, work: Work) -> Missing | Literal["wait"] | None:
        """A reason to reject, "wait" while a dependency is still on its way, or None."""
        rec = work.record
        if rec is None or isinstance(rec, Customer) or work.operation == "void":
            return None
        for kind, rid in needs(rec):
            verdict = self._dependency(work.ref.system, kind, rid)
            if verdict is not None:
                return verdict
        return None

    def _dependency(self, system: str, kind: str, rid: str) -> Missing | Literal["wait"] | None:
        ref = f"{system}/{kind}/{rid}"
        dep = self._ctx.state.records.get(ref)
        if dep is None or dep.observed_sha is None:
            code = CUSTOMER_NOT_FOUND if kind == "customer" else f"{kind}_not_found"
            return ref, code, f"{kind} {rid!r} does not exist in {system} (yet)"
        if dep.ledger_ref is not None:
            return None
        if dep.review_key is not None:
            return (
                ref,
                f"{kind}_not_synced",
                f"{kind} {rid!r} waits for a person to decide which ledger record it is "
                "(`syncledger review`); this record follows by itself once that is done",
            )
        if dep.observed_sha == dep.rejected_sha or dep.abandoned_key is not None:
            return (
                ref,
                f"{kind}_not_synced",
                f"{kind} {rid!r} could not be pushed (see `syncledger errors`): fix it "
                "first; this record follows by itself once it is in the ledger",
            )
        return "wait"  # observed and not yet pushed (retrying or not processed yet)

    async def prepare(self, work: Work) -> Work | tuple[str, str]:
        """Decisions that need the ledger's current figures, made before the intent is
        logged: the items a document's lines name exist in the ledger, how much of a
        payment its invoice can take (the rest is customer credit), and whether the credit
        a refund draws on still holds the amount."""
        rec = work.record
        if isinstance(rec, Invoice | CreditNote) and work.operation != "void":
            missing = await self._items.ensure(work, rec)
            if missing is not None:
                return missing
        if work.operation != "create":
            return work
        if isinstance(rec, Payment):
            return await self._payment_to_apply(work, rec)
        if isinstance(rec, CreditNote) and rec.invoice_id:
            return await self._credit_to_apply(work, rec)
        if isinstance(rec, Refund):
            return await self._refund_covered(work, rec)
        return work

    async def _open_balance(self, work: Work, invoice_ref_id: str | None) -> Decimal | None:
        """What the invoice still owes in the ledger, less what the batch will apply to
        it (None: the ledger does not say)."""
        invoice_id = self._ctx.link_of(f"{work.ref.system}/invoice/{invoice_ref_id}")
        invoice = await self._ctx.ledger.get("invoice", invoice_id)
        if invoice is None or invoice.balance is None:
            return None
        open_balance = Decimal(0) if invoice.status == "void" else invoice.balance
        return open_balance - self._batch.held_against(invoice_id)

    async def _payment_to_apply(self, work: Work, payment: Payment) -> Work:
        open_balance = await self._open_balance(work, payment.invoice_id)
        if open_balance is None or payment.amount <= open_balance:
            return work  # all of it (or the ledger will say what is wrong)
        return replace(work, applied=max(open_balance, Decimal(0)))

    async def _credit_to_apply(self, work: Work, note: CreditNote) -> Work:
        """How much of a credit note its invoice takes: what the invoice still owes, at most
        the credit (the rest stays with the customer). Logged with the intent, so the
        reconciler can check the ledger applied exactly that."""
        open_balance = await self._open_balance(work, note.invoice_id)
        if open_balance is None:
            return work
        return replace(work, applied=min(note.total, max(open_balance, Decimal(0))))

    async def _refund_covered(self, work: Work, refund: Refund) -> Work | tuple[str, str]:
        credit_ref = f"{work.ref.system}/{refund.credit_kind}/{refund.credit_id}"
        credit = await self._ctx.ledger.get(refund.credit_kind, self._ctx.link_of(credit_ref))
        left = None if credit is None else credit.balance
        if left is not None and refund.amount > left:
            return (
                REFUND_EXCEEDS_CREDIT,
                f"the refund of {money(refund.amount, refund.currency)} is more than the "
                f"{money(left, refund.currency)} of credit {credit_ref} still holds in "
                f"{self._ctx.name}",
            )
        return work
