"""QuickBooks Online e-mails an invoice: ``QboInvoiceSender`` implements
``core.ports.InvoiceSender`` for ``QboLedger`` (which delegates to it).

Facts, and where they come from:

- ``POST /v3/company/{realm}/invoice/{id}/send`` with an optional ``sendTo`` query
  parameter, ``Content-Type: application/octet-stream`` and no body; the answer is the
  Invoice with ``EmailStatus`` ``EmailSent``, ``DeliveryInfo`` populated, and
  ``BillEmail.Address`` set to ``sendTo`` when given: Intuit's Invoice reference, "Send an
  invoice" (developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
  #send-an-invoice); ej2/python-quickbooks quickbooks/mixins.py ``SendMixin.send``
  (``sendTo`` URL-quoted, ``application/octet-stream``); intuit/QuickBooks-V3-PHP-SDK
  src/DataService/DataService.php ``SendEmail`` (no address: "using default email").
- Reading the invoice (``GET .../invoice/{id}``) gives ``EmailStatus``
  (``NotSet`` / ``NeedToSend`` / ``EmailSent``), ``DeliveryInfo {DeliveryType,
  DeliveryTime}`` and ``BillEmail`` "the e-mail address where the invoice is sent"
  (intuit/QuickBooks-V3-Java-SDK ipp-v3-java-data/src/main/xsd/Finance.xsd
  ``EmailStatusEnum``, ``Invoice.BillEmail``, ``DeliveryInfo``; IntuitBaseTypes.xsd
  ``TransactionDeliveryInfo``).

``delivery``: sent when ``EmailStatus`` is ``EmailSent``; ``to`` is ``BillEmail.Address``,
``at`` is ``DeliveryInfo.DeliveryTime``. An invoice whose answer has no ``EmailStatus`` at
all gives None (QBO cannot tell).

The address when ``to`` is None (the port: "the customer's address on file"): the invoice's
``BillEmail`` when it has one, else its customer's ``PrimaryEmailAddr``, sent as
``sendTo`` (documented: it becomes the invoice's ``BillEmail``). Invoices syncledger
creates carry no ``BillEmail``, so the customer's address is the usual one.

Undocumented, and the safe path taken:

- What QBO does with a send that has no address anywhere is not documented (and the
  Finance.xsd says QBO sends nothing, silently, to an invalid ``BillEmail``). So with no
  address on the invoice nor on its customer nothing is sent: ``PermanentLedgerError``
  ``syncledger.no_email_address`` with the fix (give the customer an e-mail address in
  QuickBooks, or pass one). A ``to`` that is not an address is refused the same way
  before sending (``syncledger.email_invalid``), as Intuit's PHP SDK does.
- A refusal QBO answers (a ``Fault``) keeps QBO's code; its message gains the fix.
- Sending twice is two e-mails: the send carries no ``requestid`` and is not retried once
  it may have reached QBO (``idempotent=False``); after a timeout core asks ``delivery``.
- ``sendTo`` is personal data: ``LedgerHttp`` logs its value masked, and no error message
  carries the address.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from syncledger.adapters.http import LedgerHttp
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import InvoiceDelivery

EMAIL_SENT = "EmailSent"
OCTET_STREAM = "application/octet-stream"
NO_ADDRESS_CODE = "syncledger.no_email_address"
INVALID_ADDRESS_CODE = "syncledger.email_invalid"
#: the company-relative URL of a resource, and the query every call carries
Url = Callable[[str], str]
Params = Callable[..., dict[str, str | int]]


class QboInvoiceSender:
    """E-mails invoices through QBO's ``send`` and reads their ``EmailStatus``."""

    def __init__(self, http: LedgerHttp, url: Url, params: Params) -> None:
        self._http = http
        self._url = url
        self._params = params

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        if to is not None:
            send_to: str | None = _checked(to)
        else:
            send_to = await self._address_on_file(await self._read("invoice", invoice_ledger_id))
        extra = {} if send_to is None else {"sendTo": send_to}
        try:
            answer = await self._http.json(
                "POST",
                self._url(f"invoice/{_segment(invoice_ledger_id)}/send"),
                params=self._params(**extra),
                content=b"",
                content_type=OCTET_STREAM,
                idempotent=False,
            )
        except PermanentLedgerError as exc:
            raise _refused(invoice_ledger_id, exc) from exc
        sent = _invoice_of(answer)
        return delivery_of(sent) or InvoiceDelivery(sent=False)

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        return delivery_of(await self._read("invoice", invoice_ledger_id))

    async def _address_on_file(self, invoice: Mapping[str, Any]) -> str | None:
        """None when the invoice's own ``BillEmail`` will do, else the customer's address."""
        if _address(invoice.get("BillEmail")):
            return None
        customer_id = str((invoice.get("CustomerRef") or {}).get("value", ""))
        customer = await self._read("customer", customer_id) if customer_id else {}
        address = _address(customer.get("PrimaryEmailAddr"))
        if address is None:
            raise _no_address(str(invoice.get("Id", "")), customer_id)
        return address

    async def _read(self, resource: str, ident: str) -> dict[str, Any]:
        url = self._url(f"{resource}/{_segment(ident)}")
        answer = await self._http.json("GET", url, params=self._params(), idempotent=True)
        entity = "Invoice" if resource == "invoice" else "Customer"
        found: dict[str, Any] = answer.get(entity) or {}
        return found


def delivery_of(invoice: Mapping[str, Any]) -> InvoiceDelivery | None:
    """What the invoice says of its e-mail (None: it has no ``EmailStatus``)."""
    status = invoice.get("EmailStatus")
    if status is None:
        return None
    info = invoice.get("DeliveryInfo") or {}
    return InvoiceDelivery(
        sent=status == EMAIL_SENT,
        to=_address(invoice.get("BillEmail")),
        at=_moment(info.get("DeliveryTime")),
    )


def _invoice_of(body: Any) -> dict[str, Any]:
    invoice = body.get("Invoice") if isinstance(body, dict) else None
    return invoice if isinstance(invoice, dict) else {}


def _address(email: Any) -> str | None:
    address = email.get("Address") if isinstance(email, Mapping) else None
    return address.strip() if isinstance(address, str) and address.strip() else None


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _segment(ident: str) -> str:
    return quote(ident, safe="")


def _checked(to: str) -> str:
    local, at, domain = to.strip().rpartition("@")
    if not (at and local and "." in domain):
        raise PermanentLedgerError(
            "QuickBooks Online cannot e-mail an invoice to the address given: it is not an "
            "e-mail address (name@domain); correct it and send again",
            code=INVALID_ADDRESS_CODE,
        )
    return to.strip()


def _no_address(invoice_id: str, customer_id: str) -> PermanentLedgerError:
    return PermanentLedgerError(
        f"QuickBooks Online invoice {invoice_id} was not e-mailed: neither it (BillEmail) nor "
        f"its customer {customer_id} (PrimaryEmailAddr) has an e-mail address; give the "
        "customer one in QuickBooks (or in the source) and send again",
        code=NO_ADDRESS_CODE,
    )


def _refused(invoice_id: str, exc: PermanentLedgerError) -> PermanentLedgerError:
    return PermanentLedgerError(
        f"{exc} — invoice {invoice_id} was not e-mailed; check its customer's e-mail "
        "address and the invoice in QuickBooks, then send again",
        code=exc.code,
    )
