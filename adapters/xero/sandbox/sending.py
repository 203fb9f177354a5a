"""``POST /Invoices/{InvoiceID}/Email`` (the spec's ``emailInvoice``): the Xero sandbox
e-mails an invoice to its contact, records the e-mail in the book and answers 204.

Facts, and where they come from:

- The operation: "Sends a copy of a specific invoice to related contact via email", a
  required JSON body of schema ``RequestEmpty`` (example ``{}``), an optional
  ``Idempotency-Key``, answers 204 (no content) or the 400 ``Error``: the spec
  (``specs/xero_accounting.yaml``, paths ``/Invoices/{InvoiceID}/Email``). It takes no
  address: the spec's operation has no parameter or body field for one.
- Who receives it: the contact's ``EmailAddress`` and its ``ContactPersons`` whose
  ``IncludeInEmails`` is true; only an ``ACCREC`` invoice with ``Status`` SUBMITTED,
  AUTHORISED or PAID can be e-mailed (developer.xero.com/documentation/api/accounting/
  invoices#emailing-an-invoice, as quoted by dcblogdev/laravel-xero
  src/Resources/Invoices.php ``email`` / ``getEmailRecipients`` / ``canEmail`` and by
  Zynk's "Emailing Invoices in Xero", docs.zynk.com/workflow/documentation/xero/
  email-invoices.html).
- ``SentToContact``: "Boolean to set whether the invoice in the Xero app should be marked
  as 'sent'" (the spec's Invoice).

Undocumented, the sandbox's own choice (said so in ``refusals.py``): the wording of the
refusals (ValidationException, as the spec's ``x-hasAccountingValidationError`` says),
Xero's answer when the contact has no address, and whether the e-mail sets
``SentToContact`` (the sandbox sets it, as the Xero app marks an e-mailed invoice sent);
the e-mail stamps ``UpdatedDateUTC`` like any change. Xero's daily cap on invoice e-mails
is not in the spec and not modelled.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.xero.sandbox.errors import refuse

SENDABLE = ("SUBMITTED", "AUTHORISED", "PAID")


def recipients(contact: dict[str, Any]) -> list[str]:
    """The contact's ``EmailAddress`` and its persons marked ``IncludeInEmails``."""
    people = [p for p in contact.get("ContactPersons") or [] if p.get("IncludeInEmails")]
    addresses = [contact.get("EmailAddress")] + [p.get("EmailAddress") for p in people]
    return [a.strip() for a in addresses if isinstance(a, str) and a.strip()]


def checked_recipients(invoice: dict[str, Any], contact: dict[str, Any]) -> list[str]:
    """Who the invoice goes to, once it is one Xero e-mails."""
    if invoice.get("Type") != "ACCREC" or invoice.get("Status") not in SENDABLE:
        raise refuse("email.status_invalid", status=invoice.get("Status"))
    to = recipients(contact)
    if not to:
        raise refuse("email.no_address", name=contact.get("Name", ""))
    return to
