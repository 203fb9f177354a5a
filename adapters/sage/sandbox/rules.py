"""What the Sage sandbox accepts for contacts and sales documents, and the amounts it
derives (what it refuses: ``refusals.py``). Field names, JSON types and lengths of every
body are checked first (``sage_schema``).

Sales invoices and credit notes (``PostSalesInvoicesSalesInvoice``,
``PostSalesCreditNotesSalesCreditNote``): a zero, exempt or no_tax rate infers
``tax_amount`` 0.0; ``quantity`` defaults to 1; ``discount_amount`` or
``discount_percentage`` reduce the line's net; ``service_id`` / ``product_id`` book it to an
item (``sage_items``). Net = quantity × unit price rounded to the cent, less the discount;
total = net + tax; the document sums its lines.

A PUT that sends the document's lines (``putSalesInvoices``: lines without ids, the only
line construct Sage's swagger documents on an update) makes them the document's lines;
a PUT without lines keeps them. Whether Sage replaces or adds to the lines on such a PUT
is not documented: replacing is the sandbox's reading, and ``keep_lines`` models the
other one (the old lines stay, the sent ones are added) so a client's check can be tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from syncledger.adapters.sage.sandbox.errors import refuse
from syncledger.adapters.sage.sandbox.items import ItemLookup, line_item
from syncledger.adapters.sage.sandbox.seed import (
    CONTACT_TYPES,
    TAX_RATES,
    ZERO_TAX_TYPES,
    link,
    status,
)
from syncledger.adapters.sandbox.numbers import NumberRules, checked_number

CENT = Decimal("0.01")
RATE_TOLERANCE = Decimal("0.0001")
RATE_PLACES = Decimal("0.000001")
CONTACT_FIELDS = (
    "name",
    "reference",
    "notes",
    "tax_number",
    "locale",
    "credit_days",
    "main_address",
    "delivery_address",
    "main_contact_person",
)
DOCUMENT_FIELDS = ("date", "due_date", "reference", "notes", "terms_and_conditions")
Lookup = Callable[[str], dict[str, Any] | None]


# ------------------------------------------------------------------ numbers


def amount(value: Any, source: str) -> Decimal:
    """A JSON number or numeric string as ``Decimal`` (never via float)."""
    fault = partial(refuse, source=source, kind="a number")
    return checked_number(value, NumberRules("field.required", "field.type"), fault, floats=False)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def iso_date(value: Any, source: str) -> str:
    if value is None:
        raise refuse("field.required", source)
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise refuse("field.not_a_date", source) from None


# ----------------------------------------------------------------- contacts


def checked_contact(
    sent: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    *,
    reference_taken: Callable[[str], bool],
    home_currency: str,
) -> dict[str, Any]:
    """The contact as stored, from a POST body (``current`` None) or a PUT over it."""
    contact = dict(current or {})
    contact |= {k: sent[k] for k in CONTACT_FIELDS if k in sent}
    if not str(contact.get("name") or "").strip():
        raise refuse("field.required", "name")
    contact["contact_types"] = _contact_types(sent, current)
    contact["currency"] = _currency(sent.get("currency_id"), current, home_currency)
    _check_reference(contact.get("reference"), reference_taken)
    contact["email"] = _person_email(contact.get("main_contact_person"))
    contact["displayed_as"] = _displayed(contact)
    return contact


def _contact_types(sent: Mapping[str, Any], current: Mapping[str, Any] | None) -> list[Any]:
    if "contact_type_ids" not in sent and current is not None:
        return list(current["contact_types"])
    ids = sent.get("contact_type_ids")
    if not isinstance(ids, list) or not ids:
        raise refuse("field.required", "contact_type_ids")
    unknown = [i for i in ids if i not in CONTACT_TYPES]
    if unknown:
        raise refuse("contact.type_unknown", "contact_type_ids", type=unknown[0])
    return [link("contact_types", i, CONTACT_TYPES[i]) for i in ids]


def _currency(given: Any, current: Mapping[str, Any] | None, home: str) -> dict[str, Any]:
    code = given if given is not None else (current or {}).get("currency", {}).get("id", home)
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise refuse("contact.currency_invalid", "currency_id", code=code)
    return link("currencies", code, code)


def _check_reference(reference: Any, taken: Callable[[str], bool]) -> None:
    if reference is not None and not isinstance(reference, str):
        raise refuse("field.type", "reference", kind="a string")
    if reference and taken(reference):
        raise refuse("contact.reference_taken", "reference")


def _person_email(person: Any) -> str | None:
    email = person.get("email") if isinstance(person, dict) else None
    if email is not None and "@" not in str(email):
        raise refuse("contact.email_invalid", "main_contact_person.email")
    return email if email is None else str(email)


def _displayed(contact: Mapping[str, Any]) -> str:
    reference = contact.get("reference")
    return f"{contact['name']} ({reference})" if reference else str(contact["name"])


def is_customer(contact: Mapping[str, Any]) -> bool:
    return any(t.get("id") == "CUSTOMER" for t in contact.get("contact_types", []))


# ---------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """What differs between a sales invoice and a sales credit note."""

    resource: str  # sales_invoices
    body_key: str  # sales_invoice
    lines_key: str  # invoice_lines
    number_field: str  # invoice_number
    number_prefix: str  # SI-
    transaction_type: str  # SALES_INVOICE


INVOICE = DocumentKind(
    "sales_invoices", "sales_invoice", "invoice_lines", "invoice_number", "SI-", "SALES_INVOICE"
)
CREDIT_NOTE = DocumentKind(
    "sales_credit_notes",
    "sales_credit_note",
    "credit_note_lines",
    "credit_note_number",
    "SCN-",
    "SALES_CREDIT_NOTE",
)


@dataclass(frozen=True, slots=True)
class References:
    """Look-ups into the book a document's ids must resolve in."""

    contacts: Lookup
    ledger_accounts: Lookup
    items: ItemLookup
    home_currency: str


def priced_document(
    kind: DocumentKind,
    sent: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    refs: References,
    *,
    settled: Decimal = Decimal(0),
    keep_lines: bool = False,
) -> dict[str, Any]:
    """The document as stored: lines priced, totals, outstanding amount (less the
    ``settled`` payments and allocations) and status. ``current`` is None on create;
    ``keep_lines``: a PUT's lines are added to the current ones (see the docstring)."""
    document = dict(current or {})
    document |= {k: sent[k] for k in DOCUMENT_FIELDS if k in sent}
    document["date"] = iso_date(document.get("date"), "date")
    contact = _contact(sent, current, refs.contacts)
    lines = _lines(kind, sent, current, refs, keep_lines)
    document |= _contact_fields(contact) | {kind.lines_key: lines}
    document |= _totals(kind, lines, sent)
    document |= _currency_fields(sent, current, contact, refs.home_currency, document)
    return document | outstanding(document, settled)


def outstanding(document: Mapping[str, Any], settled: Decimal) -> dict[str, Any]:
    """``outstanding_amount``, ``total_paid`` and ``status`` after ``settled``."""
    total = amount(document["total_amount"], "total_amount")
    left = total - settled
    if left < 0:
        raise refuse("document.below_settled", "total_amount", settled=settled)
    state = "UNPAID" if settled == 0 else ("PAID" if left == 0 else "PART_PAID")
    return {"outstanding_amount": left, "total_paid": settled, "status": status(state)}


def _contact(sent: Mapping[str, Any], current: Mapping[str, Any] | None, contacts: Lookup) -> Any:
    ident = sent.get("contact_id") or (current or {}).get("contact", {}).get("id")
    if not ident:
        raise refuse("field.required", "contact_id")
    contact = contacts(str(ident))
    if contact is None:
        raise refuse("reference.not_found")  # Sage answers this one without a $source
    if not is_customer(contact):
        raise refuse("contact.not_customer", "contact_id")
    return contact


def _contact_fields(contact: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "contact": link("contacts", contact["id"], contact["displayed_as"]),
        "contact_name": contact["name"],
        "contact_reference": contact.get("reference"),
    }


def _lines(
    kind: DocumentKind,
    sent: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    refs: References,
    keep_lines: bool = False,
) -> list[dict[str, Any]]:
    """The lines sent, else the current ones (priced again); with ``keep_lines`` the
    current ones followed by those sent."""
    existing = [_inputs(ln) for ln in (current or {}).get(kind.lines_key) or []]
    given = sent.get(kind.lines_key)
    if given is not None and not isinstance(given, list):
        raise refuse("field.type", kind.lines_key, kind="a list")
    if given is None:
        lines = existing
    else:
        lines = (existing if keep_lines else []) + [_line_input(ln, kind) for ln in given]
    if not lines:
        raise refuse("field.required", kind.lines_key)
    return [_priced_line(ln, f"{kind.lines_key}.", refs) for ln in lines]


def _line_input(line: Any, kind: DocumentKind) -> dict[str, Any]:
    if not isinstance(line, dict):
        raise refuse("document.line_not_object", kind.lines_key)
    return dict(line)


def _inputs(line: Mapping[str, Any]) -> dict[str, Any]:
    """A stored line without what pricing derives, ready to be merged and priced again."""
    return {k: v for k, v in line.items() if k not in ("net_amount", "total_amount")}


def _priced_line(line: Mapping[str, Any], source: str, refs: References) -> dict[str, Any]:
    if not str(line.get("description") or "").strip():
        raise refuse("field.required", source + "description")
    quantity = amount(line.get("quantity", 1), source + "quantity")
    unit_price = amount(line.get("unit_price"), source + "unit_price")
    gross = cents(quantity * unit_price)
    discount = _line_discount(line, gross, source)
    rate_id, tax = _line_tax(line, source)
    net = gross - discount
    priced = {
        "id": str(line.get("id") or _line_id()),
        "description": line["description"],
        **line_item(line, source, refs.items),
        "ledger_account": _ledger_account(line, source, refs.ledger_accounts),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount_amount": discount,
        "net_amount": net,
        "tax_rate": link("tax_rates", rate_id, TAX_RATES[rate_id][0]),
        "tax_amount": tax,
        "total_amount": net + tax,
    }
    _check_sent(line, priced, ("net_amount", "total_amount"), source)
    return priced


def _line_discount(line: Mapping[str, Any], gross: Decimal, source: str) -> Decimal:
    if line.get("discount_amount") is not None:
        discount = cents(amount(line["discount_amount"], source + "discount_amount"))
    elif line.get("discount_percentage") is not None:
        percent = amount(line["discount_percentage"], source + "discount_percentage")
        discount = cents(gross * percent / 100)
    else:
        discount = Decimal(0)
    if discount < 0 or discount > gross:
        raise refuse("line.discount_invalid", source + "discount_amount")
    return discount


def _line_tax(line: Mapping[str, Any], source: str) -> tuple[str, Decimal]:
    rate_id = line.get("tax_rate_id") or (line.get("tax_rate") or {}).get("id")
    if not rate_id:
        raise refuse("field.required", source + "tax_rate_id")
    if rate_id not in TAX_RATES:
        raise refuse("reference.not_found", source + "tax_rate_id")
    if TAX_RATES[rate_id][2] in ZERO_TAX_TYPES:
        return rate_id, Decimal(0)
    return rate_id, cents(amount(line.get("tax_amount"), source + "tax_amount"))


def _ledger_account(line: Mapping[str, Any], source: str, accounts: Lookup) -> dict[str, Any]:
    ident = line.get("ledger_account_id") or (line.get("ledger_account") or {}).get("id")
    if not ident:
        raise refuse("field.required", source + "ledger_account_id")
    account = accounts(str(ident))
    if account is None or account.get("visible_in") != "sales":
        raise refuse("reference.not_found", source + "ledger_account_id")
    return link("ledger_accounts", account["id"], account["displayed_as"])


def _totals(kind: DocumentKind, lines: list[dict[str, Any]], sent: Mapping[str, Any]) -> Any:
    def total(field: str) -> Decimal:
        return sum((Decimal(ln[field]) for ln in lines), Decimal(0))

    totals = {
        "net_amount": total("net_amount"),
        "tax_amount": total("tax_amount"),
        "total_amount": total("total_amount"),
        "total_discount_amount": total("discount_amount"),
        "total_quantity": total("quantity"),
    }
    _check_sent(sent, totals, ("net_amount", "tax_amount", "total_amount"), "")
    return totals


def _check_sent(
    sent: Mapping[str, Any], derived: Mapping[str, Any], fields: tuple[str, ...], source: str
) -> None:
    for field in fields:
        if sent.get(field) is not None and amount(sent[field], source + field) != derived[field]:
            raise refuse("document.amount_mismatch", source + field, derived=derived[field])


def _currency_fields(
    sent: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    contact: Mapping[str, Any],
    home: str,
    document: Mapping[str, Any],
) -> dict[str, Any]:
    code = contact["currency"]["id"]
    given = sent.get("currency_id") or (current or {}).get("currency", {}).get("id")
    if given is not None and given != code:
        raise refuse("currency.not_contacts", "currency_id", code=code)
    rate, inverse = _rates(sent, current, code != home)
    total = amount(document["total_amount"], "total_amount")
    return {
        "currency": link("currencies", code, code),
        "exchange_rate": rate,
        "inverse_exchange_rate": inverse,
        "base_currency_total_amount": cents(total * inverse),
    }


def _rates(
    sent: Mapping[str, Any], current: Mapping[str, Any] | None, foreign: bool
) -> tuple[Decimal, Decimal]:
    """``exchange_rate`` is foreign units per base unit, ``inverse_exchange_rate`` base per
    foreign unit; a foreign document needs one of them, and both must agree."""
    if not foreign:
        return Decimal(1), Decimal(1)
    previous = current or {}
    rate = sent.get("exchange_rate", previous.get("exchange_rate"))
    inverse = sent.get("inverse_exchange_rate", previous.get("inverse_exchange_rate"))
    if rate is None and inverse is None:
        raise refuse("rate.missing", "exchange_rate")
    rate_d = amount(rate, "exchange_rate") if rate is not None else None
    inverse_d = amount(inverse, "inverse_exchange_rate") if inverse is not None else None
    return _settled_rates(rate_d, inverse_d)


def _settled_rates(rate: Decimal | None, inverse: Decimal | None) -> tuple[Decimal, Decimal]:
    for value, name in ((rate, "exchange_rate"), (inverse, "inverse_exchange_rate")):
        if value is not None and value <= 0:
            raise refuse("field.not_positive", name)
    if rate is not None and inverse is not None:
        if abs(rate * inverse - 1) > RATE_TOLERANCE:
            raise refuse("rate.not_inverse", "inverse_exchange_rate")
        return rate, inverse
    if rate is not None:
        return rate, _inverse(rate)
    assert inverse is not None
    return _inverse(inverse), inverse


def _line_id() -> str:
    return uuid.uuid4().hex


def _inverse(value: Decimal) -> Decimal:
    return (Decimal(1) / value).quantize(RATE_PLACES)
