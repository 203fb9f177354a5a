"""Contacts, payments and credit-note allocations in the Xero sandbox (what it refuses:
``refusals.py``). Contact lengths come from the spec's ``maxLength``. A ``CurrencyRate``
sent with a base-currency payment is ignored (the spec: "Only used for non base currency
invoices and credit notes"); ``Status: DELETED`` on a payment gives its amount back.
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
from syncledger.adapters.xero.sandbox.errors import refuse_element

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CREDIT_NAMES = {
    "CreditNote": {"credit": "credit note", "a_credit": "A credit note"},
    "Overpayment": {"credit": "overpayment", "a_credit": "An overpayment"},
}
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
        raise refuse_element("contact.name_empty")
    status = str(contact.get("ContactStatus") or "ACTIVE")
    if status == "ACTIVE" and name_taken(name):
        raise refuse_element("contact.name_taken", name=name)
    number_ = contact.get("ContactNumber")
    if number_ and number_taken(str(number_)):
        raise refuse_element("contact.number_taken", number=number_)
    email = contact.get("EmailAddress")
    if email and not _EMAIL.match(str(email)):
        raise refuse_element("contact.email_invalid")
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
    amount = payable(sent, invoice, "AmountDue")
    check_bank(account)
    rate = payment_rate(sent, invoice, org)
    paid_on = parse_day(sent["Date"], "Date") if sent.get("Date") else org.today()
    payment = _payment(sent, amount, paid_on, invoice, account) | {"CurrencyRate": rate}
    return payment, _paid(invoice, payment, paid_on)


def payment_rate(sent: dict[str, Any], document: dict[str, Any], org: Org) -> Decimal:
    """The ``CurrencyRate`` a payment of ``document`` (an invoice, or for a refund the
    credit note or overpayment) is booked at: 1 in the base currency, else the one sent,
    required (``payment.rate_missing``)."""
    code = str(document.get("CurrencyCode") or org.base_currency)
    if code == org.base_currency:
        return Decimal("1.000000")
    if sent.get("CurrencyRate") is None:
        raise refuse_element("payment.rate_missing", currency=code)
    rate = number(sent["CurrencyRate"], "CurrencyRate")
    if rate <= 0:
        raise refuse_element("document.rate_not_positive")
    return rate


def payable(sent: dict[str, Any], document: dict[str, Any], due: str) -> Decimal:
    """The Amount ``sent`` pays (or refunds) of ``document``: above zero, within what its
    ``due`` field holds, the document AUTHORISED."""
    amount = number(sent.get("Amount"), "Amount")
    if amount <= 0:
        raise refuse_element("payment.amount_not_positive")
    if document.get("Status") != "AUTHORISED":
        raise refuse_element("payment.document_not_authorised")
    if amount > number(document[due], due):
        raise refuse_element("payment.exceeds_due")
    return amount


def check_bank(account: dict[str, Any], rule: str = "payment.account_unusable") -> None:
    """Money moves through a BANK account or one with payments enabled; ``rule`` refuses
    another."""
    if account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
        raise refuse_element(rule, code=account.get("Code"))


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
        raise refuse_element("payment.already_deleted")
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
    allocation, _amount, when = allocation_of(sent, credit_note, invoice, entity="CreditNote")
    return (
        allocation,
        _credited_note(credit_note, allocation, when),
        _credited(invoice, allocation, credit_note, when),
    )


def allocation_of(
    sent: dict[str, Any], credit: dict[str, Any], invoice: dict[str, Any], *, entity: str
) -> tuple[dict[str, Any], Decimal, date]:
    """The allocation ``sent`` asks for from ``credit`` (an ``entity``: ``CreditNote`` or
    ``Overpayment``) to ``invoice``, checked; with its amount and day."""
    amount = number(sent.get("Amount"), "Amount")
    when = parse_day(sent.get("Date"), "Date")
    check_allocation(amount, credit, invoice, entity=entity)
    allocation = {
        "AllocationID": str(uuid.uuid4()),
        "Amount": amount,
        **day_fields("Date", when),
        "Invoice": {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber"),
        },
        entity: {f"{entity}ID": credit[f"{entity}ID"]},
    }
    return allocation, amount, when


def check_allocation(
    amount: Decimal, credit: dict[str, Any], invoice: dict[str, Any], *, entity: str
) -> None:
    """An allocation of ``amount`` of a credit note's or an overpayment's (``entity``)
    ``credit`` to ``invoice``."""
    names = _CREDIT_NAMES[entity]
    if amount <= 0:
        raise refuse_element("allocation.amount_not_positive")
    if credit.get("Status") != "AUTHORISED":
        raise refuse_element("allocation.credit_not_authorised", **names)
    if invoice.get("Status") != "AUTHORISED":
        raise refuse_element("allocation.invoice_not_authorised", **names)
    if credit["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
        raise refuse_element("allocation.contacts_differ", **names)
    if credit.get("CurrencyCode") != invoice.get("CurrencyCode"):
        raise refuse_element("allocation.currencies_differ", **names)
    if amount > number(credit["RemainingCredit"], "RemainingCredit"):
        raise refuse_element("allocation.exceeds_credit", **names)
    if amount > number(invoice["AmountDue"], "AmountDue"):
        raise refuse_element("allocation.exceeds_due")


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
