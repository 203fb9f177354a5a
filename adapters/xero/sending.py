"""Xero e-mails an invoice: ``XeroInvoiceSender`` implements ``core.ports.InvoiceSender``
for ``XeroLedger`` (which delegates to it).

Facts, and where they come from:

- ``POST /api.xro/2.0/Invoices/{InvoiceID}/Email`` (``emailInvoice``): "Sends a copy of a
  specific invoice to related contact via email"; a required JSON body (schema
  ``RequestEmpty``, example ``{}``); an optional ``Idempotency-Key`` header ("This allows
  you to safely retry requests without the risk of duplicate processing. 128 character
  max."); answers 204 no content, or 400 with the ``Error`` schema (Xero-OpenAPI
  xero_accounting.yaml, path ``/Invoices/{InvoiceID}/Email``; copy in
  ``sandbox/specs``). The operation takes no address.
- Xero e-mails the contact's ``EmailAddress`` and the contact persons marked
  ``IncludeInEmails``; only an ACCREC invoice that is SUBMITTED, AUTHORISED or PAID can be
  e-mailed (developer.xero.com/documentation/api/accounting/invoices#emailing-an-invoice,
  as quoted in dcblogdev/laravel-xero src/Resources/Invoices.php; Zynk's "Emailing
  Invoices in Xero").
- ``Invoice.SentToContact``: "Boolean to set whether the invoice in the Xero app should be
  marked as 'sent'" (the spec's Invoice schema); ``delivery`` reads it.

The safe paths taken where nothing is documented:

- ``to`` other than None is refused before anything is sent (``PermanentLedgerError``
  ``syncledger.xero_fixed_recipients``): Xero e-mails the contact's address on file and the
  spec documents no way to name another.
- One send, one ``Idempotency-Key`` (a fresh UUID per call): a timeout or 429 is resent
  under it and Xero replays the first answer instead of e-mailing twice (a 5xx is replayed
  too, so it ends the call as a transient error). A second ``send_invoice`` is a second
  e-mail.
- A refusal (a draft invoice, a contact without an address, Xero's daily cap on invoice
  e-mails, which the spec does not document) keeps Xero's code (``"10"`` for a
  ValidationException) and Xero's own words, and the message gains the fix.
- ``send_invoice`` answers ``sent`` on Xero's 204 without reading the invoice again: Xero
  names neither the addresses nor the time (``to`` / ``at`` None). Whether the e-mail sets
  ``SentToContact`` is not documented; ``delivery`` reports sent when it is true and
  "cannot tell" (None) otherwise, so an interrupted send is never repeated on Xero.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.xero.errors import NOT_FOUND_CODE
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import InvoiceDelivery

API = "/api.xro/2.0"
FIXED_RECIPIENTS_CODE = "syncledger.xero_fixed_recipients"
#: reads one invoice as Xero answers it (None: no such invoice)
ReadInvoice = Callable[[str], Awaitable[dict[str, Any] | None]]


class XeroInvoiceSender:
    """E-mails invoices through ``emailInvoice`` and reads their ``SentToContact``."""

    def __init__(self, http: LedgerHttp, slots: asyncio.Semaphore, read: ReadInvoice) -> None:
        self._http = http
        self._slots = slots
        self._read = read

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        if to is not None:
            raise _fixed_recipients(invoice_ledger_id)
        path = f"{API}/Invoices/{quote(invoice_ledger_id, safe='')}/Email"
        try:
            async with self._slots:
                await self._http.request(
                    "POST",
                    path,
                    content=b"{}",
                    idempotent=True,  # under one Idempotency-Key: Xero replays, never resends
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
        except PermanentLedgerError as exc:
            raise _refused(invoice_ledger_id, exc) from exc
        return InvoiceDelivery(sent=True)

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        invoice = await self._read(invoice_ledger_id)
        if invoice is None:
            raise PermanentLedgerError(
                f"Xero has no invoice {invoice_ledger_id}: check the invoice's ledger id",
                code=NOT_FOUND_CODE,
            )
        return delivery_of(invoice)


def delivery_of(invoice: Mapping[str, Any]) -> InvoiceDelivery | None:
    """Sent when Xero's ``SentToContact`` says so; otherwise None ("cannot tell"): nothing
    documents that an e-mail sent through the API sets it, so its being false does not
    prove an interrupted send did not go out, and core sends again only on a proven "no"."""
    return InvoiceDelivery(sent=True) if invoice.get("SentToContact") is True else None


def _fixed_recipients(invoice_id: str) -> PermanentLedgerError:
    return PermanentLedgerError(
        f"Xero invoice {invoice_id} was not e-mailed: Xero e-mails an invoice only to its "
        "contact's address on file (the contact's email address and the contact persons "
        "included in emails) and takes no other address; send without an address, or change "
        "the contact's email address in Xero",
        code=FIXED_RECIPIENTS_CODE,
    )


def _refused(invoice_id: str, exc: PermanentLedgerError) -> PermanentLedgerError:
    return PermanentLedgerError(
        f"{exc} — invoice {invoice_id} was not e-mailed; Xero e-mails only an approved "
        "(SUBMITTED, AUTHORISED or PAID) sales invoice whose contact has an email address: "
        "approve it or give the contact an address in Xero, then send again",
        code=exc.code,
    )
