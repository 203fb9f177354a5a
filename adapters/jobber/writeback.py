"""Payment status from the ledger onto Jobber invoices, idempotently.

Jobber's API records a payment against an invoice with the ``invoiceCreatePaymentRecord``
mutation (input ``invoiceId, amount, date, paymentType, note``; payload ``paymentRecord``,
``userErrors``: GitHub file id 67520998203; listed among Jobber's invoice mutations in GitHub
file ids 67558512930, 67574675555; "awaiting_payment → paid: invoiceCreatePaymentRecord for
the full balance"). An invoice's ``amounts{total, paymentsTotal, invoiceBalance}`` are
readable (``InvoiceAmounts``: amounts.py). Jobber's own QuickBooks sync no longer writes
"Paid" back (SOURCES.md §2.1 summary item 7), which is why this exists.

What became of each update is returned (``WriteBackOutcome``), so an invoice Jobber no
longer has never holds back the others. Refused (logged once, written again only with a
newer ledger observation): an invoice Jobber no longer has (its read answers
``errors[].extensions.code`` NOT_FOUND, GitHub file id 67140017033: ``source_record_gone``),
``userErrors`` of ``invoiceCreatePaymentRecord`` (``source_refused`` with Jobber's
message; ``userErrors{message, path}`` carry no code, so an invoice deleted between the
read and the mutation is told by Jobber's message only), and the cases below that are
never written. Not attempted (written again on the next run): an update naming no Jobber
invoice (it waits for its own source), and every update from the first request that
failed (a timeout, the rate limit after its waits) on.

Idempotence: before recording, the invoice's ``paymentsTotal`` is read and only the part
of the ledger's amount paid that Jobber does not hold yet is recorded (``paid_in_ledger -
paymentsTotal``, when positive). Writing the same update twice records nothing the second time,
and a payment someone entered in Jobber by hand is never doubled. The note names the ledger
and its document number. Never written (refused): another currency than the account's
(``currency_differs``), a total that differs from Jobber's (``total_differs``: the
documents disagree, a person must look), a ledger amount paid below Jobber's
(``payments_not_removed``), no amount paid (``no_amount_paid``) and ``void``
(``void_not_supported``). A Jobber whose payments are read into the ledger
(``reads_payments``) is written nothing: its updates are settled as written
(:func:`owned_payments`), since the ledger's payments of its invoices came from it.
``paymentType`` is left out: its enum values beyond ``cash`` are not documented.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.adapters.jobber import queries
from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import StatusUpdate, WriteBackOutcome

PREFIX = "jobber/invoice/"


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _note(update: StatusUpdate) -> str:
    number = update.ledger_number or update.ledger_id
    return f"syncledger: paid in {update.ledger} {number}"


def _refused(update: StatusUpdate, code: str, message: str) -> WriteBackOutcome:
    invoice = update.source_ref.removeprefix(PREFIX)
    return WriteBackOutcome.refused(
        update.source_ref, code=code, message=f"Jobber invoice {invoice}: {message}"
    )


def _skip(update: StatusUpdate, currency: str) -> WriteBackOutcome | None:
    if update.status == "void":
        return _refused(
            update,
            code="void_not_supported",
            message="voided in the ledger: Jobber takes no void through its API",
        )
    if update.currency and update.currency != currency:
        return _refused(
            update,
            code="currency_differs",
            message=f"currency {update.currency} is not the Jobber account's {currency}",
        )
    if update.amount_paid is None:
        return _refused(update, code="no_amount_paid", message="the ledger gave no amount paid")
    return None


async def _amounts(api: JobberGraphQL, invoice_id: str) -> dict[str, Any] | None:
    data, _ = await api.run("invoice_paid", queries.INVOICE_PAID, {"id": invoice_id})
    amounts = (data.get("invoice") or {}).get("amounts")
    return amounts if isinstance(amounts, dict) else None


def _mismatch(update: StatusUpdate, amounts: dict[str, Any] | None) -> WriteBackOutcome | None:
    if amounts is None:
        return _refused(
            update, code="source_record_gone", message="Jobber no longer has the invoice"
        )
    if update.total is not None and _money(amounts.get("total")) != update.total:
        return _refused(
            update,
            code="total_differs",
            message=f"the ledger's total {update.total} differs from Jobber's "
            f"{_money(amounts.get('total'))}",
        )
    return None


async def _write_one(api: JobberGraphQL, currency: str, update: StatusUpdate) -> WriteBackOutcome:
    invoice_id = update.source_ref.removeprefix(PREFIX)
    skipped = _skip(update, currency)
    if skipped is not None:
        return skipped
    amounts = await _amounts(api, invoice_id)
    mismatch = _mismatch(update, amounts)
    if mismatch is not None or amounts is None:
        return mismatch or WriteBackOutcome.not_attempted(update.source_ref)
    missing = _money(update.amount_paid) - _money(amounts.get("paymentsTotal"))
    if missing < 0:
        return _refused(
            update,
            code="payments_not_removed",
            message=f"Jobber holds {_money(amounts.get('paymentsTotal'))} paid, the ledger "
            f"{_money(update.amount_paid)}",
        )
    if missing > 0:
        return await _record(api, invoice_id, missing, update)
    return WriteBackOutcome.written(update.source_ref)


async def _record(
    api: JobberGraphQL, invoice_id: str, amount: Decimal, update: StatusUpdate
) -> WriteBackOutcome:
    day = (update.at.date() if update.at else date.today()).isoformat()
    payload = {"invoiceId": invoice_id, "amount": amount, "date": day, "note": _note(update)}
    data, _ = await api.run(
        "record_payment", queries.RECORD_PAYMENT, {"input": payload}, mutation=True
    )
    result = data.get("invoiceCreatePaymentRecord") or {}
    errors = [e for e in result.get("userErrors") or [] if isinstance(e, dict)]
    if errors:
        said = str(errors[0].get("message") or "")[:200]
        return _refused(
            update, code="source_refused", message=f"Jobber refused the payment: {said}"
        )
    if not result.get("paymentRecord"):
        raise SourceError(f"jobber answered no payment record for invoice {invoice_id}")
    return WriteBackOutcome.written(update.source_ref)


async def write_back(
    api: JobberGraphQL, currency: str, updates: Sequence[StatusUpdate]
) -> list[WriteBackOutcome]:
    """What became of each update, in order. From the first request that fails (after the
    client's own retries), the rest are not attempted: Jobber is unwell or throttling."""
    outcomes: list[WriteBackOutcome] = []
    failed: str | None = None
    for update in updates:
        if failed is not None or not update.source_ref.startswith(PREFIX):
            why = failed or "not a Jobber invoice"
            outcomes.append(WriteBackOutcome.not_attempted(update.source_ref, why))
            continue
        try:
            outcomes.append(await _write_one(api, currency, update))
        except SourceError as exc:
            failed = f"not written: {exc}"
            outcomes.append(WriteBackOutcome.not_attempted(update.source_ref, failed))
    return outcomes


def owned_payments(updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
    """Jobber's payments are read into the ledger: the ledger's payments of its invoices
    came from it, so nothing is written and each update is settled as written (writing
    them back would record every payment twice)."""
    return [
        WriteBackOutcome.written(u.source_ref)
        if u.source_ref.startswith(PREFIX)
        else WriteBackOutcome.not_attempted(u.source_ref, "not a Jobber invoice")
        for u in updates
    ]
