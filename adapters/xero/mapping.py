"""Canonical records ↔ Xero Accounting API JSON, driven by ``adapters/xero/mapping.toml``.

Where our source reference lives on the ledger record (read back by ``XeroLedger.find``):

=========== ============================================================================
kind        field
=========== ============================================================================
customer    ``ContactNumber`` (API-only, unique, ≤ 50): the reference itself, or
            ``syncledger:`` + 39 hex digits of its SHA-256 when longer
invoice     ``Reference``: ``syncledger-ref: <system/kind/id>`` (``InvoiceNumber`` keeps
            the document number)
credit_note ``Reference``, as for invoices
payment     ``Reference``: the payment's own reference, then ``syncledger-ref: …``; on an
            overpayment (a payment with credit left over) followed by ``applies <amount>``
            when part of it is allocated to the invoice (``find`` checks it landed)
refund      ``Reference`` of the refund Payment, as for payments
=========== ============================================================================

Items: a line with ``item_code`` carries ``ItemCode``, the ``Code`` of the Xero item it is
booked to (``XeroLedger`` resolves the canonical code, or an ``ItemID``, to it), besides the
``AccountCode`` / ``TaxType`` / amounts every line carries, so totals do not depend on the
item's defaults. Read back, each document line's ``ItemCode`` (or ``Item.Code``) is its
entry of ``LedgerRecord.line_items``; the negative discount line added to a credit note is
no document line and is left out. A new item (``item_body``) is a sold, untracked (service)
item whose ``SalesDetails`` book to the invoice lines' account (``[new_items]``).

A canonical payment is one Xero object: a ``Payment`` against the invoice when all of it is
applied, else an ``Overpayment`` of the whole amount (``RemainingCredit`` is its balance)
with the applied part allocated to the invoice. A refund is a ``Payment`` whose
``PaymentType`` is ARCREDITPAYMENT (of a credit note) or AROVERPAYMENTPAYMENT (of an
overpayment); Xero's GET answers name the credit under ``Invoice`` (xero-ruby#48).

Versions: Xero has no concurrency token; ``UpdatedDateUTC`` (``/Date(1541176290160+0000)/``,
milliseconds) is the version, compared by its instant.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import REF_MARKER
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.kit.wire_mapping import ref_note as ref_note
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.money import to_decimal
from syncledger.core.ports import LedgerItem, LedgerRecord

CONTACT_NUMBER_LIMIT = 50
ITEM_CODE_LIMIT = 30  # Item.Code maxLength; Item.Name is at most 50
ITEM_NAME_LIMIT = 50
_HASHED_PREFIX = "syncledger:"
_RECORD_REF = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+$")
_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TYPED = re.compile(r"^(\w+)\[(\w+)=([^\]]+)\]$")
_APPLIES = re.compile(re.escape(REF_MARKER) + r"\s*\S+\s+applies\s+(\d+(?:\.\d+)?)")
OVERPAYMENT_TYPE = "RECEIVE-OVERPAYMENT"
PAYMENT_TYPE = "ACCRECPAYMENT"
REFUND_TYPES = ("ARCREDITPAYMENT", "AROVERPAYMENTPAYMENT")

COLLECTION = {
    "customer": "Contacts",
    "invoice": "Invoices",
    "payment": "Payments",
    "credit_note": "CreditNotes",
    "refund": "Payments",
    "overpayment": "Overpayments",
    "bank_transaction": "BankTransactions",
    "item": "Items",
}
ID_FIELD = {
    "customer": "ContactID",
    "invoice": "InvoiceID",
    "payment": "PaymentID",
    "credit_note": "CreditNoteID",
    "refund": "PaymentID",
    "overpayment": "OverpaymentID",
    "bank_transaction": "OverpaymentID",  # we only create RECEIVE-OVERPAYMENTs
    "item": "ItemID",
}


def applies_in(text: object) -> Decimal | None:
    """The amount an overpayment's reference says is allocated to the invoice."""
    match = _APPLIES.search(text) if isinstance(text, str) else None
    return Decimal(match.group(1)) if match else None


def tax_key(tax_id: object) -> str | None:
    """A tax id as registries print it, compared ignoring case, spaces, dots and dashes."""
    if not isinstance(tax_id, str):
        return None
    key = "".join(ch for ch in tax_id.upper() if ch.isalnum())
    return key or None


def contact_number(external_ref: str) -> str:
    """The ``ContactNumber`` that carries ``external_ref`` (at most 50 characters)."""
    if len(external_ref) <= CONTACT_NUMBER_LIMIT:
        return external_ref
    digest = hashlib.sha256(external_ref.encode()).hexdigest()
    return _HASHED_PREFIX + digest[: CONTACT_NUMBER_LIMIT - len(_HASHED_PREFIX)]


def msdate(value: object) -> datetime | None:
    """Xero's ``/Date(ms[+zone])/`` (the milliseconds are UTC) as an aware datetime."""
    match = _MSDATE.match(value) if isinstance(value, str) else None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC) if match else None


def same_version(current: str | None, expected: str) -> bool:
    ours, theirs = msdate(current), msdate(expected)
    return current == expected if ours is None or theirs is None else ours == theirs


def places(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return places(value, 2)


# ------------------------------------------------------------------ mapping


@dataclass(frozen=True, slots=True)
class DocumentMapping:
    """How an invoice or a credit note is written."""

    type: str
    status: str
    fields: Mapping[str, tuple[str, ...]]
    reference_field: str
    account_code: str
    taxed_type: str
    untaxed_type: str
    unit_decimals: int
    discount_account: str | None  # credit notes: a negative line; invoices: None
    discount_description: str

    def is_discount_line(self, line: Mapping[str, Any]) -> bool:
        """The negative line that carries a credit note's discount (no document line)."""
        return (
            self.discount_account is not None
            and not _item_code_of(line)
            and str(line.get("AccountCode")) == self.discount_account
            and line.get("Description") == self.discount_description
            and to_decimal(line.get("LineAmount") or 0) < 0
        )


@dataclass(frozen=True, slots=True)
class NewItemMapping:
    """How ``create_item`` makes an item (``[new_items]``)."""

    account_code: str  # SalesDetails.AccountCode: the invoice lines' account
    tax_type: str | None  # SalesDetails.TaxType; None leaves the account's default
    purchased: bool  # IsPurchased


@dataclass(frozen=True, slots=True)
class XeroMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    customer_fields: Mapping[str, tuple[str, ...]]
    invoice: DocumentMapping
    credit_note: DocumentMapping
    payment_fields: Mapping[str, tuple[str, ...]]
    payment_account: str
    reference_field: Mapping[str, str]
    new_item: NewItemMapping

    def customer_body(self, customer: Customer, external_ref: str) -> dict[str, Any]:
        body = _fields(self.customer_fields, customer.model_dump(exclude_none=True))
        body[self.reference_field["customer"]] = contact_number(external_ref)
        return body

    def document_body(
        self,
        doc: Invoice | CreditNote,
        customer_ledger_id: str,
        external_ref: str,
        items: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """An invoice or a credit note as its kind's ``[invoice]`` / ``[credit_note]``
        table writes it. ``items``: each line's ``item_code`` → the ``Code`` of its Xero
        item."""
        spec = self.invoice if isinstance(doc, Invoice) else self.credit_note
        body = _fields(spec.fields, _document_values(doc))
        body |= {
            "Type": spec.type,
            "Status": spec.status,
            "Contact": {"ContactID": customer_ledger_id},
            "LineAmountTypes": "Exclusive",
            "LineItems": _lines(spec, doc, items or {}),
            spec.reference_field: ref_note(external_ref),
        }
        _check_total(doc, body)
        return body

    invoice_body = document_body
    credit_note_body = document_body

    def item_body(self, code: str) -> dict[str, Any]:
        """A sold, untracked (service) item ``code`` booked to the invoice lines' account."""
        sales = {"AccountCode": self.new_item.account_code}
        if self.new_item.tax_type:
            sales["TaxType"] = self.new_item.tax_type
        return {
            "Code": code,
            "Name": code[:ITEM_NAME_LIMIT],
            "IsSold": True,
            "IsPurchased": self.new_item.purchased,
            "SalesDetails": sales,
        }

    def record(self, kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
        """``to_record``, knowing which credit-note line is the discount's."""
        return to_record(kind, raw, pseudo_line=self.credit_note.is_discount_line)

    def payment_body(
        self,
        payment: Payment,
        invoice_ledger_id: str,
        external_ref: str,
        rate: Decimal | None = None,
    ) -> dict[str, Any]:
        """``rate``: the ``CurrencyRate`` of a payment in a foreign currency (None in the
        organisation's own: Xero takes none there)."""
        body = _fields(self.payment_fields, {"amount": payment.amount, "paid_on": payment.paid_on})
        body["Invoice"] = {"InvoiceID": invoice_ledger_id}
        body["Account"] = {"Code": self.payment_account}
        body[self.reference_field["payment"]] = _reference(payment.reference, external_ref)
        return body | _rate(rate)

    def overpayment_body(
        self,
        payment: Payment,
        customer_ledger_id: str,
        external_ref: str,
        applied: Decimal,
        rate: Decimal | None = None,
    ) -> dict[str, Any]:
        """A RECEIVE-OVERPAYMENT bank transaction receiving all of ``payment``, one NoTax
        line; ``applied`` (to be allocated to the invoice next) goes in the reference."""
        reference = _reference(payment.reference, external_ref)
        fields = _fields(self.payment_fields, {"paid_on": payment.paid_on}) | _rate(rate)
        return fields | {
            "Type": OVERPAYMENT_TYPE,
            "Contact": {"ContactID": customer_ledger_id},
            "BankAccount": {"Code": self.payment_account},
            "CurrencyCode": payment.currency,
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {"Description": _received(payment, applied), "LineAmount": payment.amount}
            ],
            self.reference_field["payment"]: reference + (f" applies {applied}" if applied else ""),
        }

    def refund_body(
        self,
        refund: Refund,
        credit_kind: str,
        credit_ledger_id: str,
        external_ref: str,
        rate: Decimal | None = None,
    ) -> dict[str, Any]:
        """A Payment out of a credit note (``CreditNote``) or an overpayment
        (``Overpayment``), from the bank account payments are received into; ``rate`` as
        for ``payment_body``."""
        body = _fields(
            self.payment_fields, {"amount": refund.amount, "paid_on": refund.refunded_on}
        )
        if credit_kind == "credit_note":
            body["CreditNote"] = {"CreditNoteID": credit_ledger_id}
        else:
            body["Overpayment"] = {"OverpaymentID": credit_ledger_id}
        body["Account"] = {"Code": self.payment_account}
        body[self.reference_field["payment"]] = _reference(refund.reference, external_ref)
        return body | _rate(rate)


def _rate(rate: Decimal | None) -> dict[str, Decimal]:
    return {} if rate is None else {"CurrencyRate": rate}


def _reference(own: str | None, external_ref: str) -> str:
    return f"{own} {ref_note(external_ref)}" if own else ref_note(external_ref)


def _received(payment: Payment, applied: Decimal) -> str:
    what = f"Payment {payment.reference}" if payment.reference else "Payment"
    if applied:
        left = payment.amount - applied
        return f"{what}: {applied} applied to invoice {payment.invoice_id}, {left} held as credit"
    return f"{what} for invoice {payment.invoice_id}, held as credit"


def _document_values(doc: Invoice | CreditNote) -> dict[str, Any]:
    """The canonical values a document's fields table maps (an invoice's due date too)."""
    values = {
        "number": doc.number,
        "issue_date": doc.issue_date,
        "currency": doc.currency,
        "exchange_rate": doc.exchange_rate,
    }
    return values | ({"due_date": doc.due_date} if isinstance(doc, Invoice) else {})


def _lines(
    spec: DocumentMapping, doc: Invoice | CreditNote, items: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One LineItem per canonical line (the invoice discount spread over them), plus a
    credit note's negative discount line."""
    if spec.discount_account is None:
        discounts = _spread(doc, spec)
    else:
        discounts = [Decimal(0)] * len(doc.lines)
    lines = [
        _line(spec, ln, d, _item_code(ln, items))
        for ln, d in zip(doc.lines, discounts, strict=True)
    ]
    if spec.discount_account is not None and doc.discount:
        lines.append(_discount_line(spec, doc.discount))
    return lines


def _item_code(line: InvoiceLine, items: Mapping[str, str]) -> str | None:
    """The Xero ``Code`` of the item ``line`` names (the adapter resolved every one)."""
    return None if line.item_code is None else items[line.item_code]


def _line(
    spec: DocumentMapping, line: InvoiceLine, discount: Decimal, item_code: str | None
) -> dict[str, Any]:
    quantity, unit = places(line.quantity, 4), places(line.unit_price, spec.unit_decimals)
    item: dict[str, Any] = {
        "Description": line.description,
        "Quantity": quantity,
        "UnitAmount": unit,
        "LineAmount": cents(quantity * unit - discount),
        "AccountCode": spec.account_code,
        "TaxType": spec.taxed_type if line.tax_amount else spec.untaxed_type,
        "TaxAmount": cents(line.tax_amount),
    }
    item |= {"ItemCode": item_code} if item_code is not None else {}
    return item | ({"DiscountAmount": discount} if discount else {})


def _spread(doc: Invoice | CreditNote, spec: DocumentMapping) -> list[Decimal]:
    """The document discount as DiscountAmount per line, first lines first."""
    left = doc.discount
    shares: list[Decimal] = []
    for line in doc.lines:
        gross = places(line.quantity, 4) * places(line.unit_price, spec.unit_decimals)
        share = min(left, max(gross, Decimal(0)))
        shares.append(share)
        left -= share
    if left > 0:
        raise PermanentLedgerError(
            f"{doc.kind} {doc.number}: the discount {doc.discount} is larger than its lines: fix "
            "the discount in the source",
            code="syncledger.discount_exceeds_lines",
        )
    return shares


def _discount_line(spec: DocumentMapping, discount: Decimal) -> dict[str, Any]:
    amount = -cents(discount)
    return {
        "Description": spec.discount_description,
        "Quantity": Decimal(1),
        "UnitAmount": amount,
        "LineAmount": amount,
        "AccountCode": spec.discount_account,
        "TaxType": spec.untaxed_type,
        "TaxAmount": Decimal("0.00"),
    }


def xero_total(body: Mapping[str, Any]) -> Decimal:
    """What Xero will compute as ``Total`` for this (tax-exclusive) document body."""
    lines: Sequence[Mapping[str, Any]] = body.get("LineItems", [])
    amounts = (to_decimal(ln["LineAmount"]) + to_decimal(ln["TaxAmount"]) for ln in lines)
    return sum(amounts, Decimal(0))


def _check_total(doc: Invoice | CreditNote, body: Mapping[str, Any]) -> None:
    kit.check_total(doc, xero_total(body), "Xero")


def _fields(table: Mapping[str, tuple[str, ...]], values: Mapping[str, Any]) -> dict[str, Any]:
    return kit.fields_body(table, values, _set_path)


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    kit.set_path(body, path, value, _child)


def _child(node: dict[str, Any], part: str) -> dict[str, Any]:
    """The object under ``part``; ``Name[Key=value]`` is the item of list ``Name`` whose
    ``Key`` is ``value`` (made when missing)."""
    typed = _TYPED.match(part)
    if typed is None:
        return kit.nested(node, part)
    name, key, wanted = typed.groups()
    items: list[dict[str, Any]] = node.setdefault(name, [])
    found = next((item for item in items if item.get(key) == wanted), None)
    if found is None:
        found = {key: wanted}
        items.append(found)
    return found


# -------------------------------------------------------------------- load


def load_mapping(path: Path | None = None) -> XeroMapping:
    """The mapping at ``path``, or the default ``adapters/xero/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.xero", "Xero", path, _mapping_from)


def _mapping_from(raw: Mapping[str, Any], digest: str) -> XeroMapping:
    kinds = ("customer", "invoice", "credit_note", "payment")
    return XeroMapping(
        version=str(raw["version"]),
        digest=digest,
        customer_fields=kit.paths(raw["customer"]["fields"]),
        invoice=_document_mapping(raw["invoice"], negative_discount_line=False),
        credit_note=_document_mapping(raw["credit_note"], negative_discount_line=True),
        payment_fields=kit.paths(raw["payment"]["fields"]),
        payment_account=str(raw["payment"]["account_code"]),
        reference_field={k: str(raw[k]["reference"]["field"]) for k in kinds},
        new_item=_new_item_mapping(raw.get("new_items", {}), raw["invoice"]["lines"]),
    )


def _new_item_mapping(raw: Mapping[str, Any], lines: Mapping[str, Any]) -> NewItemMapping:
    """``[new_items]``; the account is always the invoice lines' own."""
    unknown = sorted(set(raw) - {"tax_type", "purchased"})
    if unknown:
        raise ValueError(f"[new_items] takes no key {unknown[0]!r}")
    tax_type = raw.get("tax_type", lines["taxed_type"])
    return NewItemMapping(
        account_code=str(lines["account_code"]),
        tax_type=str(tax_type) if tax_type else None,
        purchased=bool(raw.get("purchased", False)),
    )


def _document_mapping(raw: Mapping[str, Any], *, negative_discount_line: bool) -> DocumentMapping:
    lines, discount = raw["lines"], raw.get("discount", {})
    return DocumentMapping(
        type=str(raw["type"]),
        status=str(raw["status"]),
        fields=kit.paths(raw["fields"]),
        reference_field=str(raw["reference"]["field"]),
        account_code=str(lines["account_code"]),
        taxed_type=str(lines["taxed_type"]),
        untaxed_type=str(lines["untaxed_type"]),
        unit_decimals=int(lines["unit_decimals"]),
        discount_account=str(discount["account_code"]) if negative_discount_line else None,
        discount_description=str(discount.get("description", "Discount")),
    )


# ----------------------------------------------------------------- ledger → canonical


def to_record(
    kind: str,
    raw: Mapping[str, Any],
    *,
    pseudo_line: Callable[[Mapping[str, Any]], bool] | None = None,
) -> LedgerRecord:
    """A Xero Contact / Invoice / Payment / CreditNote as a ``LedgerRecord``; a document's
    ``line_items`` leave out the lines ``pseudo_line`` says the adapter added."""
    version = raw.get("UpdatedDateUTC")
    id_field = "OverpaymentID" if kind == "payment" and "PaymentID" not in raw else ID_FIELD[kind]
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw[id_field]),
        "version": None if version is None else str(version),
        "updated_at": msdate(version),
        "raw": dict(raw),
    }
    parts = {
        "customer": _customer_parts,
        "invoice": _invoice_parts,
        "credit_note": _credit_note_parts,
        "payment": _payment_parts,
        "refund": _refund_parts,
    }[kind](raw)
    if kind in ("invoice", "credit_note"):
        parts["line_items"] = line_items(raw, pseudo_line)
    if kind in ("payment", "credit_note", "refund"):
        parts["applied_to"] = applications(kind, raw)
    return LedgerRecord(**common, **parts)


def applications(kind: str, raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    """What Xero holds the record applied to (``LedgerRecord.applied_to``): a credit note's
    and an overpayment's ``Allocations`` (OpenAPI ``Allocation``: ``Invoice``, ``Amount``)
    by invoice; a Payment's ``Invoice`` and ``Amount``; a refund Payment's credit (under
    ``CreditNote`` / ``Overpayment``, or ``Invoice`` in a GET answer, xero-ruby#48) and
    ``Amount``. A deleted payment or refund is applied to nothing."""
    if raw.get("Status") == "DELETED":
        return ()
    if kind == "credit_note" or "PaymentID" not in raw:  # a credit note or an overpayment
        totals: dict[str, Decimal] = {}
        for allocation in raw.get("Allocations") or []:
            invoice = str((allocation.get("Invoice") or {}).get("InvoiceID", ""))
            totals[invoice] = totals.get(invoice, Decimal(0)) + to_decimal(allocation["Amount"])
        return tuple(totals.items())
    target = _credit_id(raw) if kind == "refund" else (raw.get("Invoice") or {}).get("InvoiceID")
    amount = raw.get("Amount")
    return () if not target or amount is None else ((str(target), to_decimal(amount)),)


def _credit_id(raw: Mapping[str, Any]) -> Any:
    for field, id_field in (
        ("CreditNote", "CreditNoteID"),
        ("Overpayment", "OverpaymentID"),
        ("Invoice", "InvoiceID"),
    ):
        ident = (raw.get(field) or {}).get(id_field)
        if ident:
            return ident
    return None


def line_items(
    raw: Mapping[str, Any], pseudo_line: Callable[[Mapping[str, Any]], bool] | None = None
) -> tuple[str | None, ...]:
    """The item ``Code`` each document line is booked to (None: no item), in order."""
    lines = [ln for ln in raw.get("LineItems") or [] if isinstance(ln, Mapping)]
    if lines and pseudo_line is not None and pseudo_line(lines[-1]):
        lines = lines[:-1]
    return tuple(_item_code_of(ln) or None for ln in lines)


def _item_code_of(line: Mapping[str, Any]) -> str:
    item = line.get("Item")
    nested = item.get("Code") if isinstance(item, Mapping) else None
    return str(line.get("ItemCode") or nested or "")


def to_item(raw: Mapping[str, Any]) -> LedgerItem:
    """A Xero Item as a ``LedgerItem`` (``code`` is its ``Code``)."""
    name = raw.get("Name")
    return LedgerItem(str(raw["ItemID"]), str(raw["Code"]), None if name is None else str(name))


def _customer_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    number = raw.get("ContactNumber")
    receivable = (raw.get("Balances") or {}).get("AccountsReceivable") or {}
    status = {"ACTIVE": "active", "ARCHIVED": "inactive", "GDPRREQUEST": "erased"}
    return {
        "external_ref": number if isinstance(number, str) and _RECORD_REF.match(number) else None,
        "name": kit.text(raw.get("Name")),
        "currency": kit.text(raw.get("DefaultCurrency")),
        "balance": kit.amount(receivable.get("Outstanding")),
        "status": status.get(str(raw.get("ContactStatus", "ACTIVE")), "active"),
    }


def _document_common(raw: Mapping[str, Any], number_field: str) -> dict[str, Any]:
    return {
        "external_ref": ref_in(raw.get("Reference")),
        "name": kit.text(raw.get(number_field)),
        "customer_ledger_id": kit.text((raw.get("Contact") or {}).get("ContactID")),
        "currency": kit.text(raw.get("CurrencyCode")),
        "total": kit.amount(raw.get("Total")),
        "tax": kit.amount(raw.get("TotalTax")),
    }


def _invoice_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    parts = _document_common(raw, "InvoiceNumber")
    balance = kit.amount(raw.get("AmountDue"))
    status = _status(raw, parts["total"], balance)
    return parts | {"balance": balance, "status": status, "due_date": _due_date(raw)}


def _due_date(raw: Mapping[str, Any]) -> date | None:
    """An invoice's ``DueDate`` (``/Date(ms+zone)/``, the day at 00:00 UTC) or, failing
    that, its ``DueDateString`` (``YYYY-MM-DDT00:00:00``); None when neither reads."""
    moment = msdate(raw.get("DueDate"))
    if moment is not None:
        return moment.date()
    text = raw.get("DueDateString")
    try:
        return date.fromisoformat(text[:10]) if isinstance(text, str) else None
    except ValueError:
        return None


def _credit_note_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    parts = _document_common(raw, "CreditNoteNumber")
    balance = kit.amount(raw.get("RemainingCredit"))
    return parts | {"balance": balance, "status": _status(raw, parts["total"], balance)}


def _status(raw: Mapping[str, Any], total: Decimal | None, balance: Decimal | None) -> str:
    status = str(raw.get("Status", ""))
    fixed = {"VOIDED": "void", "DELETED": "deleted", "DRAFT": "draft", "SUBMITTED": "draft"}
    if status in fixed:
        return fixed[status]
    if status == "PAID" or balance == 0:
        return "paid"
    return "open" if balance is None or balance == total else "partially_paid"


def _payment_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A Payment against an invoice (all of it applied) or an Overpayment (its
    ``RemainingCredit`` is the credit not yet applied nor refunded)."""
    if "PaymentID" not in raw:
        return _overpayment_parts(raw)
    return _paid_out(raw, raw.get("Invoice") or {}) | {
        "balance": Decimal("0.00"),
        "status": "deleted" if raw.get("Status") == "DELETED" else "applied",
    }


def _overpayment_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    reference = str(raw.get("Reference") or "")
    own = reference.split(REF_MARKER, 1)[0].strip()
    return {
        "external_ref": ref_in(reference),
        "name": own or None,
        "customer_ledger_id": kit.text((raw.get("Contact") or {}).get("ContactID")),
        "currency": kit.text(raw.get("CurrencyCode")),
        "total": kit.amount(raw.get("Total")),
        "balance": kit.amount(raw.get("RemainingCredit")),
        "status": "void" if raw.get("Status") == "VOIDED" else "applied",
    }


def _refund_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A refund Payment: the credit is under ``CreditNote`` / ``Overpayment`` in a PUT
    answer and under ``Invoice`` in a GET answer."""
    credit = raw.get("CreditNote") or raw.get("Overpayment") or raw.get("Invoice") or {}
    status = "deleted" if raw.get("Status") == "DELETED" else "refunded"
    return _paid_out(raw, credit) | {"status": status}


def _paid_out(raw: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    reference = str(raw.get("Reference") or "")
    own = reference.split(REF_MARKER, 1)[0].strip()
    return {
        "external_ref": ref_in(reference),
        "name": own or None,
        "customer_ledger_id": kit.text((document.get("Contact") or {}).get("ContactID")),
        "currency": kit.text(document.get("CurrencyCode")),
        "total": kit.amount(raw.get("Amount")),
    }


def allocated_to(overpayment: Mapping[str, Any], invoice_id: str | None = None) -> Decimal:
    """What an overpayment has allocated (to ``invoice_id``, or to any invoice)."""
    return sum(
        (
            to_decimal(a.get("Amount") or 0)
            for a in overpayment.get("Allocations") or []
            if invoice_id is None
            or str((a.get("Invoice") or {}).get("InvoiceID", "")).lower() == invoice_id.lower()
        ),
        Decimal(0),
    )
