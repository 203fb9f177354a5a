"""``POST /v3/company/{realm}/invoice/{id}/send[?sendTo=]``: the QBO sandbox e-mails an
invoice (records the e-mail in the book) and answers the Invoice as QBO does.

Facts, and where they come from:

- The operation, its optional ``sendTo`` and ``Content-Type: application/octet-stream``
  with no body: Intuit's Invoice reference, "Send an invoice"
  (developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
  #send-an-invoice); python-quickbooks ``SendMixin.send`` (ej2/python-quickbooks:
  quickbooks/mixins.py: ``{entity}/{Id}/send``, ``?sendTo=`` quoted, octet-stream);
  intuit/QuickBooks-V3-PHP-SDK ``DataService::SendEmail`` (``.../invoice/{Id}/send``).
- The answer: the Invoice with ``EmailStatus`` ``EmailSent``, ``DeliveryInfo`` filled in,
  and ``BillEmail.Address`` set to ``sendTo`` when one was given (the same reference).
- ``EmailStatus`` is one of ``NotSet`` / ``NeedToSend`` / ``EmailSent``;
  ``DeliveryInfo`` (``TransactionDeliveryInfo``) holds ``DeliveryType`` (``Email``) and
  ``DeliveryTime``; ``BillEmail`` is where the invoice is sent (intuit/QuickBooks-V3-Java-SDK
  ipp-v3-java-data/src/main/xsd/Finance.xsd ``EmailStatusEnum``, ``Invoice.BillEmail``,
  ``Transaction.DeliveryInfo``; IntuitBaseTypes.xsd ``TransactionDeliveryInfo``,
  ``DeliveryTypeEnum``). A fresh invoice reads ``NotSet`` (the enum's default value).

Undocumented, the sandbox's own choice (``refusals.py`` says so per row): QBO's answer to a
send with no address at all (no ``sendTo``, no ``BillEmail``), to a ``sendTo`` that is not
an address, and to another ``Content-Type``; the Finance.xsd even says QBO sends nothing
and reports nothing for an invalid ``BillEmail``. The sandbox refuses all three (6000) so
that nothing is recorded as sent when nothing could be.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.qbo.sandbox.errors import refuse

OCTET_STREAM = "application/octet-stream"
EMAIL_SENT = "EmailSent"
NOT_SET = "NotSet"


def check_content_type(content_type: str | None) -> None:
    """The send takes ``application/octet-stream`` (Intuit's reference)."""
    if (content_type or "").split(";")[0].strip().lower() != OCTET_STREAM:
        raise refuse("send.content_type", content_type=content_type or "none")


def address_for(invoice: dict[str, Any], send_to: str | None) -> str:
    """Where the e-mail goes: ``sendTo``, else the invoice's ``BillEmail.Address``."""
    if send_to is not None:
        if not _looks_like_address(send_to):
            raise refuse("send.address_invalid")
        return send_to
    address = (invoice.get("BillEmail") or {}).get("Address")
    if not isinstance(address, str) or not address.strip():
        raise refuse("send.no_address", ident=invoice["Id"])
    return address


def sent(invoice: dict[str, Any], address: str, at: str) -> dict[str, Any]:
    """The invoice as QBO holds it once e-mailed to ``address`` at ``at``."""
    delivery = {"DeliveryType": "Email", "DeliveryTime": at}
    return invoice | {
        "BillEmail": {"Address": address},
        "EmailStatus": EMAIL_SENT,
        "DeliveryInfo": delivery,
    }


def _looks_like_address(text: str) -> bool:
    local, at, domain = text.strip().rpartition("@")
    return bool(at and local and "." in domain)
