"""Customer credit in the Xero sandbox: overpayments, their allocation to invoices, and
cash refunds of overpayments and credit notes (what it refuses: ``refusals.py``).

Overpayments (developer.xero.com/documentation/api/overpayments: "Create Overpayments using
the BankTransactions endpoint. Refund Overpayments using the Payments endpoint"): ``PUT
/BankTransactions`` with ``Type: RECEIVE-OVERPAYMENT``, a ``Contact``, a ``BankAccount`` and
line items without an account. It answers a BankTransaction carrying the ``OverpaymentID``
(the same GUID as its ``BankTransactionID``, as Xero support describes in
calcinai/xero-php#889) and keeps an ``Overpayment`` whose ``RemainingCredit`` starts at its
``Total``. Allocating it (``PUT /Overpayments/{id}/Allocations``) grows the invoice's
``AmountCredited`` ("sum of all credit notes, over-payments and pre-payments applied to
invoice") and the invoice lists the overpayment.

Refunds (``PUT /Payments`` with ``CreditNote: {CreditNoteID}`` or ``Overpayment:
{OverpaymentID}`` instead of an ``Invoice``): ``PaymentType`` ARCREDITPAYMENT /
AROVERPAYMENTPAYMENT; the credit is PAID when nothing is left. The PUT answer names the
credit under ``CreditNote`` / ``Overpayment``, but GET answers it under ``Invoice`` with the
credit's id as ``InvoiceID``: what Xero does (XeroAPI/xero-ruby#48, calcinai/xero-php#889).
Deleting a refund gives the credit back.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.adapters.xero.sandbox.amounts import cents, day_fields, number, optional, parse_day
from syncledger.adapters.xero.sandbox.book import day_ms, ms_date
from syncledger.adapters.xero.sandbox.documents import INVOICE, Org, settled
from syncledger.adapters.xero.sandbox.errors import refuse_element
from syncledger.adapters.xero.sandbox.rules import allocation_of, check_bank, payable, payment_rate

OVERPAYMENT_TYPE = "RECEIVE-OVERPAYMENT"
REFUND_TYPES = {"CreditNote": "ARCREDITPAYMENT", "Overpayment": "AROVERPAYMENTPAYMENT"}

# ------------------------------------------------------------- overpayments


def received_overpayment(
    sent: dict[str, Any], *, contact: dict[str, Any], account: dict[str, Any], org: Org
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The BankTransaction answered and the Overpayment kept for a RECEIVE-OVERPAYMENT."""
    if sent.get("Type") != OVERPAYMENT_TYPE:
        raise refuse_element("bank_transaction.type_unsupported", type=sent.get("Type"))
    if account.get("Type") != "BANK":
        raise refuse_element("overpayment.account_not_bank", code=account.get("Code"))
    if str(sent.get("LineAmountTypes") or "Exclusive") != "NoTax":
        raise refuse_element("overpayment.taxed")
    lines = [_overpayment_line(raw) for raw in sent.get("LineItems") or []]
    if not lines:
        raise refuse_element("document.lines_missing")
    total = sum((ln["LineAmount"] for ln in lines), Decimal(0))
    if total <= 0:
        raise refuse_element("overpayment.total_not_positive")
    ident = str(uuid.uuid4())
    received = parse_day(sent["Date"], "Date") if sent.get("Date") else org.today()
    common = {
        "Type": OVERPAYMENT_TYPE,
        "Contact": {"ContactID": contact["ContactID"], "Name": contact.get("Name")},
        **day_fields("Date", received),
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "LineItems": lines,
        "SubTotal": total,
        "TotalTax": Decimal("0.00"),
        "Total": total,
        "Reference": sent.get("Reference") or "",
        "HasAttachments": False,
        **_currency(sent, org),
    }
    bank_transaction = common | {
        "BankTransactionID": ident,
        "OverpaymentID": ident,
        "BankAccount": {"AccountID": account["AccountID"], "Code": account.get("Code")},
        "IsReconciled": bool(sent.get("IsReconciled")),
    }
    overpayment = common | {
        "OverpaymentID": ident,
        "RemainingCredit": total,
        "Allocations": [],
        "Payments": [],
    }
    return bank_transaction, overpayment


def _overpayment_line(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise refuse_element("line.not_object")
    if not str(raw.get("Description") or "").strip():
        raise refuse_element("line.description_empty")
    quantity = optional(raw, "Quantity") or Decimal(1)
    unit, amount = optional(raw, "UnitAmount"), optional(raw, "LineAmount")
    if amount is None:
        amount = quantity * (unit or Decimal(0))
    return raw | {
        "LineItemID": str(uuid.uuid4()),
        "Quantity": quantity,
        "UnitAmount": unit if unit is not None else amount / quantity,
        "LineAmount": cents(amount),
        "TaxType": "NONE",
        "TaxAmount": Decimal("0.00"),
    }


def _currency(sent: dict[str, Any], org: Org) -> dict[str, Any]:
    code = str(sent.get("CurrencyCode") or org.base_currency)
    if code == org.base_currency:
        return {"CurrencyCode": code, "CurrencyRate": Decimal("1.000000")}
    rate = optional(sent, "CurrencyRate")
    if rate is None or rate <= 0:
        raise refuse_element("overpayment.rate_missing", currency=code)
    return {"CurrencyCode": code, "CurrencyRate": rate}


def allocated_overpayment(
    sent: dict[str, Any], *, overpayment: dict[str, Any], invoice: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The allocation, the overpayment and the invoice after it."""
    allocation, amount, when = allocation_of(sent, overpayment, invoice, entity="Overpayment")
    after = overpayment | {
        "Allocations": [*overpayment.get("Allocations", []), allocation],
    }
    applied = {
        "OverpaymentID": overpayment["OverpaymentID"],
        "AppliedAmount": amount,
        "Total": overpayment["Total"],
    }
    credited = invoice | {
        "AmountCredited": number(invoice["AmountCredited"], "AmountCredited") + amount,
        "AmountDue": number(invoice["AmountDue"], "AmountDue") - amount,
        "Overpayments": [*invoice.get("Overpayments", []), applied],
    }
    return allocation, _drawn(after, amount, when), settled(INVOICE, credited, when)


# ----------------------------------------------------------------- refunds


def refunded(
    sent: dict[str, Any], *, entity: str, credit: dict[str, Any], account: dict[str, Any], org: Org
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The refund Payment (as GET shows it) and the credit note / overpayment after it."""
    amount = payable(sent, credit, "RemainingCredit")
    check_bank(account, "refund.account_unusable")
    rate = payment_rate(sent, credit, org)
    paid_on = parse_day(sent["Date"], "Date") if sent.get("Date") else org.today()
    refund = {
        "PaymentID": str(uuid.uuid4()),
        **day_fields("Date", paid_on),
        "Amount": amount,
        "BankAmount": amount,
        "Reference": sent.get("Reference") or "",
        "CurrencyRate": rate,
        "PaymentType": REFUND_TYPES[entity],
        "Status": "AUTHORISED",
        "IsReconciled": bool(sent.get("IsReconciled")),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account.get("Code")},
        "Invoice": _credit_as_invoice(entity, credit),
    }
    stub = {k: refund[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")}
    after = credit | {"Payments": [*credit.get("Payments", []), stub]}
    return refund, _drawn(after, amount, paid_on)


def as_created(refund: dict[str, Any]) -> dict[str, Any]:
    """The refund as the PUT answers it: the credit under its own element."""
    stub = refund["Invoice"]
    entity = next(e for e, t in REFUND_TYPES.items() if t == refund["PaymentType"])
    credit = {
        f"{entity}ID": stub["InvoiceID"],
        "Contact": stub["Contact"],
        "CurrencyCode": stub["CurrencyCode"],
    }
    if entity == "CreditNote":
        credit["CreditNoteNumber"] = stub["InvoiceNumber"]
    return {k: v for k, v in refund.items() if k != "Invoice"} | {entity: credit}


def _credit_as_invoice(entity: str, credit: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": credit.get("Type"),
        "InvoiceID": credit[f"{entity}ID"],
        "InvoiceNumber": credit.get("CreditNoteNumber", ""),
        "Contact": credit["Contact"],
        "CurrencyCode": credit.get("CurrencyCode"),
    }


def unrefunded(refund: dict[str, Any], credit: dict[str, Any]) -> dict[str, Any]:
    """The credit note / overpayment after its refund ``refund`` was deleted."""
    amount = number(refund["Amount"], "Amount")
    left = number(credit["RemainingCredit"], "RemainingCredit") + amount
    payments = [p for p in credit.get("Payments", []) if p["PaymentID"] != refund["PaymentID"]]
    kept = {k: v for k, v in credit.items() if k != "FullyPaidOnDate"}
    return kept | {"RemainingCredit": left, "Payments": payments, "Status": "AUTHORISED"}


def _drawn(credit: dict[str, Any], amount: Decimal, when: date) -> dict[str, Any]:
    left = number(credit["RemainingCredit"], "RemainingCredit") - amount
    after = credit | {"RemainingCredit": left}
    if left == 0:
        return after | {"Status": "PAID", "FullyPaidOnDate": ms_date(day_ms(when))}
    return after
