"""Canonical records → NetSuite REST record JSON, driven by ``adapters/mappings/netsuite.toml``.

Where our source reference lives on the ledger record:

=========== ================= =================================== ====================
kind        NetSuite record   ``externalId`` (unique per type)    readable reference
=========== ================= =================================== ====================
customer    ``customer``      ``sl_`` + sha256(ref)[:40]          ``comments``
invoice     ``invoice``       idem                                ``memo``
payment     ``customerPayment`` idem                              ``memo``
credit_note ``creditMemo``    idem                                ``memo``
refund      ``customerRefund`` idem                               ``memo``
=========== ================= =================================== ====================

The externalId makes creates upserts (``PUT /{record}/eid:{externalId}``) and ``find`` a
direct read; it is a digest because our references hold ``/``, which a URL path segment
cannot carry. The readable reference is a line ``syncledger-ref: <system/kind/id>``.
Reading records back into ``LedgerRecord`` lives in ``netsuite_records``.

Defaults for what the mapping file does not say (``DEFAULT_FIELDS``, ``OPTIONAL_SECTIONS``):
a customer's ``tax_id`` goes to ``vatRegNumber`` (write ``tax_id = []`` under
``[customer.fields]`` to send none), and the ``[refund]`` section is optional: refunds send
``tranDate`` and ``currency``, keep our reference in ``memo``, and name a bank ``account``
only when ``[refund] account`` gives its internal id (else NetSuite's default applies).

Items. A line is booked to the item its ``item_code`` names (resolved to an internal id by
``netsuite_items``), else to ``[invoice.lines] item``. Items the adapter creates are
service sale items (``new_item_body``) in the ``[account]`` subsidiary, booked to
``[new_items] income_account`` or, when that is empty, to the default line item's income
account as NetSuite has it. ``[new_items]`` may be left out.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError, PermanentLedgerError
from core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from core.money import quantize

RECORD = {
    "customer": "customer",
    "invoice": "invoice",
    "payment": "customerPayment",
    "credit_note": "creditMemo",
    "refund": "customerRefund",
}
DEFAULT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {"tax_id": ("vatRegNumber",)},
    "refund": {"refunded_on": ("tranDate",), "currency": ("currency",)},
}
#: sections the mapping file may leave out, with what stands in for them
OPTIONAL_SECTIONS: dict[str, dict[str, Any]] = {
    "refund": {"fields": {}, "reference": {"field": "memo"}, "account": ""}
}
KIND_OF_RECORD = {record: kind for kind, record in RECORD.items()}
EXTERNAL_ID_PREFIX = "sl_"
REF_MARKER = "syncledger-ref:"
VOID_MARKER = "syncledger-void:"
VOID_REF_PREFIX = "syncledger/void/"
_REF_IN_TEXT = re.compile(re.escape(REF_MARKER) + r"\s*(\S+)")
_VOID_IN_TEXT = re.compile(re.escape(VOID_MARKER) + r"\s*(\S+)")
KINDS = tuple(RECORD)


def external_id(external_ref: str) -> str:
    """The externalId for our reference: deterministic, URL-safe, 43 characters."""
    return EXTERNAL_ID_PREFIX + hashlib.sha256(external_ref.encode()).hexdigest()[:40]


def ref_note(external_ref: str) -> str:
    return f"{REF_MARKER} {external_ref}"


def ref_in(text: object) -> str | None:
    match = _REF_IN_TEXT.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def void_ref(invoice_id: str) -> str:
    """The reference kept on the credit memo that books the void of invoice ``invoice_id``."""
    return f"{VOID_REF_PREFIX}{invoice_id}"


def is_void_ref(ref: str | None) -> bool:
    return ref is not None and ref.startswith(VOID_REF_PREFIX)


def void_note(credit_memo_external_id: str) -> str:
    return f"{VOID_MARKER} {credit_memo_external_id}"


def void_in(text: object) -> str | None:
    match = _VOID_IN_TEXT.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def record_of(kind: str) -> str:
    try:
        return RECORD[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"the NetSuite adapter does not handle {kind!r} records", code="unsupported"
        ) from None


@dataclass(frozen=True, slots=True)
class Lines:
    item: str
    taxable_code: str
    non_taxable_code: str
    discount_item: str


@dataclass(frozen=True, slots=True)
class NetSuiteMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    timezone: str
    subsidiary: str
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]  # kind → canonical → paths
    ref_field: Mapping[str, str]  # kind → field holding the readable reference
    address: Mapping[str, str]
    lines: Lines
    refund_account: str = ""  # internal id of the bank account refunds are paid from
    #: internal id of the income account new items are booked to ("" = the default item's)
    new_item_income_account: str = ""

    # ------------------------------------------------------------- bodies

    def customer_body(
        self, customer: Customer, external_ref: str, currency_id: str
    ) -> dict[str, Any]:
        values = customer.model_dump(exclude_none=True) | {"currency": {"id": currency_id}}
        body = self._fields("customer", values) | {"isPerson": False}
        body[self.ref_field["customer"]] = ref_note(external_ref)
        if self.subsidiary:
            body["subsidiary"] = {"id": self.subsidiary}
        if customer.billing_address:
            body[self.address["sublist"]] = {"items": [self._address(customer.billing_address)]}
        return body

    def customer_sublists(self, customer: Customer) -> tuple[str, ...]:
        return (self.address["sublist"],) if customer.billing_address else ()

    def invoice_body(
        self,
        invoice: Invoice,
        customer_id: str,
        external_ref: str,
        currency_id: str,
        item_ids: Sequence[str | None] = (),
    ) -> dict[str, Any]:
        """``item_ids``: the internal id of the item each line is booked to, None (or
        missing) for the default line item."""
        body = self._document("invoice", invoice, customer_id, external_ref, currency_id, item_ids)
        body |= self._discount(invoice)
        check_total(invoice, body)
        return body

    def credit_note_body(
        self,
        credit_note: CreditNote,
        customer_id: str,
        external_ref: str,
        currency_id: str,
        applications: Mapping[str, Decimal],
        item_ids: Sequence[str | None] = (),
    ) -> dict[str, Any]:
        body = self._document(
            "credit_note", credit_note, customer_id, external_ref, currency_id, item_ids
        )
        body |= self._discount(credit_note)
        check_total(credit_note, body)
        body["apply"] = {"items": [_application(doc, amt) for doc, amt in applications.items()]}
        return body

    def payment_body(
        self,
        payment: Payment,
        customer_id: str,
        invoice_id: str,
        external_ref: str,
        currency_id: str,
        applied: Decimal | None = None,
    ) -> dict[str, Any]:
        """``payment`` received in full, ``applied`` of it (default: all) applied to the
        invoice; NetSuite keeps the rest as the payment's ``unapplied`` amount."""
        part = payment.amount if applied is None else applied
        values = payment.model_dump(exclude_none=True) | {"currency": {"id": currency_id}}
        body = self._fields("payment", values)
        body["customer"] = {"id": customer_id}
        body["apply"] = {"items": [_application(invoice_id, part)] if part else []}
        body[self.ref_field["payment"]] = ref_note(external_ref)
        return body

    def refund_body(
        self,
        refund: Refund,
        customer_id: str,
        credit_id: str,
        external_ref: str,
        currency_id: str,
    ) -> dict[str, Any]:
        """A customer refund paying ``refund.amount`` out of one credit memo or customer
        payment: its line on the ``apply`` sublist (NetSuite derives ``total`` from it)."""
        values = refund.model_dump(exclude_none=True) | {"currency": {"id": currency_id}}
        body = self._fields("refund", values)
        body["customer"] = {"id": customer_id}
        body["apply"] = {"items": [_application(credit_id, refund.amount)]}
        body[self.ref_field["refund"]] = ref_note(external_ref)
        if self.refund_account:
            body["account"] = {"id": self.refund_account}
        return body

    def new_item_body(self, code: str, income_account: str) -> dict[str, Any]:
        """A service sale item named ``code`` (Item Name/Number) booked to ``income_account``."""
        body: dict[str, Any] = {"itemId": code, "incomeAccount": {"id": income_account}}
        if self.subsidiary:
            body["subsidiary"] = {"items": [{"id": self.subsidiary}]}
        return body

    # ------------------------------------------------------------- helpers

    def _document(
        self,
        kind: str,
        document: Invoice | CreditNote,
        customer_id: str,
        external_ref: str,
        currency_id: str,
        item_ids: Sequence[str | None],
    ) -> dict[str, Any]:
        values = _document_values(document) | {"currency": {"id": currency_id}}
        body = self._fields(kind, values)
        body["entity"] = {"id": customer_id}
        ids = [*item_ids, *[None] * (len(document.lines) - len(item_ids))]
        lines = zip(document.lines, ids, strict=True)
        body["item"] = {"items": [self._line(ln, document.currency, i) for ln, i in lines]}
        body[self.ref_field[kind]] = ref_note(external_ref)
        return body

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for canonical, paths in self.fields[kind].items():
            if values.get(canonical) is not None:
                for path in paths:
                    _set_path(body, path, _wire(values[canonical]))
        return body

    def _line(self, line: InvoiceLine, currency: str, item_id: str | None) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "item": {"id": item_id or self.lines.item},
            "description": line.description,
            "quantity": line.quantity,
            "rate": line.unit_price,
            "amount": quantize(line.net, currency),
            "tax1Amt": quantize(line.tax_amount, currency),
        }
        code = self.lines.taxable_code if line.tax_amount else self.lines.non_taxable_code
        if code:
            wire["taxCode"] = {"id": code}
        return wire

    def _discount(self, document: Invoice | CreditNote) -> dict[str, Any]:
        if document.discount == 0:
            return {}
        return {
            "discountItem": {"id": self.lines.discount_item},
            "discountRate": -quantize(document.discount, document.currency),
        }

    def _address(self, text: str) -> dict[str, Any]:
        line: dict[str, Any] = {"defaultBilling": True}
        _set_path(line, self.address["line_field"], text)
        return line


def _application(doc_id: str, amount: Decimal) -> dict[str, Any]:
    return {"doc": {"id": doc_id}, "apply": True, "amount": amount}


def _document_values(document: Invoice | CreditNote) -> dict[str, Any]:
    due = document.due_date if isinstance(document, Invoice) else None
    return {
        "number": document.number,
        "issue_date": document.issue_date,
        "due_date": due,
        "exchange_rate": document.exchange_rate,
    }


def ledger_total(body: Mapping[str, Any]) -> Decimal:
    """What NetSuite will compute as ``total``: line amounts + line taxes + discountRate."""
    lines = body.get("item", {}).get("items", [])
    total = sum((Decimal(ln["amount"]) + Decimal(ln.get("tax1Amt", 0)) for ln in lines), Decimal(0))
    return total + Decimal(body.get("discountRate", 0))


def check_total(document: Invoice | CreditNote, body: Mapping[str, Any]) -> None:
    expected = ledger_total(body)
    if expected != document.total:
        raise PermanentLedgerError(
            f"{document.kind} {document.number}: NetSuite would total {expected} (lines "
            f"rounded to the cent, plus tax, less discount) but the document says "
            f"{document.total}: fix the line amounts or the total in the source",
            code="syncledger.total_mismatch",
        )


def _wire(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


# ------------------------------------------------------------------ loading


def load_mapping(path: Path | None = None) -> NetSuiteMapping:
    """The mapping at ``path``, or the default ``adapters/mappings/netsuite.toml``."""
    data = path.read_bytes() if path else _default_mapping_bytes()
    try:
        raw = tomllib.loads(data.decode())
        return _mapping_from(raw, hashlib.sha256(data).hexdigest())
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"NetSuite mapping {path or 'default'} is invalid: {exc}") from exc


def _default_mapping_bytes() -> bytes:
    return resources.files("adapters").joinpath("mappings/netsuite.toml").read_bytes()


def _mapping_from(raw: Mapping[str, Any], digest: str) -> NetSuiteMapping:
    invoice = raw["invoice"]
    return NetSuiteMapping(
        version=str(raw["version"]),
        digest=digest,
        timezone=str(raw["account"]["timezone"]),
        subsidiary=str(raw["account"]["subsidiary"]),
        fields={kind: _fields_of(raw, kind) for kind in KINDS},
        ref_field={kind: str(_section(raw, kind)["reference"]["field"]) for kind in KINDS},
        address={k: str(v) for k, v in raw["customer"]["address"].items()},
        lines=Lines(
            item=str(invoice["lines"]["item"]),
            taxable_code=str(invoice["lines"]["taxable_code"]),
            non_taxable_code=str(invoice["lines"]["non_taxable_code"]),
            discount_item=str(invoice["discount"]["item"]),
        ),
        refund_account=str(_section(raw, "refund")["account"]),
        new_item_income_account=str(raw.get("new_items", {}).get("income_account", "")),
    )


def _section(raw: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """A kind's section over its defaults; only an ``OPTIONAL_SECTIONS`` one may be absent."""
    return OPTIONAL_SECTIONS.get(kind, {}) | raw[kind] if kind in raw else OPTIONAL_SECTIONS[kind]


def _fields_of(raw: Mapping[str, Any], kind: str) -> dict[str, tuple[str, ...]]:
    """The file's field paths over the defaults."""
    return DEFAULT_FIELDS.get(kind, {}) | _paths(_section(raw, kind)["fields"])


def _paths(table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in table.items()}
