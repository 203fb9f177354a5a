"""Canonical records ↔ Zoho Books API v3 JSON, driven by ``adapters/zoho/mapping.toml``.

Where our source reference lives on the ledger record (read back by ``ZohoLedger.find``):

============ ============================================ ===========================
kind         field                                        looked up with
============ ============================================ ===========================
customer     ``notes``: lines ``syncledger-ref: <ref>``   ``search_text`` (names and
             and ``syncledger-key: <key>``                notes) with the key
invoice      ``reference_number`` (≤ 100 characters)      ``reference_number=``
credit note  ``reference_number``                         ``reference_number=``
payment      ``reference_number``                         ``reference_number=``
refund       ``reference_number`` of the credit note      the credit's refund list
             refund / payment refund                      (``REFUNDS``), compared
============ ============================================ ===========================

A refund lives under its credit (``/creditnotes/{id}/refunds/{refund_id}``,
``/customerpayments/{id}/refunds/{refund_id}``) and its id alone does not find it, so its
ledger id names the credit too: ``credit_note/<creditnote_id>/<creditnote_refund_id>`` or
``payment/<payment_id>/<payment_refund_id>`` (``refund_ledger_id``).

Tax ids: Zoho's contact list cannot be filtered on a tax number (``gst_no``,
``vat_reg_no``, ``tax_reg_no`` exist per edition only) and its rows omit them, so the
contact notes also carry ``syncledger-tax: <tax id without spaces, dots or dashes>``,
which ``search_text`` finds; a mapping that names the edition's field
(``[customer.fields] tax_id = "vat_reg_no"``) writes it there as well.

A reference longer than 100 characters is stored as ``syncledger:`` + the first 40 hex
digits of its SHA-256 (``reference_token``). The contact key is ``sl`` + 24 hex digits of
the reference's SHA-256 (``ref_key``): a substring search for ``C-1`` would also find
``C-10``, a search for the key finds only its own contact.

Versions: Zoho has no concurrency token; ``last_modified_time`` has one-second
resolution, so two changes within a second would share it. The version is
``<last_modified_time>#<digest>``, the digest covering the fields that both list and
single-record answers carry (``VERSION_FIELDS``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import REF_MARKER
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.wire_dates import iso_day
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.money import minor_unit, quantize, to_decimal
from syncledger.core.ports import LedgerRecord

#: the refusal of a credit note carrying a discount (``refuse_credit_note_discount``)
CREDIT_NOTE_DISCOUNT = "syncledger.credit_note_discount_unsupported"
KEY_MARKER = "syncledger-key:"
TAX_MARKER = "syncledger-tax:"
REFERENCE_LIMIT = 100
ZOHO_TIME = "%Y-%m-%dT%H:%M:%S%z"
TAX = kit.Marker(TAX_MARKER)
#: canonical kind → (resource path, single key, list key, id field, number field)
RESOURCES: dict[str, tuple[str, str, str, str, str]] = {
    "customer": ("contacts", "contact", "contacts", "contact_id", "contact_name"),
    "invoice": ("invoices", "invoice", "invoices", "invoice_id", "invoice_number"),
    "payment": ("customerpayments", "payment", "customerpayments", "payment_id", "payment_number"),
    "credit_note": (
        "creditnotes",
        "creditnote",
        "creditnotes",
        "creditnote_id",
        "creditnote_number",
    ),
}
#: credit kind → (credit's resource path, single key, list key, refund id field)
REFUNDS: dict[str, tuple[str, str, str, str]] = {
    "credit_note": (
        "creditnotes", "creditnote_refund", "creditnote_refunds", "creditnote_refund_id",
    ),
    "payment": ("customerpayments", "payment_refund", "payment_refunds", "payment_refund_id"),
}  # fmt: skip
#: credit kind → the field holding the credit left to apply or refund
CREDIT_LEFT = {"credit_note": "balance", "payment": "unused_amount"}
VERSION_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("contact_name", "company_name", "status", "currency_code"),
    "invoice": (
        "invoice_number", "reference_number", "customer_id", "status", "date", "due_date",
        "currency_code", "total", "balance",
    ),
    "payment": ("reference_number", "customer_id", "date", "amount", "unused_amount"),
    "refund": ("reference_number", "date", "refund_mode", "amount_fcy", "amount"),
    "credit_note": (
        "creditnote_number", "reference_number", "customer_id", "status", "date", "total",
        "balance",
    ),
}  # fmt: skip
INVOICE_STATUS = {
    "draft": "open",
    "sent": "open",
    "viewed": "open",
    "overdue": "open",
    "unpaid": "open",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "void": "void",
}


def ref_note(external_ref: str, tax_id: str | None = None) -> str:
    """The contact notes carrying our reference, a fixed-length key of it that
    ``search_text`` finds without matching longer references that start alike, and the
    customer's tax id as ``tax_key`` prints it (found by ``search_text`` too)."""
    note = f"{REF_MARKER} {external_ref}\n{KEY_MARKER} {ref_key(external_ref)}"
    key = tax_key(tax_id)
    return note if key is None else f"{note}\n{TAX.note(key)}"


def tax_key(tax_id: object) -> str | None:
    """A tax id as registries compare them: upper case, no spaces, dots or dashes."""
    if not isinstance(tax_id, str):
        return None
    key = "".join(ch for ch in tax_id.upper() if ch.isalnum())
    return key or None


#: the tax id key a contact's notes carry
tax_in = TAX.found_in


def refund_ledger_id(credit_kind: str, credit_id: str, refund_id: str) -> str:
    return f"{credit_kind}/{credit_id}/{refund_id}"


def split_refund_id(ledger_id: str) -> tuple[str, str, str] | None:
    """``(credit kind, credit id, refund id)`` of a refund's ledger id; None if it is not
    one."""
    parts = ledger_id.split("/")
    if len(parts) != 3 or parts[0] not in REFUNDS or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def ref_key(external_ref: str) -> str:
    return "sl" + hashlib.sha256(external_ref.encode()).hexdigest()[:24]


def reference_token(external_ref: str) -> str:
    """What we store in ``reference_number`` for ``external_ref`` (≤ 100 characters)."""
    if len(external_ref) <= REFERENCE_LIMIT:
        return external_ref
    return "syncledger:" + hashlib.sha256(external_ref.encode()).hexdigest()[:40]


# ------------------------------------------------------------ organisation


@dataclass(frozen=True, slots=True)
class ZohoTax:
    tax_id: str
    name: str
    percentage: Decimal

    def on(self, net: Decimal, currency: str) -> Decimal:
        """The tax Zoho computes on ``net``: rounded per line, half up."""
        exact = net * self.percentage / 100
        return exact.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class OrgSettings:
    """What an organisation's settings add to a mapping: its base currency, the ids of
    its currencies and its taxes (``/settings/currencies``, ``/settings/taxes``)."""

    base_currency: str
    currency_ids: Mapping[str, str]
    taxes: tuple[ZohoTax, ...]

    def currency_id(self, code: str) -> str:
        try:
            return self.currency_ids[code]
        except KeyError:
            raise PermanentLedgerError(
                f"currency {code} is not enabled in this Zoho Books organisation: add it "
                "under Settings > Currencies",
                code="syncledger.currency_not_enabled",
            ) from None

    def tax_for(self, line: InvoiceLine, net: Decimal, currency: str, where: str) -> ZohoTax:
        matching = [t for t in self.taxes if t.on(net, currency) == line.tax_amount]
        if not matching:
            implied = (line.tax_amount * 100 / net).quantize(Decimal("0.001")) if net else "?"
            names = ", ".join(f"{t.name} {t.percentage}%" for t in self.taxes) or "none"
            raise PermanentLedgerError(
                f"{where} line {line.description!r}: tax {line.tax_amount} on {net} "
                f"(about {implied}%) matches none of the organisation's taxes ({names}): add "
                "that rate in Zoho Books or fix the line's tax in the source",
                code="syncledger.tax_unmapped",
            )
        return min(matching, key=lambda t: abs(net * t.percentage / 100 - line.tax_amount))


# ----------------------------------------------------------------- mapping


@dataclass(frozen=True, slots=True)
class ZohoMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]  # kind → canonical → Zoho paths
    person: Mapping[str, str]  # canonical → contact person field
    options: Mapping[str, Mapping[str, Any]]  # kind → scalar options

    def customer_body(
        self, customer: Customer, external_ref: str, currency_id: str
    ) -> dict[str, Any]:
        body = self._fields("customer", customer.model_dump(exclude_none=True))
        person = {
            field: getattr(customer, name)
            for name, field in self.person.items()
            if getattr(customer, name)
        }
        body["contact_persons"] = [person | {"is_primary_contact": True}] if person else []
        body["contact_type"] = self.options["customer"]["contact_type"]
        body["customer_sub_type"] = self.options["customer"]["customer_sub_type"]
        body["currency_id"] = currency_id
        body["notes"] = ref_note(external_ref, customer.tax_id)
        return body

    def document_body(
        self,
        doc: Invoice | CreditNote,
        customer_id: str,
        external_ref: str,
        org: OrgSettings,
        items: Sequence[str | None] = (),
    ) -> dict[str, Any]:
        """An invoice's or a credit note's body (one shape, its kind's fields);
        ``items``: the Zoho ``item_id`` each line is booked to (None: the default)."""
        return self._document(doc.kind, doc, customer_id, external_ref, org, items)

    invoice_body = document_body
    credit_note_body = document_body

    def payment_body(
        self,
        payment: Payment,
        customer_id: str,
        invoice_id: str,
        external_ref: str,
        exchange_rate: Decimal | None,
        applied: Decimal | None = None,
    ) -> dict[str, Any]:
        """The whole amount received; ``applied`` of it (None: all) goes to the invoice and
        the rest stays the payment's ``unused_amount`` (the customer's excess payment)."""
        values = payment.model_dump(exclude_none=True) | {"amount": payment.amount}
        body = self._fields("payment", values)
        body["amount"] = quantize(payment.amount, payment.currency)
        body["customer_id"] = customer_id
        body["payment_mode"] = self.options["payment"]["payment_mode"]
        if applied is not None:
            part = kit.applied_part(payment, quantize(applied, payment.currency))
        else:
            part = body["amount"]
        body["invoices"] = [{"invoice_id": invoice_id, "amount_applied": part}] if part else []
        body["reference_number"] = reference_token(external_ref)
        if exchange_rate is not None:
            body["exchange_rate"] = exchange_rate
        return body

    def refund_body(
        self,
        refund: Refund,
        external_ref: str,
        from_account_id: str,
        exchange_rate: Decimal | None,
    ) -> dict[str, Any]:
        """``POST /creditnotes/{id}/refunds`` or ``/customerpayments/{id}/refunds``."""
        body: dict[str, Any] = {
            "date": refund.refunded_on.isoformat(),
            "amount": quantize(refund.amount, refund.currency),
            "refund_mode": self.options["refund"]["refund_mode"],
            "from_account_id": from_account_id,
            "reference_number": reference_token(external_ref),
        }
        if refund.reference:
            body["description"] = refund.reference
        if exchange_rate is not None:
            body["exchange_rate"] = exchange_rate
        return body

    @property
    def refund_account(self) -> str | None:
        """The bank or cash account refunds are paid from, if the mapping names one."""
        return str(self.options["refund"]["from_account_id"]) or None

    @property
    def default_item(self) -> str | None:
        """The item lines naming none are booked to (``[invoice.lines] item_id``)."""
        return str(self.options["invoice"].get("item_id") or "") or None

    @property
    def default_item_name(self) -> str:
        """The item lines naming none are booked to when ``[invoice.lines] item_id`` is
        empty (``[invoice.lines] item_name``): found by name, else created."""
        return str(self.options["invoice"]["item_name"])

    @property
    def new_item_account(self) -> str | None:
        """The income account new items are booked to (``[new_items] account_id``)."""
        return str(self.options["new_items"]["account_id"]) or None

    @property
    def tax_fields(self) -> tuple[str, ...]:
        """The contact fields the mapping writes the customer's tax id to."""
        return self.fields["customer"].get("tax_id", ())

    def uses_our_number(self, kind: str) -> bool:
        return bool(self.options[kind].get("use_our_number"))

    @property
    def mark_sent(self) -> bool:
        return bool(self.options["invoice"].get("mark_sent"))

    # ------------------------------------------------------------- parts

    def _document(
        self,
        kind: str,
        doc: Invoice | CreditNote,
        customer_id: str,
        external_ref: str,
        org: OrgSettings,
        items: Sequence[str | None],
    ) -> dict[str, Any]:
        where = f"{kind.replace('_', ' ')} {doc.number}"
        if isinstance(doc, CreditNote):
            refuse_credit_note_discount(doc)
        values = _document_values(doc, self.uses_our_number(kind))
        body = self._fields(kind, values)
        body["customer_id"] = customer_id
        body["currency_id"] = org.currency_id(doc.currency)
        body["reference_number"] = reference_token(external_ref)
        booked = list(items) or [None] * len(doc.lines)
        body["line_items"] = [
            self._line(ln, doc.currency, org, where, item_id)
            for ln, item_id in zip(doc.lines, booked, strict=True)
        ]
        if kind == "invoice":
            _check_items(body["line_items"], where)
            body |= self._discount(doc)
        _check_rate(doc, org, where, body)
        _check_total(doc, body, org, where)
        return body

    def _line(
        self, line: InvoiceLine, currency: str, org: OrgSettings, where: str, item_id: str | None
    ) -> dict[str, Any]:
        net = quantize(line.net, currency)
        item: dict[str, Any] = {
            "name": line.description[:100],
            "description": line.description,
            "rate": line.unit_price,
            "quantity": line.quantity,
        }
        item_id = item_id or self.default_item
        if item_id:
            item["item_id"] = item_id
        if line.tax_amount != 0:
            item["tax_id"] = self._allowed(org).tax_for(line, net, currency, where).tax_id
        return item

    def _allowed(self, org: OrgSettings) -> OrgSettings:
        allowed = set(self.options["invoice"].get("allowed_taxes") or ())
        if not allowed:
            return org
        taxes = tuple(t for t in org.taxes if t.tax_id in allowed)
        return OrgSettings(org.base_currency, org.currency_ids, taxes)

    def _discount(self, doc: Invoice | CreditNote) -> dict[str, Any]:
        if doc.discount == 0:
            return {}
        options = self.options["invoice"]
        return {
            "discount": quantize(doc.discount, doc.currency),
            "discount_type": options["discount_type"],
            "is_discount_before_tax": bool(options["is_discount_before_tax"]),
        }

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return kit.fields_body(self.fields[kind], values)


def refuse_credit_note_discount(note: CreditNote) -> None:
    """Zoho's credit-note schema has no document discount (``discount``,
    ``discount_type``, ``is_discount_before_tax`` are invoice fields only), and no other
    documented construct takes an amount off a credit note after tax; so a credit note
    with a discount is refused before anything is sent, never sent without it."""
    if note.discount != 0:
        raise PermanentLedgerError(
            f"credit note {note.number}: Zoho Books credit notes take no document discount "
            f"(its API documents discount fields on invoices only), so its {note.discount} "
            f"{note.currency} discount cannot be sent and the credit would total "
            f"{note.total + note.discount} in Zoho, not {note.total}: record it in Zoho Books "
            "by hand, or issue it from the source without a discount",
            code=CREDIT_NOTE_DISCOUNT,
        )


def _check_items(lines: Sequence[Mapping[str, Any]], where: str) -> None:
    """Zoho's invoice schema requires ``line_items[].item_id`` (the adapter books every
    line to an item before it maps a document)."""
    if any(not line.get("item_id") for line in lines):
        raise PermanentLedgerError(
            f"{where}: a line has no item, and Zoho Books requires one on every invoice "
            "line: set [invoice.lines] item_id or item_name in the Zoho mapping",
            code="syncledger.item_required",
        )


def _document_values(doc: Invoice | CreditNote, our_number: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "issue_date": doc.issue_date,
        "due_date": getattr(doc, "due_date", None),
        "exchange_rate": doc.exchange_rate,
    }
    return values | ({"number": doc.number} if our_number else {})


def _check_rate(
    doc: Invoice | CreditNote, org: OrgSettings, where: str, body: dict[str, Any]
) -> None:
    if doc.currency == org.base_currency:
        body.pop("exchange_rate", None)
        return
    if doc.exchange_rate is None or doc.exchange_rate <= 0:
        raise PermanentLedgerError(
            f"{where} is in {doc.currency} but the organisation's base currency is "
            f"{org.base_currency} and the source gives no exchange rate: add the rate to the "
            "source record (syncledger never assumes 1)",
            code="syncledger.exchange_rate_missing",
        )


def zoho_total(body: Mapping[str, Any], org: OrgSettings, currency: str) -> Decimal:
    """What Zoho will compute as the total of this document body."""
    taxes = {t.tax_id: t for t in org.taxes}
    total = Decimal(0)
    for item in body["line_items"]:
        net = quantize(to_decimal(item["rate"]) * to_decimal(item["quantity"]), currency)
        tax = taxes[item["tax_id"]].on(net, currency) if item.get("tax_id") else Decimal(0)
        total += net + tax
    return total - to_decimal(body.get("discount", 0))


def _check_total(
    doc: Invoice | CreditNote, body: Mapping[str, Any], org: OrgSettings, where: str
) -> None:
    kit.check_total(doc, zoho_total(body, org, doc.currency), "Zoho Books", where=where)


# ------------------------------------------------------------------ loading


def load_mapping(path: Path | None = None) -> ZohoMapping:
    """The mapping at ``path``, or the default ``adapters/zoho/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.zoho", "Zoho Books", path, _mapping_from)


def _mapping_from(raw: Mapping[str, Any], digest: str) -> ZohoMapping:
    kinds = ("customer", "invoice", "credit_note", "payment")
    _check_references(raw, kinds)
    invoice = raw["invoice"]
    options: dict[str, dict[str, Any]] = {
        "customer": {k: raw["customer"][k] for k in ("contact_type", "customer_sub_type")},
        "invoice": {
            "use_our_number": bool(invoice["use_our_number"]),
            "mark_sent": bool(invoice["mark_sent"]),
            "item_id": str(invoice["lines"].get("item_id", "")),
            "item_name": str(invoice["lines"].get("item_name") or DEFAULT_ITEM_NAME),
            "allowed_taxes": tuple(str(t) for t in invoice["tax"].get("allowed", [])),
            **invoice["discount"],
        },
        "credit_note": {"use_our_number": bool(raw["credit_note"]["use_our_number"])},
        "payment": {"payment_mode": str(raw["payment"]["payment_mode"])},
        "refund": _refund_options(raw),
        "new_items": _new_item_options(raw),
    }
    return ZohoMapping(
        version=str(raw["version"]),
        digest=digest,
        fields={kind: kit.paths(raw[kind]["fields"]) for kind in kinds},
        person={k: str(v) for k, v in raw["customer"]["contact_person"].items()},
        options=options,
    )


def _refund_options(raw: Mapping[str, Any]) -> dict[str, str]:
    """``[refund]`` is optional: ``refund_mode`` (default: the payments' mode) and
    ``from_account_id`` (default: the organisation's primary bank account)."""
    table = raw.get("refund", {})
    return {
        "refund_mode": str(table.get("refund_mode") or raw["payment"]["payment_mode"]),
        "from_account_id": str(table.get("from_account_id") or ""),
    }


#: the item lines naming none are booked to when the mapping names none
DEFAULT_ITEM_NAME = "General sales"
#: the keys ``[new_items]`` may hold
NEW_ITEM_KEYS = frozenset({"account_id"})


def _new_item_options(raw: Mapping[str, Any]) -> dict[str, str]:
    """``[new_items]`` is optional: ``account_id`` (default: Zoho's Sales account, or the
    account of the ``[invoice.lines]`` default item)."""
    table = raw.get("new_items", {})
    unknown = sorted(set(table) - NEW_ITEM_KEYS)
    if unknown:
        raise ValueError(f"[new_items] has unknown keys {unknown}; known: {sorted(NEW_ITEM_KEYS)}")
    return {"account_id": str(table.get("account_id") or "")}


def _check_references(raw: Mapping[str, Any], kinds: Sequence[str]) -> None:
    expected = {"customer": "notes"}
    for kind in kinds:
        field = raw[kind]["reference"]["field"]
        if field != expected.get(kind, "reference_number"):
            raise ValueError(
                f"{kind}.reference.field = {field!r}: the adapter looks references up in "
                f"{expected.get(kind, 'reference_number')!r} only"
            )


# ----------------------------------------------------------- ledger → canonical


def version_of(kind: str, raw: Mapping[str, Any]) -> str | None:
    modified = raw.get("last_modified_time")
    if modified is None:
        return None
    picked = {f: raw.get(f) for f in VERSION_FIELDS[kind]}
    digest = hashlib.sha256(encode_json(picked)).hexdigest()[:12]
    return f"{modified}#{digest}"


def zoho_moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, ZOHO_TIME)
    except ValueError:
        return None


def to_record(kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
    """A Zoho record (single or list answer) as a ``LedgerRecord``."""
    _, _, _, id_field, number_field = RESOURCES[kind]
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw[id_field]),
        "version": version_of(kind, raw),
        "name": kit.text(raw.get(number_field)),
        "customer_ledger_id": kit.text(raw.get("customer_id")),
        "currency": kit.text(raw.get("currency_code")),
        "updated_at": zoho_moment(raw.get("last_modified_time")),
        "raw": dict(raw),
    }
    return LedgerRecord(**common, **_parts(kind, raw))


def _parts(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "customer":
        return {
            "external_ref": ref_in(raw.get("notes")),
            "balance": kit.amount(raw.get("outstanding_receivable_amount")),
            "status": kit.text(raw.get("status")),
        }
    if kind == "payment":
        return {
            "external_ref": kit.text(raw.get("reference_number")) or None,
            "total": kit.amount(raw.get("amount")),
            "balance": kit.amount(raw.get("unused_amount")),
            "status": "applied",
        }
    status = str(raw.get("status", ""))
    return {
        "external_ref": kit.text(raw.get("reference_number")) or None,
        "total": kit.amount(raw.get("total")),
        "tax": document_tax(raw),
        "balance": kit.amount(raw.get("balance")),
        "status": INVOICE_STATUS.get(status, status) if kind == "invoice" else status,
        # the field the mapping writes (mapping.toml due_date = "due_date")
        "due_date": iso_day(raw.get("due_date")) if kind == "invoice" else None,
    }


def document_tax(raw: Mapping[str, Any]) -> Decimal | None:
    """The tax Zoho computed on an invoice or credit note read in full: ``tax_total``
    (invoices), else the sum of ``taxes[].tax_amount`` (the tax summary both invoice and
    credit-note answers document). List rows carry neither: None."""
    if raw.get("tax_total") is not None:
        return to_decimal(raw["tax_total"])
    taxes = raw.get("taxes")
    if not isinstance(taxes, list):
        return None
    return sum((to_decimal(t.get("tax_amount") or 0) for t in taxes), Decimal(0))


def refund_record(
    credit_kind: str, credit_id: str, raw: Mapping[str, Any], credit: Mapping[str, Any]
) -> LedgerRecord:
    """A credit note refund or payment refund as a ``LedgerRecord``; its customer and
    currency are its credit's (Zoho's refund answers name the customer only). It is
    applied to the credit it lives under, for its whole amount: Zoho draws a refund from
    one credit only."""
    id_field = REFUNDS[credit_kind][3]
    total = kit.amount(raw.get("amount_fcy", raw.get("amount")))
    return LedgerRecord(
        kind="refund",
        ledger_id=refund_ledger_id(credit_kind, credit_id, str(raw[id_field])),
        version=_refund_version(raw),
        external_ref=kit.text(raw.get("reference_number")) or None,
        customer_ledger_id=kit.text(credit.get("customer_id")),
        currency=kit.text(credit.get("currency_code")),
        total=total,
        status="refunded",
        updated_at=zoho_moment(raw.get("last_modified_time")),
        applied_to=((credit_id, total),) if total else (),
        raw=dict(raw),
    )


def _refund_version(raw: Mapping[str, Any]) -> str:
    picked = {f: raw.get(f) for f in VERSION_FIELDS["refund"]}
    return hashlib.sha256(encode_json(picked)).hexdigest()[:12]
