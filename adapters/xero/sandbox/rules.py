"""What the Xero sandbox accepts for contacts, payments and credit-note allocations.

Contacts (OpenAPI ``Contact``; messages from the spec's examples and Xero answers quoted
in SDK threads): a ``Name`` ("Contact Name cannot be empty."), unique ignoring case among
ACTIVE contacts ("The contact name … is already assigned to another contact. The contact
name must be unique across all active contacts."), a unique ``ContactNumber`` (the field
"used to identify contacts in external systems"), a valid ``EmailAddress`` ("Email
address must be valid."). Lengths come from the spec's ``maxLength``.

Payments (OpenAPI ``Payment``): an ``Invoice`` (by ``InvoiceID`` or ``InvoiceNumber``)
that is AUTHORISED, an ``Account`` (by ``AccountID`` or ``Code``) of type BANK or with
payments enabled, an ``Amount`` above zero and within the amount due ("Payment amount
exceeds the amount outstanding on this document"). A payment of a foreign-currency
invoice must carry a ``CurrencyRate`` above zero (``payment_rate``): Xero would apply a
rate of its own to one without (the spec's ``Payment.CurrencyRate``: "Exchange rate when
payment is received. Only used for non base currency invoices and credit notes";
``Invoice.CurrencyRate``: "If no rate is specified, the XE.com day rate is used"), so the
sandbox refuses it, stricter than Xero on purpose: a payment booked at a rate nobody
chose must not pass unnoticed. A rate sent with a base-currency payment is ignored, as
the spec says it is only used for foreign documents.
``Status: DELETED`` on an existing payment gives its amount back to the invoice.

Allocations (OpenAPI ``Allocation``, ``Amount``, ``Invoice`` and ``Date`` required): an
AUTHORISED credit note with enough ``RemainingCredit``, to an AUTHORISED invoice of the
same contact and currency, within the invoice's amount due.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.adapters.xero.sandbox.amounts import day_fields, number, parse_day
from syncledger.adapters.xero.sandbox.documents import CREDIT_NOTE, INVOICE, Org, settled
from syncledger.adapters.xero.sandbox.errors import ElementInvalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Taken = Callable[[str], bool]

# ---------------------------------------------------------------- contacts


def checked_contact(
    sent: dict[str, Any],
    current: dict[str, Any] | None,
    *,
    name_taken: Taken,
    number_taken: Taken,
) -> dict[str, Any]:
    contact = {**(current or {}), **sent}
    name = str(contact.get("Name") or "").strip()
    if not name:
        raise ElementInvalid("Contact Name cannot be empty.")
    status = str(contact.get("ContactStatus") or "ACTIVE")
    if status == "ACTIVE" and name_taken(name):
        raise ElementInvalid(
            f"The contact name {name} is already assigned to another contact. The contact "
            "name must be unique across all active contacts."
        )
    number_ = contact.get("ContactNumber")
    if number_ and number_taken(str(number_)):
        raise ElementInvalid(
            f"The contact number {number_} is already assigned to another contact."
        )
    email = contact.get("EmailAddress")
    if email and not _EMAIL.match(str(email)):
        raise ElementInvalid("Email address must be valid.")
    return contact | _contact_defaults(contact, name, status)


def _contact_defaults(contact: dict[str, Any], name: str, status: str) -> dict[str, Any]:
    lists = ("Addresses", "Phones", "ContactGroups", "ContactPersons")
    return {
        "ContactID": contact.get("ContactID") or str(uuid.uuid4()),
        "Name": name,
        "ContactStatus": status,
        **{k: contact.get(k) or [] for k in lists},
        "IsSupplier": bool(contact.get("IsSupplier")),
        "IsCustomer": bool(contact.get("IsCustomer")),
        "HasAttachments": False,
        "HasValidationErrors": False,
    }


# ---------------------------------------------------------------- payments


def checked_payment(
    sent: dict[str, Any], *, invoice: dict[str, Any], account: dict[str, Any], org: Org
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payment as stored and its invoice after it."""
    amount = number(sent.get("Amount"), "Amount")
    if amount <= 0:
        raise ElementInvalid("The payment amount must be greater than zero")
    if invoice.get("Status") != "AUTHORISED":
        raise ElementInvalid("Payments can only be applied to AUTHORISED documents")
    if amount > number(invoice["AmountDue"], "AmountDue"):
        raise ElementInvalid("Payment amount exceeds the amount outstanding on this document")
    _check_bank(account)
    rate = payment_rate(sent, invoice, org)
    paid_on = parse_day(sent["Date"], "Date") if sent.get("Date") else org.today()
    payment = _payment(sent, amount, paid_on, invoice, account) | {"CurrencyRate": rate}
    return payment, _paid(invoice, payment, paid_on)


def payment_rate(sent: dict[str, Any], document: dict[str, Any], org: Org) -> Decimal:
    """The ``CurrencyRate`` a payment of ``document`` (an invoice, or for a refund the
    credit note or overpayment) is booked at: 1 in the base currency, else the one sent,
    required (module docstring; stricter than Xero, which would use the XE.com day
    rate)."""
    code = str(document.get("CurrencyCode") or org.base_currency)
    if code == org.base_currency:
        return Decimal("1.000000")
    if sent.get("CurrencyRate") is None:
        raise ElementInvalid(
            f"A payment of a {code} document needs a CurrencyRate: the sandbox never lets "
            "a rate be chosen for you (Xero would apply the XE.com day rate)"
        )
    rate = number(sent["CurrencyRate"], "CurrencyRate")
    if rate <= 0:
        raise ElementInvalid("CurrencyRate must be greater than zero")
    return rate


def _check_bank(account: dict[str, Any]) -> None:
    if account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
        raise ElementInvalid(
            f"Account {account.get('Code')} cannot take payments: use a BANK account or one "
            "with payments enabled"
        )


def _payment(
    sent: dict[str, Any],
    amount: Decimal,
    paid_on: date,
    invoice: dict[str, Any],
    account: dict[str, Any],
) -> dict[str, Any]:
    return {
        "PaymentID": str(uuid.uuid4()),
        **day_fields("Date", paid_on),
        "Amount": amount,
        "BankAmount": amount,
        "Reference": sent.get("Reference") or "",
        "PaymentType": "ACCRECPAYMENT",
        "Status": "AUTHORISED",
        "IsReconciled": bool(sent.get("IsReconciled")),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account.get("Code")},
        "Invoice": _invoice_stub(invoice),
    }


def _invoice_stub(invoice: dict[str, Any]) -> dict[str, Any]:
    keys = ("Type", "InvoiceID", "InvoiceNumber", "Contact", "CurrencyCode")
    return {k: invoice.get(k) for k in keys}


def _paid(invoice: dict[str, Any], payment: dict[str, Any], paid_on: date) -> dict[str, Any]:
    amount = payment["Amount"]
    stub = {k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")}
    after = invoice | {
        "AmountPaid": number(invoice["AmountPaid"], "AmountPaid") + amount,
        "AmountDue": number(invoice["AmountDue"], "AmountDue") - amount,
        "Payments": [*invoice.get("Payments", []), stub],
    }
    return settled(INVOICE, after, paid_on)


def deleted_payment(
    payment: dict[str, Any], invoice: dict[str, Any], today: date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payment marked DELETED and its invoice with the amount owed again."""
    if payment.get("Status") == "DELETED":
        raise ElementInvalid("This payment has already been deleted")
    amount = number(payment["Amount"], "Amount")
    after = invoice | {
        "AmountPaid": number(invoice["AmountPaid"], "AmountPaid") - amount,
        "AmountDue": number(invoice["AmountDue"], "AmountDue") + amount,
        "Payments": [
            p for p in invoice.get("Payments", []) if p["PaymentID"] != payment["PaymentID"]
        ],
    }
    return payment | {"Status": "DELETED"}, settled(INVOICE, after, today)


# -------------------------------------------------------------- allocations


def allocated(
    sent: dict[str, Any], *, credit_note: dict[str, Any], invoice: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The allocation, the credit note and the invoice after it."""
    amount = number(sent.get("Amount"), "Amount")
    when = parse_day(sent.get("Date"), "Date")
    _check_allocation(amount, credit_note, invoice)
    allocation = {
        "AllocationID": str(uuid.uuid4()),
        "Amount": amount,
        **day_fields("Date", when),
        "Invoice": {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber"),
        },
        "CreditNote": {"CreditNoteID": credit_note["CreditNoteID"]},
    }
    return (
        allocation,
        _credited_note(credit_note, allocation, when),
        _credited(invoice, allocation, credit_note, when),
    )


def _check_allocation(
    amount: Decimal, credit_note: dict[str, Any], invoice: dict[str, Any]
) -> None:
    if amount <= 0:
        raise ElementInvalid("The allocation amount must be greater than zero")
    if credit_note.get("Status") != "AUTHORISED":
        raise ElementInvalid("Only an AUTHORISED credit note can be allocated")
    if invoice.get("Status") != "AUTHORISED":
        raise ElementInvalid("A credit note can only be allocated to an AUTHORISED invoice")
    if credit_note["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
        raise ElementInvalid("The credit note and the invoice belong to different contacts")
    if credit_note.get("CurrencyCode") != invoice.get("CurrencyCode"):
        raise ElementInvalid("The credit note and the invoice are in different currencies")
    if amount > number(credit_note["RemainingCredit"], "RemainingCredit"):
        raise ElementInvalid("The allocation amount exceeds the credit note's remaining credit")
    if amount > number(invoice["AmountDue"], "AmountDue"):
        raise ElementInvalid("The allocation amount exceeds the amount due on the invoice")


def _credited_note(
    credit_note: dict[str, Any], allocation: dict[str, Any], when: date
) -> dict[str, Any]:
    after = credit_note | {
        "RemainingCredit": number(credit_note["RemainingCredit"], "RemainingCredit")
        - allocation["Amount"],
        "Allocations": [*credit_note.get("Allocations", []), allocation],
    }
    return settled(CREDIT_NOTE, after, when)


def _credited(
    invoice: dict[str, Any], allocation: dict[str, Any], credit_note: dict[str, Any], when: date
) -> dict[str, Any]:
    applied = {
        "CreditNoteID": credit_note["CreditNoteID"],
        "CreditNoteNumber": credit_note.get("CreditNoteNumber"),
        "AppliedAmount": allocation["Amount"],
    }
    after = invoice | {
        "AmountCredited": number(invoice["AmountCredited"], "AmountCredited")
        + allocation["Amount"],
        "AmountDue": number(invoice["AmountDue"], "AmountDue") - allocation["Amount"],
        "CreditNotes": [*invoice.get("CreditNotes", []), applied],
    }
    return settled(INVOICE, after, when)
