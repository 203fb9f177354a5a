"""Invoices (``ACCREC``) and credit notes (``ACCRECCREDIT``) as the Xero sandbox prices
and stores them (what it refuses, statuses included: ``refusals.py``).

Lines (OpenAPI ``LineItem``): ``UnitAmount`` is kept to 2 decimals, or 4 with
``unitdp=4``; ``LineAmount`` = Quantity × UnitAmount less ``DiscountRate`` % or
``DiscountAmount``, to the cent; ``TaxAmount`` is taken as sent (Xero lets it be
overridden) or computed from the ``TaxType``'s rate. ``LineAmountTypes`` Exclusive
(default), Inclusive or NoTax. ``SubTotal``, ``TotalTax``, ``Total`` are derived; a
``Total`` sent is ignored, as the spec says. Invoices carry ``AmountDue`` / ``AmountPaid``
/ ``AmountCredited``, credit notes ``RemainingCredit``. A new document is DRAFT by default.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.adapters.xero.sandbox.amounts import (
    HALF_CENT,
    cents,
    day_fields,
    number,
    optional,
    parse_day,
    places,
)
from syncledger.adapters.xero.sandbox.book import day_ms, ms_date
from syncledger.adapters.xero.sandbox.errors import refuse_element

NEW_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
FINAL_STATUSES = ("PAID", "VOIDED", "DELETED")
_NEXT = {
    "DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "SUBMITTED": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "AUTHORISED": ("AUTHORISED", "VOIDED"),
}


@dataclass(frozen=True, slots=True)
class Org:
    """What pricing needs from the organisation: base currency, chart, tax rates."""

    base_currency: str
    accounts: dict[str, dict[str, Any]]  # by Code
    tax_rates: dict[str, Decimal]  # TaxType → percent
    today: Callable[[], date]


@dataclass(frozen=True, slots=True)
class Kind:
    entity: str  # Invoice / CreditNote
    type: str  # ACCREC / ACCRECCREDIT
    number_field: str
    number_prefix: str

    @property
    def id_field(self) -> str:
        return f"{self.entity}ID"


INVOICE = Kind("Invoice", "ACCREC", "InvoiceNumber", "INV-")
CREDIT_NOTE = Kind("CreditNote", "ACCRECCREDIT", "CreditNoteNumber", "CN-")


@dataclass(frozen=True, slots=True)
class Totals:
    sub_total: Decimal
    tax: Decimal
    total: Decimal
    discount: Decimal


def priced(
    kind: Kind,
    sent: dict[str, Any],
    current: dict[str, Any] | None,
    *,
    org: Org,
    contact: dict[str, Any],
    unitdp: int,
) -> dict[str, Any]:
    """The document as stored after this create (``current`` None) or update."""
    doc = {**(current or {}), **sent}
    _check_type(kind, doc)
    status = _status(sent, current)
    if current is not None:
        _check_editable(kind, sent, current, status)
    lines, totals = _priced_lines(kind, doc, org, unitdp, account_required=status != "DRAFT")
    doc |= _dates(doc, org) | _currency(doc, org)
    doc |= {
        kind.id_field: (current or {}).get(kind.id_field) or str(uuid.uuid4()),
        "Type": kind.type,
        "Status": status,
        "Contact": {"ContactID": contact["ContactID"], "Name": contact.get("Name")},
        "LineAmountTypes": _line_amount_types(doc),
        "LineItems": lines,
        "SubTotal": totals.sub_total,
        "TotalTax": totals.tax,
        "Total": totals.total,
    }
    return doc | _balances(kind, doc, current, totals)


def voided(kind: Kind, current: dict[str, Any]) -> dict[str, Any]:
    zero = Decimal("0.00")
    balance = {"AmountDue": zero} if kind is INVOICE else {"RemainingCredit": zero}
    return current | {"Status": "VOIDED"} | balance


def settled(kind: Kind, doc: dict[str, Any], when: date) -> dict[str, Any]:
    """PAID (with ``FullyPaidOnDate``) when nothing is left, AUTHORISED again otherwise."""
    left = doc["AmountDue" if kind is INVOICE else "RemainingCredit"]
    if left == 0:
        return doc | {"Status": "PAID", "FullyPaidOnDate": ms_date(day_ms(when))}
    doc = {k: v for k, v in doc.items() if k != "FullyPaidOnDate"}
    return doc | {"Status": "AUTHORISED"}


# ------------------------------------------------------------------ status


def _check_type(kind: Kind, doc: dict[str, Any]) -> None:
    if doc.get("Type") not in (None, kind.type):
        raise refuse_element("document.type_unsupported", entity=kind.entity, type=kind.type)


def _status(sent: dict[str, Any], current: dict[str, Any] | None) -> str:
    if current is None:
        status = str(sent.get("Status") or "DRAFT")
        if status not in NEW_STATUSES:
            raise refuse_element("document.status_new", status=status)
        return status
    now = str(current["Status"])
    wanted = str(sent.get("Status") or now)
    if now in FINAL_STATUSES or wanted not in _NEXT.get(now, ()):
        raise refuse_element("document.status_change")
    return wanted


def _check_editable(kind: Kind, sent: dict[str, Any], current: dict[str, Any], status: str) -> None:
    settled_part = _settled_amount(kind, current)
    changes_money = any(k in sent for k in ("LineItems", "CurrencyCode", "CurrencyRate", "Contact"))
    if settled_part > 0 and (changes_money or status != current["Status"]):
        raise refuse_element("document.settled")


def _settled_amount(kind: Kind, current: dict[str, Any]) -> Decimal:
    if kind is INVOICE:
        return number(current["AmountPaid"], "AmountPaid") + number(
            current["AmountCredited"], "AmountCredited"
        )
    return number(current["Total"], "Total") - number(current["RemainingCredit"], "RemainingCredit")


def _balances(
    kind: Kind, doc: dict[str, Any], current: dict[str, Any] | None, totals: Totals
) -> dict[str, Any]:
    settled_part = Decimal(0) if current is None else _settled_amount(kind, current)
    if kind is INVOICE:
        paid = Decimal(0) if current is None else number(current["AmountPaid"], "AmountPaid")
        credited = settled_part - paid
        extra: dict[str, list[Any]] = {
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
        }
        return {
            **{k: v for k, v in extra.items() if k not in doc},
            "AmountDue": totals.total - settled_part,
            "AmountPaid": paid,
            "AmountCredited": credited,
            "TotalDiscount": totals.discount,
            "IsDiscounted": totals.discount > 0,
            "HasErrors": False,
        }
    lists: dict[str, list[Any]] = {"Allocations": [], "Payments": []}
    return {
        **{k: v for k, v in lists.items() if k not in doc},
        "RemainingCredit": totals.total - settled_part,
        "HasErrors": False,
    }


# ------------------------------------------------------------------- lines


def _line_amount_types(doc: dict[str, Any]) -> str:
    return str(doc.get("LineAmountTypes") or "Exclusive")


def _priced_lines(
    kind: Kind, doc: dict[str, Any], org: Org, unitdp: int, *, account_required: bool
) -> tuple[list[dict[str, Any]], Totals]:
    raw_lines = doc.get("LineItems") or []
    if not raw_lines:
        raise refuse_element("document.lines_missing")
    mode = _line_amount_types(doc)
    priced_lines = [
        _line(kind, raw, org, unitdp, mode, account_required=account_required) for raw in raw_lines
    ]
    lines = [line for line, _ in priced_lines]
    discount = sum((d for _, d in priced_lines), Decimal(0))
    amounts = sum((number(ln["LineAmount"], "LineAmount") for ln in lines), Decimal(0))
    tax = sum((number(ln["TaxAmount"], "TaxAmount") for ln in lines), Decimal(0))
    sub_total = amounts - tax if mode == "Inclusive" else amounts
    totals = Totals(sub_total, tax, sub_total + tax, cents(discount))
    if totals.total < 0:
        raise refuse_element("document.total_negative")
    return lines, totals


def _line(
    kind: Kind,
    raw: dict[str, Any],
    org: Org,
    unitdp: int,
    mode: str,
    *,
    account_required: bool,
) -> tuple[dict[str, Any], Decimal]:
    if not isinstance(raw, dict):
        raise refuse_element("line.not_object")
    quantity, unit, sent_amount = _line_numbers(raw, unitdp)
    gross = quantity * unit
    discount = _discount(kind, raw, gross)
    exact = gross - discount
    if sent_amount is not None and abs(sent_amount - exact) > HALF_CENT:
        raise refuse_element("line.amount_mismatch", sent=sent_amount, exact=cents(exact))
    line_amount = cents(sent_amount if sent_amount is not None else exact)
    account = _account(raw, org, required=account_required)
    tax_type = str(raw.get("TaxType") or account.get("TaxType") or "NONE")
    tax = _tax(raw, tax_type, line_amount, org, mode)
    line = raw | {
        "LineItemID": raw.get("LineItemID") or str(uuid.uuid4()),
        "Quantity": quantity,
        "UnitAmount": unit,
        "LineAmount": line_amount,
        "TaxType": tax_type,
        "TaxAmount": tax,
        "Tracking": raw.get("Tracking") or [],
    }
    return line, discount


def _line_numbers(raw: dict[str, Any], unitdp: int) -> tuple[Decimal, Decimal, Decimal | None]:
    quantity, unit, amount = (optional(raw, n) for n in ("Quantity", "UnitAmount", "LineAmount"))
    if not str(raw.get("Description") or "").strip() and unit is None and amount is None:
        raise refuse_element("line.description_empty")
    quantity = places(quantity if quantity is not None else Decimal(1), 4)
    if unit is None:
        unit = amount / quantity if amount is not None and quantity else Decimal(0)
    return quantity, places(unit, unitdp), amount


def _discount(kind: Kind, raw: dict[str, Any], gross: Decimal) -> Decimal:
    rate, amount = optional(raw, "DiscountRate"), optional(raw, "DiscountAmount")
    if rate is None and amount is None:
        return Decimal(0)
    if kind is not INVOICE:
        raise refuse_element("line.discount_on_credit_note")
    if rate is not None and amount is not None:
        raise refuse_element("line.discount_twice")
    discount = gross * rate / 100 if rate is not None else Decimal(amount or 0)
    if discount < 0 or (gross >= 0 and discount > gross):
        raise refuse_element("line.discount_too_large")
    return discount


def _account(raw: dict[str, Any], org: Org, *, required: bool) -> dict[str, Any]:
    code = raw.get("AccountCode")
    if code is None and not required:
        return {}
    account = None if code is None else org.accounts.get(str(code))
    if account is None or account.get("Status") != "ACTIVE":
        raise refuse_element("line.account_invalid", code="" if code is None else code)
    return account


def _tax(raw: dict[str, Any], tax_type: str, amount: Decimal, org: Org, mode: str) -> Decimal:
    rate = org.tax_rates.get(tax_type)
    if rate is None:
        raise refuse_element("tax_type.unknown", tax_type=tax_type)
    if mode == "NoTax":
        return Decimal("0.00")
    sent = optional(raw, "TaxAmount")
    if sent is not None:
        return cents(sent)
    if mode == "Inclusive":
        return amount - cents(amount * 100 / (100 + rate))
    return cents(amount * rate / 100)


# ------------------------------------------------------------ dates, money


def _dates(doc: dict[str, Any], org: Org) -> dict[str, Any]:
    issued = parse_day(doc["Date"], "Date") if doc.get("Date") else org.today()
    fields = day_fields("Date", issued)
    if doc.get("DueDate"):
        fields |= day_fields("DueDate", parse_day(doc["DueDate"], "DueDate"))
    return fields


def _currency(doc: dict[str, Any], org: Org) -> dict[str, Any]:
    code = str(doc.get("CurrencyCode") or org.base_currency)
    if code == org.base_currency:
        return {"CurrencyCode": code, "CurrencyRate": Decimal("1.000000")}
    rate = optional(doc, "CurrencyRate")
    if rate is None:
        raise refuse_element("document.rate_missing", currency=code)
    if rate <= 0:
        raise refuse_element("document.rate_not_positive")
    return {"CurrencyCode": code, "CurrencyRate": rate}
