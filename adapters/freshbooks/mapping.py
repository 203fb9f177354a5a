"""Canonical records ↔ FreshBooks Accounting API JSON, driven by
``adapters/freshbooks/mapping.toml``.

Where our source reference lives on the FreshBooks record (read back by ``find``):

=========== ===================== ============================================
kind        field                 how ``find`` reaches it
=========== ===================== ============================================
customer    client ``note``       ``search[note_like]`` (documented filter)
invoice     ``notes``             a scan of recent invoices (no notes filter);
                                  the unique ``invoice_number`` guards resends
payment     ``note``              ``search[notes]`` (documented filter)
credit_note ``notes``             a scan of recent credit notes
=========== ===================== ============================================

Refunds have no mapping: FreshBooks documents no API construct for paying a client's
credit back, so the adapter refuses them (see its docstring).

A payment body carries only fields FreshBooks' official Node SDK writes on a payment
(``transformPaymentRequest`` in freshbooks/freshbooks-nodejs-sdk
``packages/api/src/models/Payment.ts``: ``amount``, ``date``, ``invoiceid``, ``note``,
``orderid``, ``transactionid``, ``type``, ``vis_state``) and a ``type`` from its
``PaymentType`` enum; in particular no ``creditid`` (read-only there: a credit note is
applied by a payment of type Credit, ``credit_application_body``).

A document's ``tax`` is what FreshBooks computed: its ``amount`` less its lines'
``amount`` (``document_tax``).

The reference is written as a line ``syncledger-ref: <system/kind/id>`` so a person may
add text around it without breaking the lookup.

A line booked to an item is named as the item (FreshBooks lines carry no item id; the
adapter resolves and checks the item first, ``freshbooks_items``); ``document_lines``
gives a document's lines back without the discount line this module adds.

Money goes out as FreshBooks money objects ``{"amount": "<decimal string>", "code"}`` and
comes back as ``Decimal``. Timestamps (``updated``) are US/Eastern, zone-naive, to the
second; ``version_of`` adds a digest of the record to ``updated`` so two changes within
one second still give two versions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import REF_MARKER
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.wire_dates import day_after
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment
from syncledger.core.money import quantize, to_decimal
from syncledger.core.ports import LedgerRecord

CENT = Decimal("0.01")
KINDS = ("customer", "invoice", "payment", "credit_note")
Document = Invoice | CreditNote
_TAX_PERCENTS = ("taxAmount1", "taxAmount2")
#: ``credit_type`` of the credit note FreshBooks makes of what a payment paid too much
OVERPAYMENT_CREDIT = "overpayment"


def ref_note(external_ref: str, text: str | None = None) -> str:
    marker = f"{REF_MARKER} {external_ref}"
    return f"{text}\n{marker}" if text else marker


def tax_key(value: object) -> str | None:
    """A tax id as registries print it and people type it: no case, spaces, dots or dashes
    (only letters and digits are kept)."""
    if not isinstance(value, str):
        return None
    key = "".join(ch for ch in value.upper() if ch.isalnum())
    return key or None


def ledger_id(value: str) -> int | str:
    """FreshBooks ids are integers; anything else is sent as is (and refused there)."""
    return int(value) if value.isdigit() else value


# ------------------------------------------------------------------- time


@cache
def eastern() -> ZoneInfo:
    return ZoneInfo("America/New_York")


def parse_updated(value: object) -> datetime | None:
    """FreshBooks' ``"YYYY-MM-DD hh:mm:ss"`` (US/Eastern) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    naive = datetime.fromisoformat(value)
    moment = naive if naive.tzinfo else naive.replace(tzinfo=eastern())
    return moment.astimezone(UTC)


def eastern_date(moment: datetime) -> str:
    """The US/Eastern date of ``moment``, as ``search[updated_min]`` takes it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(eastern()).date().isoformat()


#: the fields a version covers: what we write and what payments change, not presentation
VERSION_FIELDS = {
    "customer": ("organization", "fname", "lname", "email", "note", "currency_code",
                 "bus_phone", "p_street", "vat_number", "vis_state"),
    "invoice": ("invoice_number", "customerid", "create_date", "due_offset_days",
                "currency_code", "notes", "po_number", "lines", "amount", "paid",
                "outstanding", "vis_state"),
    "payment": ("invoiceid", "creditid", "amount", "date", "type", "note", "vis_state",
                "overpaymentid"),
    "credit_note": ("credit_number", "clientid", "create_date", "currency_code", "notes",
                    "lines", "amount", "paid", "outstanding", "vis_state"),
}  # fmt: skip


def version_of(kind: str, raw: Mapping[str, Any]) -> str | None:
    """``updated`` plus a digest of the fields in ``VERSION_FIELDS``: FreshBooks' only
    change marker is a timestamp to the second, which two changes in one second share."""
    updated = raw.get("updated")
    if updated is None:
        return None
    covered = {k: raw.get(k) for k in VERSION_FIELDS[kind]}
    canonical = json.dumps(covered, sort_keys=True, default=str, separators=(",", ":"))
    return f"{updated}#{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


# ---------------------------------------------------------------- mapping


@dataclass(frozen=True, slots=True)
class FreshBooksMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    fields: Mapping[str, Mapping[str, str]]  # kind → canonical → FreshBooks field
    ref_field: Mapping[str, str]  # kind → field holding our reference
    tax_name: str
    percent_places: int
    discount_line: str
    max_line_name: int
    credit_type: str
    payment_types: Mapping[str, str]  # "default", "credit" and canonical methods

    def client_body(self, customer: Customer, external_ref: str) -> dict[str, Any]:
        body = self._fields("customer", customer.model_dump(exclude_none=True))
        body[self.ref_field["customer"]] = ref_note(external_ref)
        return body

    def invoice_body(
        self,
        invoice: Invoice,
        customer_ledger_id: str,
        external_ref: str,
        items: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``items``: item code -> the FreshBooks item name its lines are booked to."""
        body = self._document("invoice", invoice, external_ref, items or {})
        body["customerid"] = ledger_id(customer_ledger_id)
        if invoice.due_date is not None:
            body["due_offset_days"] = (invoice.due_date - invoice.issue_date).days
        return body

    def credit_note_body(
        self,
        credit_note: CreditNote,
        customer_ledger_id: str,
        external_ref: str,
        items: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = self._document("credit_note", credit_note, external_ref, items or {})
        body["clientid"] = ledger_id(customer_ledger_id)
        body["credit_type"] = self.credit_type
        return body

    def payment_body(
        self, payment: Payment, invoice_ledger_id: str, external_ref: str
    ) -> dict[str, Any]:
        body = self._fields("payment", payment.model_dump(exclude_none=True))
        body |= {
            "invoiceid": ledger_id(invoice_ledger_id),
            "amount": _money(payment.amount, payment.currency),
            "type": self._payment_type(payment.method),
        }
        ref_field = self.ref_field["payment"]
        body[ref_field] = ref_note(external_ref, body.get(ref_field))
        return body

    def reference_field(self, kind: str) -> str:
        """Where our reference lives on a record of ``kind``."""
        return self.ref_field[kind]

    def credit_application_body(
        self,
        credit_note: CreditNote,
        invoice_ledger_id: str,
        ref: str,
        *,
        amount: Decimal | None = None,
    ) -> dict[str, Any]:
        """A payment of type Credit moving ``amount`` (default: the credit note's total)
        of the client's credit onto the invoice. It names no credit note: ``creditid`` is
        not among the fields FreshBooks' official SDK writes on a payment (see the module
        docstring), so FreshBooks chooses the credit it draws on (the adapter makes sure
        the client holds no other)."""
        moved = credit_note.total if amount is None else amount
        return {
            "invoiceid": ledger_id(invoice_ledger_id),
            "amount": _money(moved, credit_note.currency),
            "date": credit_note.issue_date.isoformat(),
            "type": self.payment_types["credit"],
            self.ref_field["payment"]: ref_note(ref),
        }

    def document_lines(self, raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """A FreshBooks invoice's or credit note's lines without the discount line
        ``_discount`` adds (the last line, named ``discount_line``, negative, untaxed)."""
        lines = [ln for ln in raw.get("lines") or [] if isinstance(ln, Mapping)]
        if lines and self._is_discount(lines[-1]):
            lines.pop()
        return lines

    def _is_discount(self, line: Mapping[str, Any]) -> bool:
        cost = _amount(line.get("unit_cost"))
        taxed = any(line.get(k) and to_decimal(line[k]) != 0 for k in _TAX_PERCENTS)
        named = line.get("name") == self.discount_line
        return named and cost is not None and cost < 0 and not taxed

    def _document(
        self, kind: str, doc: Document, external_ref: str, items: Mapping[str, str]
    ) -> dict[str, Any]:
        values = {"number": doc.number, "issue_date": doc.issue_date, "currency": doc.currency}
        body = self._fields(kind, values)
        lines = [self._line(ln, doc.currency, items) for ln in doc.lines]
        body["lines"] = lines + self._discount(doc)
        body[self.ref_field[kind]] = ref_note(external_ref)
        _check_total(doc, body["lines"])
        return body

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for canonical, field in self.fields[kind].items():
            if values.get(canonical) is not None:
                body[field] = kit.wire(values[canonical])
        return body

    def _line(self, line: InvoiceLine, currency: str, items: Mapping[str, str]) -> dict[str, Any]:
        """A line booked to an item is named as the item (FreshBooks lines carry no item
        id), its text in ``description``; any other line is named by its text."""
        body: dict[str, Any] = {
            "name": line.description[: self.max_line_name],
            "qty": line.quantity,
            "unit_cost": _money(line.unit_price, currency, exact=True),
        }
        if line.item_code is not None:
            body |= {"name": items[line.item_code], "description": line.description}
        if line.tax_amount != 0:
            percent = _tax_percent(line, self.percent_places)
            body |= {"taxName1": self.tax_name, "taxAmount1": f"{percent:f}"}
        return body

    def _discount(self, doc: Document) -> list[dict[str, Any]]:
        if doc.discount == 0:
            return []
        cost = _money(-quantize(doc.discount, doc.currency), doc.currency)
        return [{"name": self.discount_line, "qty": Decimal(1), "unit_cost": cost}]

    def _payment_type(self, method: str | None) -> str:
        if not method:
            return self.payment_types["default"]
        key = method.strip().lower().replace(" ", "_").replace("-", "_")
        return self.payment_types.get(key, self.payment_types["default"])


def _money(amount: Decimal, code: str, *, exact: bool = False) -> dict[str, str]:
    value = amount if exact else quantize(amount, code)
    return {"amount": f"{value:f}", "code": code}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _tax_percent(line: InvoiceLine, places: int) -> Decimal:
    """The line's tax as the percentage FreshBooks takes; refused when no percentage of
    ``places`` decimals gives the same tax to the cent."""
    net = _cents(line.net)
    percent = (line.tax_amount * 100 / net).quantize(Decimal(1).scaleb(-places)) if net else None
    if percent is None or _cents(net * percent / 100) != line.tax_amount:
        raise PermanentLedgerError(
            f"line {line.description!r}: a tax of {line.tax_amount} on {net} is not a "
            f"percentage with {places} decimals, the only form FreshBooks takes a line tax "
            "in: fix the tax in the source",
            code="syncledger.tax_not_expressible",
        )
    return percent


def freshbooks_total(lines: list[dict[str, Any]]) -> Decimal:
    """What FreshBooks will total for these lines: each line ``qty × unit_cost`` to the
    cent plus its tax to the cent."""
    total = Decimal(0)
    for line in lines:
        net = _cents(to_decimal(line["qty"]) * to_decimal(line["unit_cost"]["amount"]))
        percent = to_decimal(line.get("taxAmount1") or 0)
        total += net + _cents(net * percent / 100)
    return total


def _check_total(doc: Document, lines: list[dict[str, Any]]) -> None:
    kit.check_total(doc, freshbooks_total(lines), "FreshBooks")


# ------------------------------------------------------------------- loading


def load_mapping(path: Path | None = None) -> FreshBooksMapping:
    """The mapping at ``path``, or the default ``adapters/freshbooks/mapping.toml``."""
    return kit.load_toml_mapping(
        "syncledger.adapters.freshbooks", "FreshBooks", path, _mapping_from
    )


def _mapping_from(raw: Mapping[str, Any], digest: str) -> FreshBooksMapping:
    payment = raw["payment"]
    return FreshBooksMapping(
        version=str(raw["version"]),
        digest=digest,
        fields={kind: {k: str(v) for k, v in raw[kind]["fields"].items()} for kind in KINDS},
        ref_field={kind: str(raw[kind]["reference"]["field"]) for kind in KINDS},
        tax_name=str(raw["invoice"]["tax"]["tax_name"]),
        percent_places=int(raw["invoice"]["tax"]["percent_places"]),
        discount_line=str(raw["invoice"]["discount"]["line_name"]),
        max_line_name=int(raw["invoice"]["lines"]["max_name"]),
        credit_type=str(raw["credit_note"]["options"]["credit_type"]),
        payment_types={
            "default": str(payment["options"]["default_type"]),
            "credit": str(payment["options"]["credit_type"]),
            **{str(k): str(v) for k, v in payment.get("methods", {}).items()},
        },
    )


# ----------------------------------------------------------------- ledger → canonical


def to_record(kind: str, raw: Mapping[str, Any], ref_field: str) -> LedgerRecord:
    """A FreshBooks client / invoice / payment / credit note as a ``LedgerRecord``.

    A payment's ``balance`` is 0 here: the credit it left (its overpayment credit note's
    ``outstanding``) is read by the adapter."""
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw["id"]),
        "version": version_of(kind, raw),
        "external_ref": ref_in(raw.get(ref_field)),
        "updated_at": parse_updated(raw.get("updated")),
        "raw": dict(raw),
    }
    parts = {
        "customer": _client_parts,
        "invoice": _invoice_parts,
        "credit_note": _credit_note_parts,
        "payment": _payment_parts,
    }[kind](raw)
    return LedgerRecord(**common, **parts)


def _client_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    person = " ".join(str(raw[k]) for k in ("fname", "lname") if raw.get(k))
    return {
        "name": str(raw.get("organization") or person or raw.get("email") or ""),
        "currency": kit.text(raw.get("currency_code")),
        "status": _VIS_STATE.get(raw.get("vis_state", 0), "active"),
    }


def _invoice_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The due date is ``create_date`` + ``due_offset_days``: what the mapping writes
    (FreshBooks has no due date field of its own to write)."""
    parts = _document_parts(raw, "customerid")
    due = day_after(raw.get("create_date"), raw.get("due_offset_days"))
    return parts | {"name": kit.text(raw.get("invoice_number")), "due_date": due}


def _credit_note_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    parts = _document_parts(raw, "clientid")
    return parts | {"name": kit.text(raw.get("credit_number"))}


def _document_parts(raw: Mapping[str, Any], client_field: str) -> dict[str, Any]:
    total = _amount(raw.get("amount"))
    deleted = raw.get("vis_state") == 1
    balance = Decimal(0) if deleted else _amount(raw.get("outstanding"))
    return {
        "customer_ledger_id": kit.text(raw.get(client_field)),
        "currency": kit.text(raw.get("currency_code")),
        "total": total,
        "tax": document_tax(raw),
        "balance": balance,
        "status": "void" if deleted else _paid_status(total, balance),
    }


def document_tax(raw: Mapping[str, Any]) -> Decimal | None:
    """The tax FreshBooks computed on an invoice or credit note: its ``amount`` (the total)
    less the sum of its lines' ``amount`` (each ``qty`` x ``unit_cost``, before tax; the
    discount line syncledger adds is one of them). None when the lines were not read
    (``include[]=lines``) or FreshBooks applied a ``discount_total`` of its own (whether
    that comes off before or after tax is not documented)."""
    total = _amount(raw.get("amount"))
    lines = [ln for ln in raw.get("lines") or [] if isinstance(ln, Mapping)]
    if total is None or not lines or _amount(raw.get("discount_total")) not in (None, 0):
        return None
    nets = [_amount(line.get("amount")) for line in lines]
    if any(net is None for net in nets):
        return None
    return total - sum((net for net in nets if net is not None), Decimal(0))


def _payment_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    note = str(raw.get("note") or "")
    human = "\n".join(ln for ln in note.splitlines() if REF_MARKER not in ln) or None
    return {
        "name": human,
        "customer_ledger_id": kit.text(raw.get("clientid")),
        "currency": kit.text((raw.get("amount") or {}).get("code")),
        "total": _amount(raw.get("amount")),
        "balance": Decimal(0),
        "status": "deleted" if raw.get("vis_state") == 1 else "applied",
    }


def credit_left(raw: Mapping[str, Any]) -> Decimal:
    """What is left of a credit note for the client: ``outstanding``, 0 once deleted."""
    if raw.get("vis_state") == 1:
        return Decimal(0)
    return _amount(raw.get("outstanding")) or Decimal(0)


def _paid_status(total: Decimal | None, balance: Decimal | None) -> str:
    if total is None or balance is None or balance == total:
        return "open"
    return "paid" if balance == 0 else "partially_paid"


_VIS_STATE = {0: "active", 1: "deleted", 2: "archived"}


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, Mapping):
        value = value.get("amount")
    return None if value is None else to_decimal(value)
