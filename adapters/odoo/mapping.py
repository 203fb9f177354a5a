"""Canonical records ↔ Odoo values, driven by ``adapters/odoo/mapping.toml``.

Where our source reference lives (read back by ``OdooLedger.find``, exact ``=`` match):

=========== ================= =====================================================
kind        model             reference field
=========== ================= =====================================================
customer    res.partner       ``ref`` (internal reference)
invoice     account.move      ``ref``; our number in ``payment_reference``
credit_note account.move      ``ref`` (``move_type`` ``out_refund``)
payment     account.payment   ``memo`` (the register wizard's ``communication``);
                              ``payment_type`` ``inbound``, ``partner_type`` customer
refund      account.payment   ``memo``, as payments (no mapping section of its own);
                              ``payment_type`` ``outbound``, ``partner_type`` customer
=========== ================= =====================================================

The mapping file names Odoo 18+ fields; on Odoo 17 a payment's ``memo`` is its ``ref``
and a document carries no ``invoice_currency_rate`` (``odoo_versions``): the adapter
passes the release's names in (``ref_field`` / ``rate_field`` below) and reads the
reference field whatever it is called (``read_fields``).

A payment's ``balance`` is its outstanding credit: minus the ``amount_residual`` of its
receivable journal item (``account.move.line`` with ``payment_id``), read by the adapter
and passed to ``to_record`` as ``credit``. A credit note's is its ``amount_residual``.

A record's ``version`` is ``write_date`` (Odoo shows it to the second) joined with a
digest of the fields we read, so two changes within one second still differ, and with a
name of the set of fields that digest covers (``write_date|digest|set``). Reading more
fields (a new release of syncledger, e.g. the address parts) changes every digest without
anyone editing a record, so ``same_version`` compares two versions over different field
sets, or one written before the set was named (``write_date|digest``), by ``write_date``
only: a change is then seen when Odoo's ``write_date`` moved, not one within the second
of the last read. Versions over the same set compare whole, as before.

Items are ``product.product`` records; a line naming one carries its id as ``product_id``
(besides its own label, quantity, price and taxes, so amounts do not change). What
``create_item`` makes comes from ``[new_items]`` (``product_vals``). Reading back, a
document's ``line_items`` are its product lines in order, each the ``default_code`` of its
product (the id when the product has none); the discount line we add is not one of them
(``booked_items``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.wire_dates import iso_day
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment
from syncledger.core.money import minor_unit, to_decimal
from syncledger.core.ports import LedgerItem, LedgerRecord

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
READ_FIELDS = {
    "customer": (
        "name",
        "email",
        "phone",
        "vat",
        "street",
        "ref",
        "active",
        "write_date",
        # the address's parts (adapters/odoo/customer_details.py)
        "street2",
        "city",
        "state_id",
        "zip",
        "country_id",
        "country_code",
    ),
    "invoice": (
        "name",
        "move_type",
        "partner_id",
        "currency_id",
        "invoice_date",
        "invoice_date_due",
        "ref",
        "payment_reference",
        "state",
        "payment_state",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "reversed_entry_id",
        "invoice_line_ids",
        "write_date",
    ),
    "payment": (
        "name",
        "partner_id",
        "amount",
        "currency_id",
        "date",
        "state",
        "reconciled_invoice_ids",
        "write_date",
    ),
}
READ_FIELDS["credit_note"] = READ_FIELDS["invoice"]
READ_FIELDS["refund"] = READ_FIELDS["payment"]
#: what a credit's receivable journal item is read for
CREDIT_LINE_FIELDS = ("move_id", "payment_id", "partner_id", "amount_residual")
#: what an invoice line is read for (the item it is booked to)
BOOKED_LINE_FIELDS = ("product_id", "name", "price_unit")
#: what a product is read for
ITEM_FIELDS = ("name", "default_code")
DIRECTION = {"payment": "inbound", "refund": "outbound"}  # account.payment payment_type
Document = Invoice | CreditNote


@dataclass(frozen=True, slots=True)
class SaleTax:
    ident: int
    rate: Decimal  # percent


@dataclass(frozen=True, slots=True)
class OdooMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    models: Mapping[str, str]  # kind → model
    move_types: Mapping[str, str]  # invoice / credit_note → move_type
    ref_field: Mapping[str, str]  # kind → field holding our reference
    number_field: str
    customer_fields: Mapping[str, str]
    customer_values: Mapping[str, Any]
    discount_label: str
    tax_ids: tuple[int, ...]
    payment_journal: int
    item_type: str  # [new_items] type
    income_account: int  # [new_items] income_account_id (0: the sale journal's account)

    def domain(self, kind: str) -> list[Any]:
        """Which records of the kind's model are of that kind."""
        if kind in self.move_types:
            return [["move_type", "=", self.move_types[kind]]]
        if kind in DIRECTION:
            return [["partner_type", "=", "customer"], ["payment_type", "=", DIRECTION[kind]]]
        return []

    def customer_vals(self, customer: Customer, external_ref: str | None) -> dict[str, Any]:
        values = customer.model_dump(exclude_none=True)
        vals = {field: values[c] for c, field in self.customer_fields.items() if c in values}
        if external_ref is not None:
            vals = dict(self.customer_values) | vals | {self.ref_field["customer"]: external_ref}
        return vals

    def register_vals(
        self, amount: Decimal, day: date, external_ref: str, currency_id: int, *, keep_open: bool
    ) -> dict[str, Any]:
        """``account.payment.register`` values; ``keep_open``: what the payment does not
        settle stays open (Odoo's "Keep open": an overpayment's rest is outstanding credit,
        a partial refund leaves the rest of the credit)."""
        vals: dict[str, Any] = {
            "amount": amount,
            "payment_date": day.isoformat(),
            "communication": external_ref,
            "currency_id": currency_id,
        }
        if self.payment_journal:
            vals["journal_id"] = self.payment_journal
        if keep_open:
            vals["payment_difference_handling"] = "open"
        return vals

    def payment_vals(
        self,
        payment: Payment,
        *,
        customer_id: int,
        currency_id: int,
        external_ref: str,
        ref_field: str | None = None,
    ) -> dict[str, Any]:
        """An ``account.payment`` reconciled with nothing: all of it outstanding credit;
        our reference in ``ref_field`` (the release's name for it, default the file's)."""
        vals: dict[str, Any] = {
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": customer_id,
            "amount": payment.amount,
            "date": payment.paid_on.isoformat(),
            "currency_id": currency_id,
            ref_field or self.ref_field["payment"]: external_ref,
        }
        if self.payment_journal:
            vals["journal_id"] = self.payment_journal
        return vals

    def product_vals(self, code: str, income_account_id: int | None) -> dict[str, Any]:
        """A new ``product.product`` (its template made with it): ``code`` as both its
        name and its Internal Reference (``default_code``)."""
        vals: dict[str, Any] = {
            "name": code,
            "default_code": code,
            "type": self.item_type,
            "sale_ok": True,
        }
        if income_account_id:
            vals["property_account_income_id"] = income_account_id
        return vals

    def document_vals(
        self,
        kind: str,
        document: Document,
        *,
        customer_id: int,
        currency_id: int,
        external_ref: str,
        taxes: Sequence[SaleTax],
        products: Sequence[int | None] = (),
        rate_field: str | None = "invoice_currency_rate",
    ) -> dict[str, Any]:
        """``products``: the ``product.product`` id each line is booked to (None: none);
        ``rate_field``: where the document's own rate goes (None: the release has no such
        field, and the caller made sure Odoo's own rate is the document's)."""
        booked = list(products) or [None] * len(document.lines)
        lines = [
            _line(ln, document.currency, taxes, product)
            for ln, product in zip(document.lines, booked, strict=True)
        ]
        vals: dict[str, Any] = {
            "partner_id": customer_id,
            "currency_id": currency_id,
            "invoice_date": document.issue_date.isoformat(),
            self.ref_field[kind]: external_ref,
            self.number_field: document.number,
            "invoice_line_ids": [[0, 0, v] for v in lines + self._discount(document)],
        }
        if isinstance(document, Invoice) and document.due_date is not None:
            vals["invoice_date_due"] = document.due_date.isoformat()
        if document.exchange_rate is not None and rate_field is not None:
            vals[rate_field] = odoo_rate(document.exchange_rate)
        check_total(document, lines)
        return vals

    def _discount(self, document: Document) -> list[dict[str, Any]]:
        if document.discount == 0:
            return []
        amount = _round(document.discount, document.currency)
        return [{"name": self.discount_label, "quantity": 1, "price_unit": -amount, "tax_ids": []}]


def _line(
    line: InvoiceLine, currency: str, taxes: Sequence[SaleTax], product: int | None
) -> dict[str, Any]:
    vals: dict[str, Any] = {
        "name": line.description,
        "quantity": line.quantity,
        "price_unit": line.unit_price,
        "tax_ids": [[6, 0, []]],
    }
    if product is not None:
        vals["product_id"] = product
    if line.tax_amount != 0:
        vals["tax_ids"] = [[6, 0, [matching_tax(line, currency, taxes).ident]]]
    return vals


def matching_tax(line: InvoiceLine, currency: str, taxes: Sequence[SaleTax]) -> SaleTax:
    """The sale tax Odoo would compute as exactly ``line.tax_amount`` on this line (the
    closest rate when several round to it); refused when none does."""
    net = _round(line.net, currency)
    fits = [t for t in taxes if _round(net * t.rate / 100, currency) == line.tax_amount]
    if not fits:
        raise PermanentLedgerError(
            f"line {line.description!r}: no sale tax in Odoo computes {line.tax_amount} on "
            f"{net} (rates {', '.join(str(t.rate) for t in taxes) or 'none'}): create the "
            "tax in Odoo or list its id under [invoice.tax] tax_ids",
            code="syncledger.tax_unmatched",
        )
    exact = line.tax_amount / net * 100 if net else Decimal(0)
    return min(fits, key=lambda t: (abs(t.rate - exact), t.ident))


def check_total(document: Document, lines: Sequence[Mapping[str, Any]]) -> None:
    """Refuse before sending what Odoo would total differently from the source."""
    cur = document.currency
    net = sum((_round(ln.net, cur) for ln in document.lines), Decimal(0))
    expected = net + document.tax_total - _round(document.discount, cur)
    kit.check_total(document, expected, "Odoo")


def read_fields(kind: str, ref_field: str) -> list[str]:
    """The fields read for ``kind``, with the one holding our reference."""
    fields = list(READ_FIELDS[kind])
    return fields if ref_field in fields else [*fields, ref_field]


def odoo_rate(exchange_rate: Decimal) -> Decimal:
    """Odoo's ``invoice_currency_rate`` (document currency per company currency unit) from
    ours (company currency per document currency unit)."""
    return (Decimal(1) / exchange_rate).quantize(Decimal("1E-12"), rounding=ROUND_HALF_UP)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------- loading


def load_mapping(path: Path | None = None) -> OdooMapping:
    """The mapping at ``path``, or the default ``adapters/odoo/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.odoo", "Odoo", path, _mapping_from)


def _mapping_from(raw: Mapping[str, Any], digest: str) -> OdooMapping:
    kinds = ("customer", "invoice", "credit_note", "payment")
    models = {k: str(raw[k]["model"]) for k in kinds}
    ref_field = {k: str(raw[k]["reference"]) for k in kinds}
    new_items = raw.get("new_items", {})
    return OdooMapping(
        version=str(raw["version"]),
        digest=digest,
        models=models | {"refund": models["payment"]},  # a refund is a payment sent out
        move_types={k: str(raw[k]["move_type"]) for k in ("invoice", "credit_note")},
        ref_field=ref_field | {"refund": ref_field["payment"]},
        number_field=str(raw["invoice"]["number"]),
        customer_fields={k: str(v) for k, v in raw["customer"]["fields"].items()},
        customer_values=dict(raw["customer"].get("values", {})),
        discount_label=str(raw["invoice"]["lines"]["discount_label"]),
        tax_ids=tuple(int(i) for i in raw["invoice"]["tax"]["tax_ids"]),
        payment_journal=int(raw["payment"]["journal_id"]),
        item_type=str(new_items.get("type", "service")),
        income_account=int(new_items.get("income_account_id", 0)),
    )


# ----------------------------------------------------------------- ledger → canonical


def to_record(
    kind: str,
    raw: Mapping[str, Any],
    ref_field: str,
    *,
    credit: Decimal | None = None,
    line_items: tuple[str | None, ...] = (),
    applied_to: tuple[tuple[str, Decimal], ...] = (),
) -> LedgerRecord:
    """``credit``: a payment's outstanding credit (its ``balance``); ``line_items``: an
    invoice's or credit note's (``booked_items``); ``applied_to``: a payment's, credit
    note's or refund's (``odoo_applied``)."""
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw["id"]),
        "version": version_of(raw),
        "external_ref": _text(raw.get(ref_field)),
        "updated_at": parse_datetime(raw.get("write_date")),
        "raw": dict(raw),
    }
    if kind == "customer":
        status = "active" if raw.get("active", True) else "inactive"
        return LedgerRecord(**common, name=_text(raw.get("name")), status=status)
    common["applied_to"] = applied_to
    if kind == "payment":
        return LedgerRecord(**common, **_payment_parts(raw), balance=credit)
    if kind == "refund":
        return LedgerRecord(**common, **_payment_parts(raw) | {"status": _refund_status(raw)})
    return LedgerRecord(**common, **_document_parts(raw), line_items=line_items)


def version_of(raw: Mapping[str, Any]) -> str:
    """``write_date|digest|set``: the digest of the fields read, the set they were."""
    body = {k: v for k, v in raw.items() if k not in ("write_date", "display_name")}
    digest = hashlib.sha256(encode_json(_sorted(body))).hexdigest()[:16]
    return f"{raw.get('write_date') or ''}|{digest}|{_field_set(body)}"


def same_version(current: str, expected: str) -> bool:
    """Whether a record now at ``current`` is still at ``expected``: whole versions when
    both name the same field set, else (an older format, another set) ``write_date``."""
    ours, theirs = current.split("|"), expected.split("|")
    if ours[2:] == theirs[2:]:  # the same format over the same set
        return current == expected
    return ours[0] == theirs[0]


def _field_set(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(",".join(sorted(body)).encode()).hexdigest()[:8]


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _document_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    total = _amount(raw.get("amount_total"))
    void = raw.get("state") == "cancel"
    return {
        "name": _text(raw.get("name")),
        "customer_ledger_id": _m2o_id(raw.get("partner_id")),
        "currency": _m2o_name(raw.get("currency_id")),
        "total": total,
        "tax": _amount(raw.get("amount_tax")),
        "balance": Decimal(0) if void else _amount(raw.get("amount_residual")),
        "status": _document_status(raw),
        # the field the mapping writes; ``false`` when empty (credit notes)
        "due_date": iso_day(raw.get("invoice_date_due")),
    }


def _document_status(raw: Mapping[str, Any]) -> str:
    if raw.get("state") == "cancel":
        return "void"
    if raw.get("state") != "posted":
        return str(raw.get("state") or "draft")
    state = raw.get("payment_state")
    if state == "partial":
        return "partially_paid"
    return "open" if state == "not_paid" else "paid"


def _payment_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    applied = "applied" if raw.get("reconciled_invoice_ids") else "unapplied"
    return {
        "name": _text(raw.get("name")),
        "customer_ledger_id": _m2o_id(raw.get("partner_id")),
        "currency": _m2o_name(raw.get("currency_id")),
        "total": _amount(raw.get("amount")),
        "status": _unposted(raw) or applied,
    }


def _refund_status(raw: Mapping[str, Any]) -> str:
    return _unposted(raw) or "refunded"


def _unposted(raw: Mapping[str, Any]) -> str | None:
    """``void`` (cancelled or rejected), ``draft``, or None for a posted payment."""
    state = raw.get("state")
    if state in ("canceled", "cancel", "rejected"):
        return "void"
    return "draft" if state == "draft" else None


def item_of(raw: Mapping[str, Any]) -> LedgerItem:
    """A ``product.product`` row as a ledger item: its code is its Internal Reference, or
    its id when it has none (lines can name it by id)."""
    ident = str(raw["id"])
    return LedgerItem(ident, _text(raw.get("default_code")) or ident, _text(raw.get("name")))


def booked_items(
    line_ids: Sequence[int],
    lines: Mapping[int, Mapping[str, Any]],
    codes: Mapping[int, str],
    discount_label: str,
) -> tuple[str | None, ...]:
    """The item code each document line is booked to, in the move's line order; the
    discount line ``document_vals`` appends (last, no product, our label, a negative
    price) is not a document line."""
    shown = [lines[i] for i in line_ids if i in lines]
    if shown and _is_discount(shown[-1], discount_label):
        shown.pop()
    booked = (m2o_id(line.get("product_id")) for line in shown)
    return tuple(None if ident is None else codes.get(ident, str(ident)) for ident in booked)


def _is_discount(line: Mapping[str, Any], label: str) -> bool:
    price = _amount(line.get("price_unit")) or Decimal(0)
    return m2o_id(line.get("product_id")) is None and line.get("name") == label and price < 0


def credits_by_payment(lines: Sequence[Mapping[str, Any]]) -> dict[int, Decimal]:
    """Each payment's outstanding credit from its receivable journal items."""
    credits: dict[int, Decimal] = {}
    for line in lines:
        owner = m2o_id(line.get("payment_id"))
        if owner is not None:
            residual = _amount(line.get("amount_residual")) or Decimal(0)
            credits[owner] = credits.get(owner, Decimal(0)) - residual
    return credits


def tax_key(tax_id: object) -> str | None:
    """A tax id as registries compare it: upper case, no spaces, dots or dashes."""
    if not isinstance(tax_id, str):
        return None
    key = "".join(ch for ch in tax_id.upper() if ch.isalnum())
    return key or None


def vat_pattern(key: str) -> str:
    """An ``=ilike`` pattern matching every ``vat`` spelling of ``key`` (any separators
    between its characters); a superset, narrowed by comparing ``tax_key``s."""
    return "%" + "%".join(key) + "%"


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.strptime(value, DATETIME_FORMAT).replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(DATETIME_FORMAT)


def m2o_id(value: Any) -> int | None:
    if isinstance(value, list) and value and isinstance(value[0], int):
        return value[0]
    return None


def _m2o_id(value: Any) -> str | None:
    ident = m2o_id(value)
    return None if ident is None else str(ident)


def _m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list) and len(value) > 1 and value[1] else None


def _amount(value: Any) -> Decimal | None:
    return None if value is None or value is False else to_decimal(value)


def _text(value: Any) -> str | None:
    return None if value is None or value is False else str(value)
