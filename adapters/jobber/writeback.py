"""Payment status from the ledger onto Jobber invoices, idempotently.

Jobber's API records a payment against an invoice with the ``invoiceCreatePaymentRecord``
mutation (input ``invoiceId, amount, date, paymentType, note``; payload ``paymentRecord``,
``userErrors``: GitHub file id 67520998203; listed among Jobber's invoice mutations in GitHub
file ids 67558512930, 67574675555; "awaiting_payment → paid: invoiceCreatePaymentRecord for
the full balance"). An invoice's ``amounts{total, paymentsTotal, invoiceBalance}`` are
readable (``InvoiceAmounts``: amounts.py). Jobber's own QuickBooks sync no longer writes
"Paid" back (SOURCES.md §2.1 summary item 7), which is why this exists.

Idempotence: before recording, the invoice's ``paymentsTotal`` is read and only the part
of the ledger's amount paid that Jobber does not hold yet is recorded (``paid_in_ledger -
paymentsTotal``, when positive). Writing the same update twice records nothing the second time,
and a payment someone entered in Jobber by hand is never doubled. The note names the ledger
and its document number. Never written (and not counted): another currency than the
account's, a total that differs from Jobber's (the documents disagree: a person must look),
a ledger amount paid below Jobber's (payments are not removed), and ``void``.
``paymentType`` is left out: its enum values beyond ``cash`` are not documented.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.adapters.jobber import queries
from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import StatusUpdate

log = logging.getLogger("syncledger.jobber")
PREFIX = "jobber/invoice/"


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _note(update: StatusUpdate) -> str:
    number = update.ledger_number or update.ledger_id
    return f"syncledger: paid in {update.ledger} {number}"


def _skip(update: StatusUpdate, currency: str) -> str | None:
    if not update.source_ref.startswith(PREFIX):
        return "not a Jobber invoice"
    if update.status == "void":
        return "voided in the ledger: Jobber takes no void through its API"
    if update.currency and update.currency != currency:
        return f"currency {update.currency} is not the Jobber account's {currency}"
    if update.amount_paid is None:
        return "the ledger gave no amount paid"
    return None


async def _amounts(api: JobberGraphQL, invoice_id: str) -> dict[str, Any] | None:
    data, _ = await api.run("invoice_paid", queries.INVOICE_PAID, {"id": invoice_id})
    amounts = (data.get("invoice") or {}).get("amounts")
    return amounts if isinstance(amounts, dict) else None


def _mismatch(update: StatusUpdate, amounts: dict[str, Any] | None) -> str | None:
    if amounts is None:
        return "the invoice is gone from Jobber"
    if update.total is not None and _money(amounts.get("total")) != update.total:
        return f"the ledger's total {update.total} differs from Jobber's {amounts.get('total')}"
    return None


async def _write_one(api: JobberGraphQL, currency: str, update: StatusUpdate) -> bool:
    invoice_id = update.source_ref.removeprefix(PREFIX)
    reason = _skip(update, currency)
    amounts = await _amounts(api, invoice_id) if reason is None else None
    reason = reason or _mismatch(update, amounts)
    if reason is not None or amounts is None:
        log.warning("jobber write-back skipped for %s: %s", update.source_ref, reason)
        return False
    missing = _money(update.amount_paid) - _money(amounts.get("paymentsTotal"))
    if missing > 0:
        await _record(api, invoice_id, missing, update)
    return missing >= 0


async def _record(
    api: JobberGraphQL, invoice_id: str, amount: Decimal, update: StatusUpdate
) -> None:
    day = (update.at.date() if update.at else date.today()).isoformat()
    payload = {"invoiceId": invoice_id, "amount": amount, "date": day, "note": _note(update)}
    data, _ = await api.run(
        "record_payment", queries.RECORD_PAYMENT, {"input": payload}, mutation=True
    )
    result = data.get("invoiceCreatePaymentRecord") or {}
    errors = result.get("userErrors") or []
    if errors or not result.get("paymentRecord"):
        first = errors[0].get("message", "") if errors else "no payment record returned"
        raise SourceError(f"jobber refused the payment for invoice {invoice_id}: {first}")


async def write_back(api: JobberGraphQL, currency: str, updates: Sequence[StatusUpdate]) -> int:
    taken = 0
    for update in updates:
        taken += await _write_one(api, currency, update)
    return taken
