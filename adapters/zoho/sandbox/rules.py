"""What the Zoho Books sandbox accepts, and the amounts it derives.

Documents (invoices and credit notes, zoho.com/books/api/v3/invoices):
- ``customer_id`` of an existing customer and at least one line item with ``rate``
  (``quantity`` defaults to 1); ``item_total`` = rate × quantity rounded to the
  currency's minor unit;
- a line's ``item_id``, if given, must be one of the organisation's items; the line
  takes the item's ``name`` and ``rate`` where it gives none;
- a line's ``tax_id`` must be one of the organisation's taxes (``/settings/taxes``);
  Zoho computes the tax: ``item_total`` × percentage, rounded per line (half up);
- ``discount`` is an amount (``190``) or a percentage (``"12.5%"``) of the sub total,
  ``discount_type`` ``entity_level``; ``is_discount_before_tax`` says whether the tax
  is computed on the discounted amounts. Invoices only: Zoho's credit-note schemas have
  no such fields, and ``schema.py`` refuses them on a credit note;
- total = sub total − discount + tax (+ ``adjustment``);
- the document is in the customer's currency; ``currency_id``, if sent, must be it;
- a document or payment in a currency other than the base currency carries
  ``exchange_rate``.

What is refused, and on what authority: ``refusals.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from syncledger.adapters.sandbox.numbers import NumberRules, checked_number
from syncledger.adapters.zoho.sandbox.errors import ZohoError, refuse
from syncledger.core.money import minor_unit

CONTACT_LIMITS = {"contact_name": 200, "company_name": 200, "notes": 2000}
DOCUMENT_LIMITS = {"reference_number": 100, "notes": 2000, "terms": 2000}
LINE_LIMITS = {"name": 100, "description": 2000}
PAYMENT_LIMITS = {"reference_number": 100, "description": 2000}
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")

Lookup = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Tax:
    tax_id: str
    tax_name: str
    tax_percentage: Decimal


@dataclass(frozen=True, slots=True)
class Currency:
    currency_id: str
    currency_code: str


def amount(value: Any, field: str) -> Decimal:
    """A JSON number (or numeric string) as Decimal, never through float."""

    rules = NumberRules("field.required", "field.invalid")
    return checked_number(value, rules, partial(refuse, field=field), floats=False)


def rounded(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


def check_date(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise refuse("field.required" if value is None else "field.invalid", field=field)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise refuse("field.date_format", field=field) from None
    return value


def check_lengths(body: Mapping[str, Any], limits: Mapping[str, int]) -> None:
    for field, limit in limits.items():
        value = body.get(field)
        if isinstance(value, str) and len(value) > limit:
            raise refuse("field.too_long", field=field, limit=limit)


# ---------------------------------------------------------------- contacts


def checked_contact(
    body: dict[str, Any],
    *,
    name_taken: Callable[[str], bool],
    currencies: Mapping[str, Currency],
    base: Currency,
) -> dict[str, Any]:
    name = body.get("contact_name")
    if not isinstance(name, str) or not name.strip():
        raise refuse("field.required", field="contact_name")
    check_lengths(body, CONTACT_LIMITS)
    if name_taken(name):
        raise refuse("contact.name_taken", name=name)
    currency = currencies.get(str(body.get("currency_id") or base.currency_id))
    if currency is None:
        raise refuse("field.invalid", field="currency_id")
    contact = {k: v for k, v in body.items() if k not in ("currency_id", "currency_code")}
    contact_type = contact.get("contact_type") or "customer"
    if contact_type not in ("customer", "vendor"):
        raise refuse("field.invalid", field="contact_type")
    persons = [_person(p, i) for i, p in enumerate(contact.get("contact_persons") or [])]
    return contact | {
        "contact_type": contact_type,
        "status": contact.get("status") or "active",
        "currency_id": currency.currency_id,
        "currency_code": currency.currency_code,
        "contact_persons": persons,
        "email": _primary_email(persons),
    }


def _person(person: Any, index: int) -> dict[str, Any]:
    if not isinstance(person, dict):
        raise refuse("field.invalid", field="contact_persons")
    primary = bool(person.get("is_primary_contact", index == 0))
    return person | {"is_primary_contact": primary}


def _primary_email(persons: list[dict[str, Any]]) -> str:
    primary = next((p for p in persons if p.get("is_primary_contact")), None)
    return str((primary or {}).get("email") or "")


# --------------------------------------------------------------- documents


def priced_document(
    body: dict[str, Any],
    *,
    customer: dict[str, Any] | None,
    taxes: Mapping[str, Tax],
    base: Currency,
    items: Lookup,
) -> dict[str, Any]:
    """The stored fields of an invoice or credit note: lines priced, tax, totals."""
    if customer is None or customer.get("contact_type") != "customer":
        raise _no_customer(body)
    check_lengths(body, DOCUMENT_LIMITS)
    currency = _document_currency(body, customer)
    rate = exchange_rate(body, currency, base)
    lines = _lines(body.get("line_items"), currency, items)
    sub_total = sum((ln["item_total"] for ln in lines), Decimal(0))
    discount = _discount(body, sub_total, currency)
    before_tax = bool(body.get("is_discount_before_tax", False))
    taxed = [
        _taxed(ln, taxes, sub_total, discount if before_tax else Decimal(0), currency)
        for ln in lines
    ]
    tax_total = sum((t["tax_amount"] for t in taxed), Decimal(0))
    adjustment = amount(body.get("adjustment", 0), "adjustment")
    return {k: v for k, v in body.items() if k != "currency_id"} | {
        "customer_id": str(customer["contact_id"]),
        "customer_name": customer["contact_name"],
        "date": check_date(body.get("date") or date.today().isoformat(), "date"),
        "currency_id": customer["currency_id"],
        "currency_code": currency,
        "exchange_rate": rate,
        "discount_type": body.get("discount_type") or "entity_level",
        "is_discount_before_tax": before_tax,
        "discount_amount": discount,
        "line_items": taxed,
        "sub_total": sub_total,
        "tax_total": tax_total,
        "taxes": _tax_summary(taxed),
        "total": sub_total - discount + tax_total + adjustment,
    }


def _no_customer(body: Mapping[str, Any]) -> ZohoError:
    if body.get("customer_id"):
        return refuse("customer.unknown")
    return refuse("field.required", field="customer_id")


def exchange_rate(body: Mapping[str, Any], currency: str, base: Currency) -> Decimal:
    given = body.get("exchange_rate")
    if currency == base.currency_code:
        rate = Decimal(1) if given is None else amount(given, "exchange_rate")
        if rate != 1:
            raise refuse("exchange_rate.not_one", currency=currency)
        return rate
    if given is None:
        raise refuse("exchange_rate.required", currency=currency, base=base.currency_code)
    rate = amount(given, "exchange_rate")
    if rate <= 0:
        raise refuse("field.invalid", field="exchange_rate")
    return rate


def _document_currency(body: Mapping[str, Any], customer: Mapping[str, Any]) -> str:
    given = body.get("currency_id")
    if given is not None and str(given) != str(customer["currency_id"]):
        raise refuse("document.currency_mismatch", currency=customer["currency_code"])
    return str(customer["currency_code"])


def _lines(lines: Any, currency: str, items: Lookup) -> list[dict[str, Any]]:
    if not isinstance(lines, list) or not lines:
        raise refuse("field.required", field="line_items")
    return [_line(_booked(ln, items), i, currency) for i, ln in enumerate(lines, start=1)]


def _booked(line: Any, items: Lookup) -> Any:
    """A line naming an item: the item must exist; what the line leaves out (its name and
    rate) comes from the item, as Zoho fills a line from the item it names."""
    if not isinstance(line, dict) or line.get("item_id") in (None, ""):
        return line
    item = items(str(line["item_id"]))
    if item is None:
        raise refuse("line.item_unknown")
    given = {k: v for k, v in line.items() if v is not None}
    return {"name": item["name"], "rate": item["rate"]} | given | {"item_id": item["item_id"]}


def _line(item: Any, order: int, currency: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise refuse("field.invalid", field="line_items")
    check_lengths(item, LINE_LIMITS)
    rate = amount(item.get("rate"), "rate")
    quantity = amount(item.get("quantity", 1), "quantity")
    total = rounded(rate * quantity, currency)
    return item | {"item_order": order, "rate": rate, "quantity": quantity, "item_total": total}


def _discount(body: Mapping[str, Any], sub_total: Decimal, currency: str) -> Decimal:
    raw = body.get("discount")
    if raw in (None, "", 0):
        return Decimal(0)
    match = _PERCENT.match(raw) if isinstance(raw, str) else None
    value = (
        rounded(sub_total * Decimal(match.group(1)) / 100, currency)
        if match
        else amount(raw, "discount")
    )
    if value < 0 or value > sub_total:
        raise refuse("document.discount_range")
    return value


def _taxed(
    line: dict[str, Any],
    taxes: Mapping[str, Tax],
    sub_total: Decimal,
    discount: Decimal,
    currency: str,
) -> dict[str, Any]:
    tax_id = line.get("tax_id")
    if tax_id in (None, ""):
        return line | {"tax_id": "", "tax_name": "", "tax_percentage": 0, "tax_amount": Decimal(0)}
    tax = taxes.get(str(tax_id))
    if tax is None:
        raise refuse("field.invalid", field="tax_id")
    base = line["item_total"]
    if discount and sub_total:
        base -= rounded(discount * line["item_total"] / sub_total, currency)
    tax_amount = rounded(base * tax.tax_percentage / 100, currency)
    return line | {
        "tax_id": tax.tax_id,
        "tax_name": tax.tax_name,
        "tax_percentage": tax.tax_percentage,
        "tax_amount": tax_amount,
    }


def _tax_summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary: dict[str, Decimal] = {}
    for line in lines:
        if line["tax_name"]:
            summary[line["tax_name"]] = (
                summary.get(line["tax_name"], Decimal(0)) + line["tax_amount"]
            )
    return [{"tax_name": name, "tax_amount": value} for name, value in summary.items()]


# ------------------------------------------------------ applications


@dataclass(frozen=True, slots=True)
class Application:
    invoice: dict[str, Any]
    amount: Decimal


def applications(
    items: Any,
    *,
    customer_id: str,
    invoices: Lookup,
    available: Decimal,
    check_open: Callable[[dict[str, Any]], None],
    allow_empty: bool = False,
) -> list[Application]:
    """``[{invoice_id, amount_applied}]`` checked against each invoice's balance and
    against ``available`` (a payment's amount, a credit note's balance). A payment may
    list no invoice (``allow_empty``): all of it is the customer's excess payment."""
    if not isinstance(items, list) or not (items or allow_empty):
        raise refuse("field.required", field="invoices")
    result = [_application(item, customer_id, invoices, check_open) for item in items]
    if sum((a.amount for a in result), Decimal(0)) > available:
        raise refuse("application.over_available")
    return result


def _application(
    item: Any, customer_id: str, invoices: Lookup, check_open: Callable[[dict[str, Any]], None]
) -> Application:
    if not isinstance(item, dict) or not item.get("invoice_id"):
        raise refuse("field.required", field="invoice_id")
    invoice = invoices(str(item["invoice_id"]))
    if invoice is None or str(invoice["customer_id"]) != customer_id:
        raise refuse("application.invoice_unknown")
    check_open(invoice)
    applied = amount(item.get("amount_applied"), "amount_applied")
    if applied <= 0:
        raise refuse("field.invalid", field="amount_applied")
    if applied > amount(invoice["balance"], "balance"):
        raise refuse("application.over_balance", number=invoice["invoice_number"])
    return Application(invoice, applied)


def checked_payment(
    body: dict[str, Any], *, customer: dict[str, Any] | None, base: Currency
) -> dict[str, Any]:
    """A customer payment's own fields (its invoices are checked by ``applications``)."""
    if customer is None or customer.get("contact_type") != "customer":
        raise _no_customer(body)
    check_lengths(body, PAYMENT_LIMITS)
    if not body.get("payment_mode"):
        raise refuse("field.required", field="payment_mode")
    value = amount(body.get("amount"), "amount")
    if value <= 0:
        raise refuse("field.invalid", field="amount")
    currency = str(customer["currency_code"])
    return body | {
        "customer_id": str(customer["contact_id"]),
        "customer_name": customer["contact_name"],
        "date": check_date(body.get("date"), "date"),
        "amount": value,
        "currency_code": currency,
        "exchange_rate": exchange_rate(body, currency, base),
    }
