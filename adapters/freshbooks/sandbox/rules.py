"""What the FreshBooks sandbox accepts, and the amounts it derives; what it refuses, and
on what authority, is ``refusals.py``.

Money is ``{"amount": "<decimal string>", "code": "<ISO 4217>"}``. A payment above what
the invoice still owes pays the invoice in full and the excess becomes an overpayment
credit for the client: a credit note of ``credit_type`` ``overpayment`` that the payment
names in ``overpaymentid`` (support articles "What are these extra credits that appear in
my Payment History?" and "How do Credits work?"; the credit type as FreshBooks lists it in
its credit notes; ``overpaymentid`` "Id of related overpayment Credit" in FreshBooks' Java
SDK). The payment keeps the full amount received (unverified: FreshBooks may store only
the part that went to the invoice).

Items (freshbooks.com/api/items): ``name``, ``description``, ``qty``, ``inventory``,
``sku``, ``tax1`` / ``tax2`` (tax ids), ``unit_cost`` (money) and ``vis_state``; no income
account and no type. Invoice and credit-note lines carry no item id, so FreshBooks has
nothing to check a line against an item with, and neither has the sandbox: any line name
is taken.

A payment of type Credit draws on the client's credit instead of bringing money
(``from_credit`` "if payment was converted from a credit on a client's account"; support
article "How do Credits work?", Apply Credit as Payment). Which of several credits it
draws on is not documented: the sandbox takes the oldest one holding the amount
(``drawn_credit``) and names it in the answer's ``creditid``.

Assumed where FreshBooks is silent: a line's ``amount`` is ``qty × unit_cost`` rounded
half-up to the cent and each line's tax is rounded the same way; the invoice ``amount`` is
the lines plus their taxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from syncledger.adapters.freshbooks.sandbox.errors import refuse
from syncledger.adapters.sandbox.numbers import NumberRules, checked_number

CENT = Decimal("0.01")
TAX_PLACES = 3
OVERPAYMENT = "overpayment"  # credit_type of the credit an overpayment creates
CREDIT = "Credit"  # the payment type that draws on the client's credit
#: ``PaymentType`` of the official Node SDK (freshbooks/freshbooks-nodejs-sdk @91cfeeed,
#: packages/api/src/models/Payment.ts): no ``Refund`` (nor the classic API's NOVA and
#: EUROCARD)
PAYMENT_TYPES = frozenset(
    {
        "Check",
        "Credit",
        "Cash",
        "Bank Transfer",
        "Credit Card",
        "Debit",
        "PayPal",
        "2Checkout",
        "VISA",
        "MASTERCARD",
        "DISCOVER",
        "AMEX",
        "DINERS",
        "JCB",
        "ACH",
        "Other",
    }
)
# What a write of each resource may carry: a subset of the fields the official Node SDK
# writes (freshbooks/freshbooks-nodejs-sdk @91cfeeed, packages/api/src/models/: the
# transformClientRequest, transformInvoiceRequest, transformCreditNoteRequest,
# transformLineParsedRequest and transformItemRequest functions). Fields outside them are
# refused (``writable``), read-only ones (``READ_ONLY``) dropped.
CLIENT_FIELDS = frozenset(
    {
        "organization",
        "fname",
        "lname",
        "email",
        "note",
        "currency_code",
        "language",
        "bus_phone",
        "mob_phone",
        "home_phone",
        "fax",
        "p_street",
        "p_street2",
        "p_city",
        "p_province",
        "p_code",
        "p_country",
        "s_street",
        "s_street2",
        "s_city",
        "s_province",
        "s_code",
        "s_country",
        "vat_name",
        "vat_number",
        "vis_state",
        "allow_late_fees",
        "allow_late_notifications",
        "pref_email",
        "pref_gmail",
    }
)
DOCUMENT_FIELDS = frozenset(
    {
        "create_date",
        "currency_code",
        "notes",
        "terms",
        "language",
        "lines",
        "organization",
        "fname",
        "lname",
        "address",
        "street",
        "street2",
        "city",
        "province",
        "code",
        "country",
        "vat_name",
        "vat_number",
        "vis_state",
        "template",
    }
)
INVOICE_FIELDS = DOCUMENT_FIELDS | {
    "customerid",
    "invoice_number",
    "due_offset_days",
    "po_number",
    "discount_value",
    "discount_description",
    "status",
    "deposit_amount",
    "deposit_percentage",
}
CREDIT_NOTE_FIELDS = (DOCUMENT_FIELDS - {"address"}) | {"clientid", "credit_number", "credit_type"}
#: what a payment write may carry: the fields the official Node SDK writes
#: (``transformPaymentRequest``, same file), and ``send_client_notification``, which
#: freshbooks.com/api/payments shows on a payment
PAYMENT_FIELDS = frozenset(
    {
        "amount",
        "date",
        "invoiceid",
        "note",
        "orderid",
        "transactionid",
        "type",
        "vis_state",
        "send_client_notification",
    }
)
#: payment fields FreshBooks answers but the official SDK never writes (``creditid``: the
#: credit a payment of type Credit drew on): refused on a write
NOT_WRITTEN = frozenset({"creditid", "from_credit"})
LINE_FIELDS = frozenset(
    {
        "name",
        "description",
        "qty",
        "unit_cost",
        "taxName1",
        "taxAmount1",
        "taxName2",
        "taxAmount2",
        "compounded_tax",
        "type",
        "expenseid",
    }
)
ITEM_FIELDS = frozenset(
    {"name", "description", "qty", "inventory", "sku", "tax1", "tax2", "unit_cost", "vis_state"}
)
READ_ONLY = frozenset(
    {
        "id",
        "userid",
        "invoiceid",
        "creditid",
        "logid",
        "accountid",
        "clientid",
        "customerid",
        "accounting_systemid",
        "updated",
        "created_at",
        "signup_date",
        "amount",
        "outstanding",
        "paid",
        "payment_status",
        "v3_status",
        "display_status",
        "discount_total",
        "lineid",
        "overpaymentid",
        "from_credit",
        "date_paid",
    }
)

Lookup = Callable[[object], dict[str, Any] | None]


# ------------------------------------------------------------------ values


#: the rules refusing a number that does not read
NUMBER_RULES = NumberRules("field.required", "field.not_a_number", not_finite="field.not_finite")


def decimal_of(value: Any, obj: str, field: str) -> Decimal:
    """A JSON number or decimal string as ``Decimal`` (never through float); "" is none."""
    fault = partial(refuse, obj=obj, field=field, value=value)
    return checked_number(None if value == "" else value, NUMBER_RULES, fault)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal, code: str) -> dict[str, str]:
    return {"amount": f"{cents(amount):f}", "code": code}


def money_amount(value: Any, obj: str, field: str) -> tuple[Decimal, str | None]:
    """``{"amount": "10.00", "code": "USD"}`` (or a bare amount) → amount and code."""
    if isinstance(value, Mapping):
        code = value.get("code")
        return decimal_of(value.get("amount"), obj, f"{field}.amount"), code and str(code)
    return decimal_of(value, obj, field), None


def iso_date(value: Any, obj: str, field: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise refuse("field.date_format", obj, field, value) from None


def currency_code(value: Any, obj: str, field: str = "currency_code") -> str:
    code = str(value)
    if not (len(code) == 3 and code.isalpha() and code.isupper()):
        raise refuse("field.currency_code", obj, field, value)
    return code


def writable(body: Mapping[str, Any], allowed: frozenset[str], obj: str) -> dict[str, Any]:
    """The writable fields of ``body``; read-only ones are dropped, unknown ones refused."""
    unknown = set(body) - allowed - READ_ONLY
    if unknown:
        raise refuse("field.unknown", obj, sorted(unknown)[0])
    return {k: v for k, v in body.items() if k in allowed}


# ---------------------------------------------------------------- clients


def checked_client(
    body: Mapping[str, Any], *, email_taken: Callable[[str], bool], home_currency: str
) -> dict[str, Any]:
    client = writable(body, CLIENT_FIELDS, "client")
    if not any(client.get(k) for k in ("organization", "fname", "lname", "email")):
        raise refuse("client.name_missing", "client", "organization")
    email = str(client.get("email") or "")
    if email and "@" not in email:
        raise refuse("client.email_invalid", "client", "email", email)
    if email and email_taken(email):
        raise refuse("client.email_taken", "client", "email", email)
    client["currency_code"] = currency_code(client.get("currency_code") or home_currency, "client")
    return {"vis_state": 0, "note": "", "email": email} | client


# ------------------------------------------------------------------ items


def checked_item(
    body: Mapping[str, Any], *, name_taken: Callable[[str], bool], home_currency: str
) -> dict[str, Any]:
    """An item as stored: a name no other item (not deleted) has; the rest defaulted as
    FreshBooks answers them (``unit_cost`` 0 in the home currency, ``qty`` 1, no taxes)."""
    item = writable(body, ITEM_FIELDS, "item")
    name = str(item.get("name") or "")
    if not name:
        raise refuse("field.required", "item", "name")
    if item.get("vis_state") != 1 and name_taken(name):
        raise refuse("item.name_taken", "item", "name", name)
    unit, code = money_amount(item.get("unit_cost") or "0", "item", "unit_cost")
    currency = currency_code(code or home_currency, "item", "unit_cost.code")
    qty = decimal_of(item.get("qty", "1"), "item", "qty")
    defaults = {"description": "", "inventory": None, "sku": None, "tax1": 0, "tax2": 0}
    return (
        defaults
        | item
        | {
            "name": name,
            "qty": f"{qty:f}",
            "unit_cost": money(unit, currency),
            "vis_state": _vis_state(item.get("vis_state", 0), "item"),
        }
    )


def _vis_state(value: Any, obj: str) -> int:
    if value not in (0, 1, 2) or isinstance(value, bool):
        raise refuse("field.vis_state", obj, "vis_state", value)
    return int(value)


def names(items: Iterable[Mapping[str, Any]], exclude: object = None) -> set[str]:
    """The names of the items not deleted, but ``exclude``'s (an id)."""
    return {str(i.get("name")) for i in items if i.get("vis_state") != 1 and i.get("id") != exclude}


# ------------------------------------------------------------------ lines


@dataclass(frozen=True, slots=True)
class Priced:
    lines: list[dict[str, Any]]
    subtotal: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


def priced_lines(lines: Any, obj: str, currency: str) -> Priced:
    if not isinstance(lines, list) or not lines:
        raise refuse("field.required", obj, "lines")
    priced = [_priced_line(line, obj, currency, n) for n, line in enumerate(lines, start=1)]
    subtotal = sum((decimal_of(ln["amount"]["amount"], obj, "amount") for ln in priced), Decimal(0))
    tax = sum((ln.pop("_tax") for ln in priced), Decimal(0))
    return Priced(priced, subtotal, tax)


def _priced_line(raw: Any, obj: str, currency: str, lineid: int) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise refuse("line.not_object", obj, "lines")
    line = writable(raw, LINE_FIELDS, "line")
    qty = decimal_of(line.get("qty", 1), "line", "qty")
    unit, code = money_amount(line.get("unit_cost"), "line", "unit_cost")
    if code is not None and code != currency:
        raise refuse(
            "line.currency_mismatch", "line", "unit_cost.code", code=code, currency=currency
        )
    amount = cents(qty * unit)
    tax = _line_tax(line, amount)
    return line | {
        "lineid": lineid,
        "qty": f"{qty:f}",
        "unit_cost": {"amount": f"{unit:f}", "code": currency},
        "amount": money(amount, currency),
        "_tax": tax,
    }


def _line_tax(line: dict[str, Any], amount: Decimal) -> Decimal:
    first = _percent(line, 1)
    second = _percent(line, 2)
    tax1 = cents(amount * first / 100)
    base2 = amount + tax1 if line.get("compounded_tax") else amount
    return tax1 + cents(base2 * second / 100)


def _percent(line: dict[str, Any], n: int) -> Decimal:
    value = line.get(f"taxAmount{n}")
    if value in (None, "", 0, "0"):
        return Decimal(0)
    percent = decimal_of(value, "line", f"taxAmount{n}")
    if percent < 0 or percent != percent.quantize(Decimal(1).scaleb(-TAX_PLACES)):
        raise refuse("line.tax_percent", "line", f"taxAmount{n}", value, places=TAX_PLACES)
    if not line.get(f"taxName{n}"):
        raise refuse("field.required", "line", f"taxName{n}")
    line[f"taxAmount{n}"] = f"{percent:f}"
    return percent


# --------------------------------------------------------------- invoices


def checked_invoice(
    body: Mapping[str, Any],
    *,
    client_of: Lookup,
    number_taken: Callable[[str], bool],
    next_number: Callable[[], str],
) -> dict[str, Any]:
    """A new invoice as stored (before its amounts: see ``with_amounts``)."""
    invoice = writable(body, INVOICE_FIELDS, "invoice")
    client = _client_of(invoice.get("customerid"), client_of, "invoice", "customerid")
    invoice["customerid"] = client["id"]
    invoice["create_date"] = iso_date(invoice.get("create_date"), "invoice", "create_date")
    invoice["invoice_number"] = _number(invoice, number_taken, next_number)
    invoice["currency_code"] = _document_currency(invoice, client, "invoice")
    _refuse_percent_discount(invoice)
    return {"vis_state": 0, "notes": "", "po_number": None, "due_offset_days": 0} | invoice


def changed_invoice(
    current: dict[str, Any],
    body: Mapping[str, Any],
    *,
    client_of: Lookup,
    number_taken: Callable[[str], bool],
) -> dict[str, Any]:
    """``current`` with the fields of ``body`` replaced (``lines``, when given, replace
    every line)."""
    changes = writable(body, INVOICE_FIELDS, "invoice")
    merged = {**current, **changes}
    if "customerid" in changes:
        merged["customerid"] = _client_of(
            changes["customerid"], client_of, "invoice", "customerid"
        )["id"]
    if "create_date" in changes:
        merged["create_date"] = iso_date(changes["create_date"], "invoice", "create_date")
    number = str(merged.get("invoice_number") or "")
    if number != current.get("invoice_number") and number_taken(number):
        raise refuse("invoice.number_taken", "invoice", "invoice_number", number)
    _refuse_percent_discount(merged)
    return merged


def with_amounts(document: dict[str, Any], paid: Decimal, obj: str) -> dict[str, Any]:
    """The document's lines priced and its ``amount`` / ``paid`` / ``outstanding`` set."""
    currency = str(document["currency_code"])
    priced = priced_lines(document.get("lines"), obj, currency)
    if priced.total - paid < 0:
        raise refuse("document.below_paid", obj, "lines", total=priced.total, paid=paid)
    return document | {
        "lines": priced.lines,
        "amount": money(priced.total, currency),
        "paid": money(paid, currency),
        "outstanding": money(priced.total - paid, currency),
        "discount_total": money(Decimal(0), currency),
        **_payment_state(priced.total, paid),
    }


def _payment_state(total: Decimal, paid: Decimal) -> dict[str, Any]:
    if paid <= 0:
        return {"payment_status": "unpaid", "status": 1, "v3_status": "draft"}
    if paid < total:
        return {"payment_status": "partial", "status": 8, "v3_status": "partial"}
    return {"payment_status": "paid", "status": 4, "v3_status": "paid"}


def _number(invoice: dict[str, Any], taken: Callable[[str], bool], nxt: Callable[[], str]) -> str:
    number = str(invoice.get("invoice_number") or "") or nxt()
    if taken(number):
        raise refuse("invoice.number_taken", "invoice", "invoice_number", number)
    return number


def _refuse_percent_discount(invoice: Mapping[str, Any]) -> None:
    value = invoice.get("discount_value")
    if value not in (None, "", 0, "0") and decimal_of(value, "invoice", "discount_value") != 0:
        raise refuse("invoice.discount_value", "invoice", "discount_value", value)


def _client_of(ident: Any, client_of: Lookup, obj: str, field: str) -> dict[str, Any]:
    if ident in (None, ""):
        raise refuse("field.required", obj, field)
    client = client_of(ident)
    if client is None or client.get("vis_state") == 1:
        raise refuse("client.unknown", "client", field, ident)
    return client


def _document_currency(doc: Mapping[str, Any], client: Mapping[str, Any], obj: str) -> str:
    return currency_code(doc.get("currency_code") or client.get("currency_code"), obj)


# ------------------------------------------------------------ credit notes


def checked_credit_note(body: Mapping[str, Any], *, client_of: Lookup) -> dict[str, Any]:
    note = writable(body, CREDIT_NOTE_FIELDS, "credit_note")
    client = _client_of(note.get("clientid"), client_of, "credit_note", "clientid")
    note["clientid"] = client["id"]
    note["create_date"] = iso_date(note.get("create_date"), "credit_note", "create_date")
    note["currency_code"] = _document_currency(note, client, "credit_note")
    return {"vis_state": 0, "notes": "", "credit_type": "goodwill"} | note


# --------------------------------------------------------------- payments


@dataclass(frozen=True, slots=True)
class Application:
    """A payment and what it moves: ``amount`` onto the invoice (out of the credit note
    ``credit`` for a payment of type Credit), ``excess`` into a new overpayment credit."""

    payment: dict[str, Any]
    invoice: dict[str, Any] | None
    credit: dict[str, Any] | None
    amount: Decimal
    excess: Decimal = Decimal(0)


#: a client id -> that client's credit notes (overpayment credits included)
Credits = Callable[[object], Iterable[dict[str, Any]]]


def checked_payment(
    body: Mapping[str, Any], *, invoice_of: Lookup, credits_of: Credits, today: str
) -> Application:
    """A payment on an invoice. One of type Credit draws on the client's credit
    (``drawn_credit``); any other keeps what exceeds the invoice's outstanding amount as
    an overpayment credit."""
    _refuse_not_written(body)
    payment = writable(body, PAYMENT_FIELDS, "payment")
    invoice = _open_invoice(payment.get("invoiceid"), invoice_of)
    amount, code = money_amount(payment.get("amount"), "payment", "amount")
    currency = str(invoice["currency_code"])
    if code is not None and code != currency:
        raise refuse(
            "payment.currency_mismatch", "payment", "amount.code", currency=currency, code=code
        )
    kind = _payment_type(payment)
    applied_part = _check_amount(amount, invoice, from_credit=kind == CREDIT)
    credit = drawn_credit(invoice, amount, credits_of) if kind == CREDIT else None
    payment |= {
        "invoiceid": invoice["id"],
        "clientid": invoice["customerid"],
        "amount": money(amount, currency),
        "date": iso_date(payment.get("date") or today, "payment", "date"),
        "type": kind,
        "creditid": credit["id"] if credit else None,
        "from_credit": credit is not None,
        "note": str(payment.get("note") or ""),
        "vis_state": 0,
        "overpaymentid": None,
    }
    return Application(payment, invoice, credit, applied_part, amount - applied_part)


def _refuse_not_written(body: Mapping[str, Any]) -> None:
    """``NOT_WRITTEN`` fields (the official SDK never sends them) are refused."""
    sent = sorted(NOT_WRITTEN & set(body))
    if sent:
        name = sent[0]
        raise refuse("payment.credit_field_written", "payment", name, body[name])


def drawn_credit(
    invoice: Mapping[str, Any], amount: Decimal, credits_of: Credits
) -> dict[str, Any]:
    """The credit a payment of type Credit draws on: the client's oldest live credit note
    in the invoice's currency with ``amount`` left (the sandbox's choice: see the module
    docstring); refused when no single credit holds that much."""
    currency = invoice["currency_code"]
    usable = sorted(
        (c for c in credits_of(invoice["customerid"]) if _usable(c, currency)),
        key=lambda c: int(c["id"]),
    )
    for credit in usable:
        if _credit_left(credit) >= amount:
            return credit
    held = sum((_credit_left(c) for c in usable), Decimal(0))
    raise refuse(
        "payment.credit_not_held", "payment", "amount", currency=currency, held=held, amount=amount
    )


def _usable(credit: Mapping[str, Any], currency: object) -> bool:
    live = credit.get("vis_state") != 1 and credit.get("currency_code") == currency
    return live and _credit_left(credit) > 0


def _credit_left(credit: Mapping[str, Any]) -> Decimal:
    return decimal_of(credit["outstanding"]["amount"], "credit_note", "outstanding")


def overpayment_credit(
    invoice: Mapping[str, Any], excess: Decimal, date_text: str, number: str
) -> dict[str, Any]:
    """The credit note FreshBooks creates for what a payment paid beyond the invoice."""
    currency = str(invoice["currency_code"])
    label = f"Overpayment: invoice #{invoice['invoice_number']}"
    note = {
        "clientid": invoice["customerid"],
        "create_date": date_text,
        "currency_code": currency,
        "credit_number": number,
        "credit_type": OVERPAYMENT,
        "description": label,
        "notes": "",
        "vis_state": 0,
        "lines": [{"name": label, "qty": "1", "unit_cost": money(excess, currency)}],
    }
    return with_amounts(note, Decimal(0), "credit_note")


def _open_invoice(ident: Any, invoice_of: Lookup) -> dict[str, Any]:
    if ident in (None, ""):
        raise refuse("field.required", "payment", "invoiceid")
    invoice = invoice_of(ident)
    if invoice is None or invoice.get("vis_state") == 1:
        raise refuse("invoice.unknown", "invoice", "invoiceid", ident)
    return invoice


def _check_amount(amount: Decimal, invoice: Mapping[str, Any], *, from_credit: bool) -> Decimal:
    """The part of ``amount`` that goes to the invoice: all of it up to what is still
    outstanding; a credit note cannot be applied beyond that."""
    outstanding = decimal_of(invoice["outstanding"]["amount"], "invoice", "outstanding")
    if amount <= 0:
        raise refuse("payment.not_positive", "payment", "amount", amount)
    if from_credit and amount > outstanding:
        raise refuse(
            "payment.credit_over_outstanding",
            "payment",
            "amount",
            amount=amount,
            outstanding=outstanding,
        )
    return min(amount, outstanding)


def _payment_type(payment: Mapping[str, Any]) -> str:
    """The payment's ``type`` (``Check`` when none is sent), one of ``PAYMENT_TYPES``."""
    kind = str(payment.get("type") or "Check")
    if kind not in PAYMENT_TYPES:
        raise refuse("payment.type_unknown", "payment", "type", kind, types=sorted(PAYMENT_TYPES))
    return kind


def applied(document: dict[str, Any], amount: Decimal, obj: str) -> dict[str, Any]:
    """``document`` with ``amount`` more paid (an invoice) or applied (a credit note)."""
    total = decimal_of(document["amount"]["amount"], obj, "amount")
    paid = decimal_of(document["paid"]["amount"], obj, "paid") + amount
    currency = str(document["currency_code"])
    return document | {
        "paid": money(paid, currency),
        "outstanding": money(total - paid, currency),
        **_payment_state(total, paid),
    }


def emails(clients: Iterable[Mapping[str, Any]], exclude: object = None) -> set[str]:
    return {
        str(c.get("email") or "").casefold()
        for c in clients
        if c.get("email") and c.get("id") != exclude
    }
