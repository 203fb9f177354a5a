"""How a push ends, as events: succeeded (and what follows it), linked, failed (retry
with backoff), abandoned, rejected.

Messages that reach the log never show a personal value of the record: a ledger's error
text is kept with the record's personal and name values replaced by their field names,
and so is a rejection's reason (:mod:`syncledger.core.pii_text`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from syncledger.core.errors import AuthExpiredError, LedgerError, TransientLedgerError
from syncledger.core.events import (
    CustomerCreditRecorded,
    Envelope,
    EventData,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushSucceeded,
    RecordLinked,
    RejectionReason,
    RetryRequested,
    SourceRecordRejected,
)
from syncledger.core.metrics import count_rejection
from syncledger.core.model import CreditNote, Invoice, Payment, RecordRef, Refund
from syncledger.core.pii_text import echoable, strip, strip_reasons
from syncledger.core.ports import LedgerRecord, PushResult
from syncledger.core.subjects import source_subject
from syncledger.core.sync_context import Outcome, SyncContext, Work, backoff
from syncledger.core.sync_log import SyncLog


class Outcomes:
    def __init__(self, ctx: SyncContext, log: SyncLog) -> None:
        self._ctx = ctx
        self._log = log

    async def succeeded(
        self, work: Work, result: PushResult, ledger_owned: tuple[str, ...] = ()
    ) -> None:
        """Logged as pushed; ``ledger_owned`` names the customer details an update left
        out because the ledger owns them (core/sync_updates.py)."""
        success = self.success(work, result)
        if ledger_owned:
            success = success.model_copy(update={"ledger_owned": ledger_owned})
        await self._log.emit(work, success)
        await self.after_success(work, success)

    async def after_success(self, work: Work, success: LedgerPushSucceeded) -> None:
        """What follows a record reaching the ledger: an overpayment's credit is said out
        loud, and records that were waiting for this one are tried again."""
        rec = work.record
        if isinstance(rec, Payment) and success.unapplied:
            await self._log.emit(
                work,
                CustomerCreditRecorded(
                    source_ref=str(work.ref),
                    ledger=self._ctx.name,
                    ledger_ref=success.ledger_ref,
                    invoice_ref=f"{work.ref.system}/invoice/{rec.invoice_id}",
                    amount=success.unapplied,
                    currency=rec.currency,
                ),
            )
        await self._release(work)

    async def _release(self, work: Work) -> None:
        """Ask again for the records rejected because this one was not in the ledger."""
        dep, state = str(work.ref), self._ctx.state
        for ref in sorted(state.waiters.pop(dep, ())):
            waiting = state.records.get(ref)
            if waiting is None or waiting.waiting_on != dep or waiting.deleted:
                continue
            if waiting.rejected_sha != waiting.observed_sha:
                continue
            await self._log.append(
                source_subject(self._ctx.entity, RecordRef.parse(ref)),
                RetryRequested(
                    ref=ref, ledger=self._ctx.name, reason=f"{dep} is now in the ledger"
                ),
                work.causation,
                work.correlation,
            )

    def success(self, work: Work, result: PushResult) -> LedgerPushSucceeded:
        rec = work.record
        document = rec if isinstance(rec, Invoice | CreditNote) else None
        return LedgerPushSucceeded(
            source_ref=str(work.ref),
            ledger=self._ctx.name,
            ledger_ref=result.ledger_id,
            ledger_version=result.version,
            idempotency_key=work.key,
            content_sha256=work.content_sha,
            mapping_version=self._ctx.mapping_version,
            recovered=result.recovered,
            operation=work.operation,
            total=document.total if document is not None else None,
            tax=document.tax_total if document is not None else None,
            unapplied=(
                rec.amount - work.applied
                if isinstance(rec, Payment) and work.applied is not None
                else None
            ),
            **_application(work),
            **self._as_pushed(work),
        )

    def _as_pushed(self, work: Work) -> dict[str, Any]:
        """A document's fields a conflict compares, as this create/update wrote them (a
        void or an application writes none of them): core/sync_updates.py tells our own
        payments moving the ledger's version from a person's edit by them."""
        rec = work.record
        if not isinstance(rec, Invoice | CreditNote) or work.operation not in ("create", "update"):
            return {}
        customer = self._ctx.state.records.get(f"{work.ref.system}/customer/{rec.customer_key()}")
        return {
            "number": rec.number,
            "currency": rec.currency,
            "due_date": rec.due_date if isinstance(rec, Invoice) else None,
            "customer_ledger_ref": customer.ledger_ref if customer is not None else None,
        }

    async def link(
        self, work: Work, found: LedgerRecord, matched_by: str = "customer match"
    ) -> None:
        await self._log.emit(
            work,
            RecordLinked(
                source_ref=str(work.ref),
                ledger=self._ctx.name,
                ledger_ref=found.ledger_id,
                matched_by=matched_by,
                content_sha256=work.content_sha,
                idempotency_key=work.key,
            ),
        )
        await self._release(work)

    async def failed(self, work: Work, exc: LedgerError, retry_after: float | None) -> Outcome:
        attempt = work.state.attempts + 1
        if attempt >= self._ctx.max_attempts:
            outage = isinstance(exc, TransientLedgerError)
            return await self.abandon(
                work, exc.code, _ledger_message(work, exc), attempt, transient=outage
            )
        payload, delay = self._failure(work, exc, attempt, retry_after)
        await self._log.emit(work, payload)
        return Outcome("retry", str(work.ref), delay)

    def _failure(
        self, work: Work, exc: LedgerError, attempt: int, retry_after: float | None
    ) -> tuple[LedgerPushFailed, float]:
        delay = backoff(attempt, retry_after, self._ctx.base_delay)
        return LedgerPushFailed(
            source_ref=str(work.ref),
            ledger=self._ctx.name,
            idempotency_key=work.key,
            attempt=attempt,
            code=exc.code,
            message=_ledger_message(work, exc),
            retry_at=datetime.now(UTC) + timedelta(seconds=delay),
            step=exc.step,
        ), delay

    def _abandoned(
        self, work: Work, code: str | None, message: str, n: int, transient: bool
    ) -> LedgerPushAbandoned:
        return LedgerPushAbandoned(
            source_ref=str(work.ref),
            ledger=self._ctx.name,
            idempotency_key=work.key,
            attempts=n,
            code=code,
            message=_without_personal(work, message),
            transient=transient,
        )

    async def abandon(
        self, work: Work, code: str | None, message: str, n: int, *, transient: bool = False
    ) -> Outcome:
        """Give up on the push (``transient``: the attempts ran out on an outage, so
        ``syncledger.core.outage`` asks again by itself once the ledger answers)."""
        await self._log.emit(work, self._abandoned(work, code, message, n, transient))
        return Outcome("abandoned", str(work.ref))

    def settle(self, work: Work, answer: PushResult | LedgerError) -> tuple[EventData, Outcome]:
        """A batch call's answer for one record: the event to log, and the outcome."""
        ref = str(work.ref)
        if isinstance(answer, PushResult):
            return self.success(work, answer), Outcome("pushed", ref)
        attempt = work.state.attempts + 1
        transient = isinstance(answer, TransientLedgerError | AuthExpiredError)
        if not transient or attempt >= self._ctx.max_attempts:
            outage = isinstance(answer, TransientLedgerError)
            abandoned = self._abandoned(work, answer.code, str(answer), attempt, outage)
            return abandoned, Outcome("abandoned", ref)
        hint = answer.retry_after if isinstance(answer, TransientLedgerError) else 60.0
        failed, delay = self._failure(work, answer, attempt, hint)
        return failed, Outcome("retry", ref, delay)

    async def reject(
        self,
        ref: RecordRef,
        sha: str,
        cause: Envelope,
        reasons: list[tuple[str, str]],
        waiting_on: str | None = None,
    ) -> Outcome:
        typed = tuple(RejectionReason(code=c, message=m) for c, m in reasons)
        return await self.reject_reasons(ref, sha, cause, typed, waiting_on)

    async def reject_reasons(
        self,
        ref: RecordRef,
        sha: str,
        cause: Envelope,
        reasons: tuple[RejectionReason, ...],
        waiting_on: str | None = None,
    ) -> Outcome:
        payload = SourceRecordRejected(
            ref=str(ref),
            kind=ref.kind,
            content_sha256=sha,
            reasons=strip_reasons(reasons, _named_in(cause)),
            ledger=self._ctx.name,
            waiting_on=waiting_on,
            mapping_version=self._ctx.mapping_version,
        )
        subject = source_subject(self._ctx.entity, ref)
        await self._log.append(subject, payload, cause.id, cause.correlation_id)
        for reason in reasons:
            count_rejection("ledger", reason.code)
        return Outcome("rejected", str(ref))


def _personal_values(work: Work) -> dict[str, str]:
    """The values of the record's personal and name fields (opened: the worker holds them)."""
    if work.record is None:
        return {}
    return echoable(work.ref.kind, work.record.model_dump(mode="json"))


def _without_personal(work: Work, message: str) -> str:
    """A ledger's words may echo what was sent ("Duplicate name 'Jane Doe'"): the log
    keeps them with each personal value replaced by its field's name."""
    return strip(message, _personal_values(work))


def _ledger_message(work: Work, exc: LedgerError) -> str:
    return _without_personal(work, str(exc))


def _named_in(cause: Envelope) -> dict[str, str]:
    """The name fields of the observed version a rejection answers (its personal fields
    are stripped by validation, which reads them opened)."""
    record = cause.data.get("record") if cause.type == "SourceRecordObserved" else None
    kind = str(cause.data.get("kind", ""))
    return echoable(kind, record) if isinstance(record, dict) else {}


def _application(work: Work) -> dict[str, Any]:
    """What the record was meant to be applied to (the reconciler checks the ledger
    holds it): a payment to its invoice, a credit note to its invoice, a refund to the
    credit it pays out."""
    rec, system = work.record, work.ref.system
    if work.operation != "create" or rec is None:
        return {}
    if isinstance(rec, Payment):
        amount = rec.amount if work.applied is None else work.applied
        return {"applies_to": f"{system}/invoice/{rec.invoice_id}", "applied_amount": amount}
    if isinstance(rec, CreditNote) and rec.invoice_id:
        return {"applies_to": f"{system}/invoice/{rec.invoice_id}", "applied_amount": work.applied}
    if isinstance(rec, Refund):
        target = f"{system}/{rec.credit_kind}/{rec.credit_id}"
        return {"applies_to": target, "applied_amount": rec.amount}
    return {}
