"""Updates and voids of linked records, and conflicts: the ledger's version moved since we
last wrote (our own payments moving an invoice are not an edit; otherwise the kind's field
authority decides: the source overwrites, or a person reviews).

A customer detail the ledger owns (``customer_field_authority``, core/customer_details.py)
is kept out of every customer update: a CRM edit of it must not overwrite the
bookkeeper's value (a create still sends it: the ledger holds nothing yet). Every
adapter's update body leaves out a field the customer does not carry, so the update is
built from the customer without those details; its ``LedgerPushSucceeded`` names them
(``ledger_owned``), and so does the trace. A conflict compares the same customer, so an
owned detail is no difference either.

After a crash during an update (a ``LedgerPushRequested`` with no outcome), our write
counts as landed only when the ledger's record shows what we meant to write on every field
that can be compared: no difference by ``core/conflict_diff.differences`` (the customer as
the update sends it), the field the old check used (a customer's name, an invoice's total)
read and equal, and, on a ledger that reads customer details (``LedgerCustomerDetails``),
each e-mail, phone and address we sent the same (``core.customer_details.same``). A detail
the ledger's read does not hold is unknown, so not landed: the update is then sent with the
version we last wrote, the ledger refuses it as stale if anything moved since, and the
conflict path below decides: by authority, with a ``ConflictDetected``, except an invoice
moved by our own payments or credit notes only, sent over unlogged
(``_only_money_moved``): its total, number, currency, tax, due date and customer are
still the ones we last pushed (``LedgerPushSucceeded`` remembers them, folded in
``RecordState.pushed_*``; after a person kept the ledger's values of a conflict, those).
A bookkeeper's edit of any of them is a conflict, crash or no crash. A field the
ledger's read does not return, or one logged before those fields were kept (older
events: None), is not checked, as before: an older invoice is told by its total (and
tax) until its next push. The tax is compared as the ledger reads it: a ledger that
computed another tax than ours would show it as a difference here as in a conflict.
A customer's contact name and tax id are no detail any ledger reads back here, so they are
not compared. A void landed when the record is void."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from syncledger.core.conflict_diff import Difference, differences, split
from syncledger.core.customer_details import (
    CUSTOMER_FIELDS,
    KeepsLedgerDetails,
    LedgerCustomerDetails,
    same,
)
from syncledger.core.errors import StaleVersionError
from syncledger.core.events import ConflictDetected, FieldDifference, SealedPii
from syncledger.core.keystore import PiiSealer, subject_key_id
from syncledger.core.model import CreditNote, Customer, Invoice
from syncledger.core.ports import CustomerUpdate, InvoiceUpdate, LedgerRecord, PushResult, VoidWrite
from syncledger.core.sync_context import Outcome, SyncContext, Work
from syncledger.core.sync_log import Sealing, SyncLog
from syncledger.core.sync_outcomes import Outcomes
from syncledger.core.sync_state import RecordState

log = logging.getLogger(__name__)


class Updates:
    def __init__(
        self, ctx: SyncContext, log: SyncLog, outcomes: Outcomes, sealer: PiiSealer
    ) -> None:
        self._ctx = ctx
        self._log = log
        self._outcomes = outcomes
        self._sealer = sealer
        if ctx.ledger_owned and isinstance(ctx.ledger, KeepsLedgerDetails):
            ctx.ledger.keep_ledger_details(ctx.ledger_owned)

    async def write(self, work: Work, recovering: bool) -> Outcome:
        resuming = bool(work.state.steps_of(work.key))  # the journal finishes what began
        if recovering and not resuming and await self._already_applied(work):
            return Outcome("recovered", str(work.ref))
        try:
            result = await self._change(work, work.state.ledger_version)
        except StaleVersionError as exc:
            return await self._conflict(work, exc)
        await self._succeeded(work, result)
        return Outcome("pushed", str(work.ref))

    async def _succeeded(self, work: Work, result: PushResult) -> None:
        """The update is logged as pushed, naming the details kept out of it."""
        kept = self._kept_out(work)
        if kept:
            log.info(
                "%s updated in %s without %s: the ledger owns them",
                work.ref, self._ctx.name, ", ".join(kept),
            )  # fmt: skip
        await self._outcomes.succeeded(work, result, kept)

    def _kept_out(self, work: Work) -> tuple[str, ...]:
        """The owned details a customer update does not send (none for other records)."""
        if not isinstance(work.record, Customer) or work.operation == "void":
            return ()
        return self._ctx.ledger_owned

    def _sent(self, customer: Customer) -> Customer:
        """The customer as an update sends it: without the details the ledger owns."""
        kept = self._ctx.ledger_owned
        return customer.model_copy(update=dict.fromkeys(kept)) if kept else customer

    async def _already_applied(self, work: Work) -> bool:
        """After a crash during an update/void: did our write land? (The ledger's version
        moved and its content is what we meant to write: :meth:`_landed`.)"""
        current = await self._current(work)
        if current is None or current.version == work.state.ledger_version:
            return False
        if not self._landed(work, current):
            return False
        await self._succeeded(work, PushResult(current.ledger_id, current.version, True))
        return True

    def _landed(self, work: Work, current: LedgerRecord) -> bool:
        """Whether ``current`` shows what the update meant to write, on every field we can
        compare (a field the ledger's read leaves out: see :meth:`_details_landed`)."""
        rec = work.record
        if work.operation == "void":
            return current.status == "void"
        if isinstance(rec, Customer):
            return self._customer_landed(work, rec, current)
        same_total = isinstance(rec, Invoice) and current.total == rec.total
        return same_total and not self._found(work, current)

    def _customer_landed(self, work: Work, customer: Customer, current: LedgerRecord) -> bool:
        """The name is there (as before), nothing the conflict diff compares differs, and
        each detail we sent is on the record."""
        ours = self._sent(customer)
        if current.name != ours.name or self._found(work, current):
            return False
        return self._details_landed(ours, current)

    def _details_landed(self, ours: Customer, current: LedgerRecord) -> bool:
        """Each detail we sent (not owned by the ledger: ``ours`` has it None) is the same on
        the ledger's record; one its read does not hold is unknown, so not landed. A ledger
        that reads no details leaves the name and currency to tell."""
        ledger = self._ctx.ledger
        if not isinstance(ledger, LedgerCustomerDetails):
            return True
        held = ledger.customer_details(current)
        return all(
            same(name, held.get(name), value)
            for name in CUSTOMER_FIELDS
            if (value := getattr(ours, name)) is not None
        )

    async def _current(self, work: Work) -> LedgerRecord | None:
        assert work.state.ledger_ref is not None
        return await self._ctx.ledger.get(work.ref.kind, work.state.ledger_ref)

    async def _change(self, work: Work, version: str | None) -> PushResult:
        ledger, ledger_id = self._ctx.ledger, work.state.ledger_ref
        assert ledger_id is not None
        rec, ref, key = work.record, str(work.ref), work.key
        self._ctx.check_owner()
        steps = self._log.journal(work)
        if work.operation == "void":
            return await ledger.void_invoice(
                VoidWrite(ledger_id, version=version, idempotency_key=key, steps=steps)
            )
        if isinstance(rec, Customer):
            self._ctx.matches.writing(rec, ledger_id)  # batch-mates it may match: asked again
            return await ledger.update_customer(
                CustomerUpdate(
                    self._sent(rec),
                    ledger_id=ledger_id,
                    version=version,
                    external_ref=ref,
                    idempotency_key=key,
                )
            )
        assert isinstance(rec, Invoice)
        return await ledger.update_invoice(
            InvoiceUpdate(
                rec,
                ledger_id=ledger_id,
                version=version,
                customer_ledger_id=self._ctx.link_of(
                    f"{work.ref.system}/customer/{rec.customer_id}"
                ),
                external_ref=ref,
                idempotency_key=key,
                steps=steps,
            )
        )

    async def _conflict(self, work: Work, exc: StaleVersionError) -> Outcome:
        current = await self._current(work)
        actual = current.version if current is not None else None
        if current is not None and _only_money_moved(work, current):
            await self._succeeded(work, await self._change(work, actual))
            return Outcome("pushed", str(work.ref))
        source_wins = self._ctx.authority.get(work.ref.kind, "ledger") == "source"
        shown, personal = self._differences(work, current)
        await self._log.emit(
            work,
            ConflictDetected(
                source_ref=str(work.ref),
                ledger=self._ctx.name,
                ledger_ref=work.state.ledger_ref or "",
                expected_version=work.state.ledger_version,
                actual_version=actual,
                resolution="source_wins" if source_wins else "needs_review",
                detail=str(exc),
                differences=shown,
                ledger_total=current.total if current is not None else None,
            ),
            self._sealing(work, personal),
        )
        if not source_wins or current is None:
            return await self._outcomes.abandon(
                work,
                "conflict",
                f"{work.ref} was edited in {self._ctx.name} since we last wrote it "
                f"(version {work.state.ledger_version} → {actual}); the ledger owns posted "
                "documents: `syncledger conflicts` shows what differs; decide with "
                f"`syncledger conflicts {work.ref} --keep-ledger` or `--overwrite`",
                work.state.attempts + 1,
            )
        await self._succeeded(work, await self._change(work, actual))
        return Outcome("pushed", str(work.ref))

    def _differences(
        self, work: Work, current: LedgerRecord | None
    ) -> tuple[tuple[FieldDifference, ...], dict[str, Any]]:
        """What differs between the ledger's record and the version we meant to push."""
        if current is None:
            return (), {}
        return split(work.ref.kind, self._found(work, current))

    def _found(self, work: Work, current: LedgerRecord) -> list[Difference]:
        """The fields on which ``current`` differs from what the update sends."""
        link = None
        if isinstance(work.record, Invoice | CreditNote):
            customer = f"{work.ref.system}/customer/{work.record.customer_id}"
            dep = self._ctx.state.records.get(customer)
            link = dep.ledger_ref if dep is not None else None
        ours = self._sent(work.record) if isinstance(work.record, Customer) else work.record
        return differences(ours, current, link)

    def _sealing(self, work: Work, personal: dict[str, Any]) -> Sealing | None:
        """Seals the personal values under the record's data subject's key."""
        if not personal:
            return None
        subject = work.state.customer_ref or str(work.ref)
        key_id = subject_key_id(self._ctx.entity, subject)

        def seal(event_id: str) -> SealedPii:
            return self._sealer.seal(key_id, personal, event_id)

        return seal


def _only_money_moved(work: Work, current: LedgerRecord) -> bool:
    """Our own payments and credit notes move an invoice's version too: a new version
    whose total is still the one we pushed, and whose other compared fields are too
    (:func:`_edited`), is not someone's edit."""
    return (
        work.ref.kind == "invoice"
        and work.state.pushed_total is not None
        and current.total == work.state.pushed_total
        and current.status != "void"
        and not _edited(work.state, current)
    )


def _edited(state: RecordState, current: LedgerRecord) -> bool:
    """Whether the ledger holds another number, currency, tax, due date or customer than
    we last pushed (compared as core/conflict_diff compares: amounts by value, dates by
    their ISO text, the customer by ledger id). A field the ledger's read does not
    return, or one we do not remember (pushed before ``LedgerPushSucceeded`` carried it),
    is no evidence either way: that field is not checked, as before."""
    pairs: tuple[tuple[object, object], ...] = (
        (state.pushed_number, current.name),
        (state.pushed_currency, current.currency),
        (state.pushed_tax, current.tax),
        (state.pushed_due_date, current.due_date),
        (state.pushed_customer, current.customer_ledger_id),
    )
    return any(
        ours is not None and theirs is not None and _iso(ours) != _iso(theirs)
        for ours, theirs in pairs
    )


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
