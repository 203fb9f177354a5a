"""Disputes, the credit-note workflow: a disputed invoice is posted as it stands (never
edited away or deleted), and a credit note applied to it credits its open balance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from syncledger.core.errors import TransientLedgerError
from syncledger.core.events import Envelope, InvoiceDisputed
from syncledger.core.model import CreditNote, Invoice, InvoiceLine, RecordRef
from syncledger.core.sync_context import Operation, Outcome, SyncContext, Work, idempotency_key
from syncledger.core.sync_log import SyncLog
from syncledger.core.sync_outcomes import Outcomes
from syncledger.core.sync_state import RecordState
from syncledger.core.validation import DISPUTE_ALREADY_CREDITED, DISPUTE_ON_PAID_INVOICE

Push = Callable[[Work, Envelope], Awaitable[Outcome]]


class Disputes:
    def __init__(self, ctx: SyncContext, log: SyncLog, outcomes: Outcomes, push: Push) -> None:
        self._ctx = ctx
        self._log = log
        self._outcomes = outcomes
        self._push = push

    def open(self, rec: RecordState) -> bool:
        """A disputed invoice whose credit note is not in the ledger yet (a crash came
        between the invoice's push and its credit)."""
        if rec.dispute_ref is None:
            return False
        credit = self._ctx.state.records.get(rec.dispute_ref)
        return credit is None or (credit.ledger_ref is None and credit.abandoned_key is None)

    def credited(self, rec: RecordState) -> bool:
        if rec.dispute_ref is None:
            return False
        credit = self._ctx.state.records.get(rec.dispute_ref)
        return credit is not None and credit.ledger_ref is not None

    async def refuse_change(self, work: Work, cause: Envelope) -> Outcome:
        """A credited invoice changed in the source: it stays credited."""
        return await self._outcomes.reject(
            work.ref,
            work.content_sha,
            cause,
            [
                (
                    DISPUTE_ALREADY_CREDITED,
                    f"{work.ref} was disputed and credited in full by "
                    f"{work.state.dispute_ref}; it stays credited: bill what was agreed "
                    "on a new invoice",
                )
            ],
        )

    async def disputed(self, work: Work, invoice: Invoice, cause: Envelope) -> Outcome:
        """Post the invoice as it stands, then credit its open balance."""
        credit_ref = RecordRef(
            system=work.ref.system, kind="credit_note", id=f"{work.ref.id}~dispute"
        )
        if work.state.dispute_ref is None:
            await self._log.emit(
                work,
                InvoiceDisputed(
                    source_ref=str(work.ref), ledger=self._ctx.name, credit_note_ref=str(credit_ref)
                ),
            )
        if work.state.pushed_sha != work.content_sha:
            linked = work.state.ledger_ref is not None
            operation: Operation = "update" if linked else "create"
            posted = await self._push(replace(work, operation=operation), cause)
            if posted.status not in ("pushed", "recovered"):
                return posted
        return await self._credit(work, invoice, credit_ref, cause)

    async def _credit(
        self, work: Work, invoice: Invoice, credit_ref: RecordRef, cause: Envelope
    ) -> Outcome:
        ctx = self._ctx
        credit = ctx.state.get(str(credit_ref))
        if credit.ledger_ref is not None:
            return Outcome("skipped", str(credit_ref))  # credited already
        key = idempotency_key(str(credit_ref), work.content_sha, ctx.name)
        if credit.abandoned_key == key:
            return Outcome("skipped", str(credit_ref))
        ledger_id = ctx.state.get(str(work.ref)).ledger_ref
        assert ledger_id is not None
        try:
            posted = await ctx.ledger.get("invoice", ledger_id)
        except TransientLedgerError as exc:
            return Outcome("retry", str(work.ref), exc.retry_after or ctx.base_delay)
        balance = posted.balance if posted is not None else None
        recovering = credit.pending_key == key
        if not recovering and (balance is None or balance <= 0):
            return await self._refuse_paid(work, cause)
        note = dispute_credit_note(invoice, credit_ref.id, balance or invoice.total)
        state = ctx.state.get(str(credit_ref))
        cwork = Work(
            credit_ref, state, note, work.content_sha, key, work.causation, work.correlation
        )
        return await self._push(cwork, cause)

    async def _refuse_paid(self, work: Work, cause: Envelope) -> Outcome:
        return await self._outcomes.reject(
            work.ref,
            work.content_sha,
            cause,
            [
                (
                    DISPUTE_ON_PAID_INVOICE,
                    f"{work.ref} is disputed but has no open balance in "
                    f"{self._ctx.name} (it is paid or credited already); settle the "
                    "dispute with a credit note and a refund in the source",
                )
            ],
        )


def dispute_credit_note(invoice: Invoice, credit_id: str, balance: Decimal) -> CreditNote:
    """The credit note that settles a dispute: the invoice's own lines (so its tax is
    reversed line by line) when nothing was paid yet, else one line for the open balance."""
    number = f"{invoice.number}-CR"
    if len(number) > 21:  # the shortest document-number limit among the ledgers (QBO)
        number = f"{invoice.number[: 21 - 3]}-CR"
    whole = balance == invoice.total
    lines = (
        invoice.lines
        if whole
        else (
            InvoiceLine(
                description=f"Credit for disputed invoice {invoice.number}",
                quantity=Decimal(1),
                unit_price=balance,
                line_type="service",
            ),
        )
    )
    return CreditNote(
        id=credit_id,
        number=number,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        issue_date=datetime.now(UTC).date(),
        currency=invoice.currency,
        lines=lines,
        discount=invoice.discount if whole else Decimal(0),
        total=balance,
        exchange_rate=invoice.exchange_rate,
    )
