"""Canonical records → NetSuite REST record JSON, driven by ``adapters/netsuite/mapping.toml``.

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
refunds send ``tranDate`` and ``currency`` and keep our reference in ``memo``.

Numbers. Amounts, quantities, rates and exchange rates go out as JSON numbers written
exactly (``adapters.jsonwire``: a ``Decimal`` is rendered digit for digit, never through a
float); the REST record metadata types them ``number`` (``netsuite_schema`` in the
sandbox cites it). Record values are read from the models' attributes, never from
``model_dump()``, which turns ``Decimal`` into text.

Tax (SuiteTax). Oracle: "REST web services do not support legacy tax features. To work
with taxation through REST web services, you must have the SuiteTax feature enabled"
(https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1558962745.html).
So no ``tax1Amt`` / line ``taxCode`` / ``vatRegNumber`` is sent. A document's tax goes out
as SuiteTax takes an explicit tax: ``taxDetailsOverride: true`` and one ``taxDetails`` line
per taxed item line (Oracle help, "Invoice" in REST: the ``taxdetails`` sublist and
``taxdetailsoverride`` are the SuiteTax fields; the tax details line's fields are those of
the schema browser's ``TaxDetails``: ``taxDetailsReference``, ``taxType``, ``taxCode``,
``taxBasis``, ``taxRate``, ``taxAmount``; UI help "Overriding Tax Types in Transactions":
all are mandatory under the override). Each item line carries the ``taxDetailsReference``
its tax line names (``line<n>``, set by us as SuiteScript integrations set it: that REST
takes a client-chosen reference is an assumption). The tax type and codes come from the
mapping's ``[tax]`` section (``taxable_code`` for a line with tax, ``non_taxable_code``,
when set, for one without; a line with tax and no code configured is refused,
``syncledger.tax_code_missing``). ``taxRate`` is the line's tax over its amount, in
percent to four places: informative under the override, where the amount is what counts.
The override is sent even when no line carries tax, so NetSuite's tax engine never adds a
tax the source did not have. Whatever NetSuite does with it, the adapter reads the
document back after every write and refuses to call it done when NetSuite holds another
total, tax or line count (``netsuite.NetSuiteLedger``, ``syncledger.ledger_total_differs``).

Tax ids. SuiteTax keeps a customer's tax registrations in the ``taxRegistration`` sublist
(REST metadata: ``CustomerTaxRegistrationCollection``; SOAP ``CustomerTaxRegistration``:
``nexusCountry``, ``taxRegistrationNumber``). ``Customer.tax_id`` is written there, one
line in the country ``[tax] registration_country`` names, replacing the list; without a
country configured the tax id is not written (the source keeps it).

Refunds. A ``customerRefund`` needs the bank ``account`` it is paid from and a
``paymentMethod`` (both in the record metadata, found mandatory there: issue 10):
``[refund] account`` and ``payment_method``; a refund is refused
(``syncledger.refund_setup_missing``) while either is unset.

Items. A line is booked to the item its ``item_code`` names (resolved to an internal id by
``netsuite_items``), else to ``[invoice.lines] item``. Items the adapter creates are
service sale items (``new_item_body``) in the ``[account]`` subsidiary, booked to
``[new_items] income_account`` or, when that is empty, to the default line item's income
account as NetSuite has it, with the tax schedule ``[new_items] tax_schedule`` (the item's
``taxSchedule`` was found mandatory in the record metadata, issue 10; Oracle's SuiteTax
help calls schedules optional, so sending one is the safe side; an item is not created
while it is unset, ``syncledger.no_tax_schedule``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.kit.wire_mapping import ref_note as ref_note
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.money import quantize

RECORD = {
    "customer": "customer",
    "invoice": "invoice",
    "payment": "customerPayment",
    "credit_note": "creditMemo",
    "refund": "customerRefund",
}
DEFAULT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "refund": {"refunded_on": ("tranDate",), "currency": ("currency",)},
}
#: sections the mapping file may leave out, with what stands in for them
OPTIONAL_SECTIONS: dict[str, dict[str, Any]] = {
    "refund": {"fields": {}, "reference": {"field": "memo"}, "account": "", "payment_method": ""}
}
TAX_RATE_PLACES = Decimal("0.0001")
#: legacy tax fields (SOAP schema: Customer.vatRegNumber, line tax1Amt/taxCode/taxRate1/2):
#: REST web services do not support legacy tax, so a mapping may not name them
LEGACY_TAX_FIELDS = frozenset({"vatRegNumber", "vatRegNum", "tax1Amt", "taxCode", "taxItem"})
KIND_OF_RECORD = {record: kind for kind, record in RECORD.items()}
EXTERNAL_ID_PREFIX = "sl_"
VOID_MARKER = "syncledger-void:"
VOID_REF_PREFIX = "syncledger/void/"
VOID = kit.Marker(VOID_MARKER)
KINDS = tuple(RECORD)


def external_id(external_ref: str) -> str:
    """The externalId for our reference: deterministic, URL-safe, 43 characters."""
    return EXTERNAL_ID_PREFIX + hashlib.sha256(external_ref.encode()).hexdigest()[:40]


def void_ref(invoice_id: str) -> str:
    """The reference kept on the credit memo that books the void of invoice ``invoice_id``."""
    return f"{VOID_REF_PREFIX}{invoice_id}"


def is_void_ref(ref: str | None) -> bool:
    return ref is not None and ref.startswith(VOID_REF_PREFIX)


#: the note naming the credit memo that books a void
void_note = VOID.note
#: the credit memo a note names, if any
void_in = VOID.found_in


def record_of(kind: str) -> str:
    return kit.handled(RECORD, kind, "NetSuite")


@dataclass(frozen=True, slots=True)
class Lines:
    item: str
    discount_item: str


@dataclass(frozen=True, slots=True)
class Tax:
    """``[tax]``: SuiteTax internal ids ("" = not set up)."""

    type: str = ""
    taxable_code: str = ""
    non_taxable_code: str = ""
    registration_country: str = ""  # ISO code customers' tax ids are registered in


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
    tax: Tax = Tax()
    refund_account: str = ""  # internal id of the bank account refunds are paid from
    refund_payment_method: str = ""  # internal id of the refunds' payment method
    #: internal id of the income account new items are booked to ("" = the default item's)
    new_item_income_account: str = ""
    new_item_tax_schedule: str = ""  # internal id of new items' tax schedule

    # ------------------------------------------------------------- bodies

    def customer_body(
        self, customer: Customer, external_ref: str, currency_id: str
    ) -> dict[str, Any]:
        values = _values(customer) | {"currency": {"id": currency_id}}
        body = self._fields("customer", values) | {"isPerson": False}
        body[self.ref_field["customer"]] = ref_note(external_ref)
        if self.subsidiary:
            body["subsidiary"] = {"id": self.subsidiary}
        if customer.billing_address:
            body[self.address["sublist"]] = {"items": [self._address(customer.billing_address)]}
        if self._registers(customer):
            body["taxRegistration"] = {"items": [self._registration(str(customer.tax_id))]}
        return body

    def customer_sublists(self, customer: Customer) -> tuple[str, ...]:
        address = (self.address["sublist"],) if customer.billing_address else ()
        return address + (("taxRegistration",) if self._registers(customer) else ())

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
        return self._document(invoice, customer_id, external_ref, currency_id, item_ids)

    def document_sublists(self, kind: str) -> tuple[str, ...]:
        """The sublists a document write replaces: its lines, its tax lines (and, for a
        credit memo, its applications)."""
        return ("item", "taxDetails", "apply") if kind == "credit_note" else ("item", "taxDetails")

    def credit_note_body(
        self,
        credit_note: CreditNote,
        customer_id: str,
        external_ref: str,
        currency_id: str,
        applications: Mapping[str, Decimal],
        item_ids: Sequence[str | None] = (),
    ) -> dict[str, Any]:
        body = self._document(credit_note, customer_id, external_ref, currency_id, item_ids)
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
        values = _values(payment) | {"currency": {"id": currency_id}}
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
        payment: its line on the ``apply`` sublist (NetSuite derives ``total`` from it),
        paid from ``[refund] account`` with ``[refund] payment_method``."""
        self._check_refund_setup(refund)
        values = _values(refund) | {"currency": {"id": currency_id}}
        body = self._fields("refund", values)
        body["customer"] = {"id": customer_id}
        body["apply"] = {"items": [_application(credit_id, refund.amount)]}
        body[self.ref_field["refund"]] = ref_note(external_ref)
        body["account"] = {"id": self.refund_account}
        body["paymentMethod"] = {"id": self.refund_payment_method}
        return body

    def new_item_body(self, code: str, income_account: str) -> dict[str, Any]:
        """A service sale item named ``code`` (Item Name/Number) booked to ``income_account``
        with the ``[new_items]`` tax schedule."""
        if not self.new_item_tax_schedule:
            raise PermanentLedgerError(
                f"cannot create NetSuite item {code!r}: new items need a tax schedule; set "
                "[new_items] tax_schedule in the NetSuite mapping file",
                code="syncledger.no_tax_schedule",
            )
        body: dict[str, Any] = {
            "itemId": code,
            "incomeAccount": {"id": income_account},
            "taxSchedule": {"id": self.new_item_tax_schedule},
        }
        if self.subsidiary:
            body["subsidiary"] = {"items": [{"id": self.subsidiary}]}
        return body

    # ------------------------------------------------------------- helpers

    def _document(
        self,
        document: Invoice | CreditNote,
        customer_id: str,
        external_ref: str,
        currency_id: str,
        item_ids: Sequence[str | None],
    ) -> dict[str, Any]:
        """The document's body with its lines, tax, discount and our reference; refused
        when NetSuite would total it otherwise than the source."""
        kind = document.kind
        values = _document_values(document) | {"currency": {"id": currency_id}}
        body = self._fields(kind, values)
        body["entity"] = {"id": customer_id}
        ids = [*item_ids, *[None] * (len(document.lines) - len(item_ids))]
        lines = list(zip(document.lines, ids, strict=True))
        body["item"] = {
            "items": [self._line(ln, document.currency, i, n) for n, (ln, i) in enumerate(lines)]
        }
        body["taxDetailsOverride"] = True
        body["taxDetails"] = {"items": self._tax_details(document)}
        body[self.ref_field[kind]] = ref_note(external_ref)
        body |= self._discount(document)
        check_total(document, body)
        return body

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return kit.fields_body(self.fields[kind], values)

    def _line(
        self, line: InvoiceLine, currency: str, item_id: str | None, index: int
    ) -> dict[str, Any]:
        return {
            "item": {"id": item_id or self.lines.item},
            "description": line.description,
            "quantity": line.quantity,
            "rate": line.unit_price,
            "amount": quantize(line.net, currency),
            "taxDetailsReference": tax_reference(index),
        }

    def _tax_details(self, document: Invoice | CreditNote) -> list[dict[str, Any]]:
        """One SuiteTax tax line per item line with tax (and, when ``non_taxable_code`` is
        set, a zero one per line without)."""
        details = []
        for index, line in enumerate(document.lines):
            code = self._tax_code(document, line, index)
            if code:
                details.append(self._tax_detail(document, line, index, code))
        return details

    def _tax_code(self, document: Invoice | CreditNote, line: InvoiceLine, index: int) -> str:
        if not line.tax_amount:
            return self.tax.non_taxable_code if self.tax.type else ""
        if not (self.tax.type and self.tax.taxable_code):
            raise PermanentLedgerError(
                f"{document.kind} {document.number} line {index + 1} carries tax "
                f"{line.tax_amount}, but the NetSuite mapping names no SuiteTax tax type and "
                "code: set [tax] type and taxable_code in the mapping file",
                code="syncledger.tax_code_missing",
            )
        return self.tax.taxable_code

    def _tax_detail(
        self, document: Invoice | CreditNote, line: InvoiceLine, index: int, code: str
    ) -> dict[str, Any]:
        basis = document.line_amount(line)
        rate = (line.tax_amount * 100 / basis).quantize(TAX_RATE_PLACES) if basis else Decimal(0)
        return {
            "taxDetailsReference": tax_reference(index),
            "taxType": {"id": self.tax.type},
            "taxCode": {"id": code},
            "taxBasis": basis,
            "taxRate": rate,
            "taxAmount": quantize(line.tax_amount, document.currency),
        }

    def _registers(self, customer: Customer) -> bool:
        return bool(customer.tax_id and self.tax.registration_country)

    def _registration(self, tax_id: str) -> dict[str, Any]:
        country = {"id": self.tax.registration_country}
        return {"nexusCountry": country, "taxRegistrationNumber": tax_id}

    def _check_refund_setup(self, refund: Refund) -> None:
        if not (self.refund_account and self.refund_payment_method):
            raise PermanentLedgerError(
                f"refund {refund.id}: a NetSuite customer refund needs the bank account it is "
                "paid from and a payment method: set [refund] account and payment_method in "
                "the NetSuite mapping file",
                code="syncledger.refund_setup_missing",
            )

    def _discount(self, document: Invoice | CreditNote) -> dict[str, Any]:
        if document.discount == 0:
            return {}
        return {
            "discountItem": {"id": self.lines.discount_item},
            "discountRate": -quantize(document.discount, document.currency),
        }

    def _address(self, text: str) -> dict[str, Any]:
        line: dict[str, Any] = {"defaultBilling": True}
        kit.set_path(line, self.address["line_field"], text)
        return line


def tax_reference(index: int) -> str:
    """The ``taxDetailsReference`` tying item line ``index`` (from 0) to its tax line."""
    return f"line{index + 1}"


def _application(doc_id: str, amount: Decimal) -> dict[str, Any]:
    return {"doc": {"id": doc_id}, "apply": True, "amount": amount}


def _values(record: Customer | Payment | Refund) -> dict[str, Any]:
    """A record's fields as the model holds them (``Decimal`` stays ``Decimal``; the
    models' ``model_dump`` would serialize it to text)."""
    return {name: getattr(record, name) for name in type(record).model_fields}


def _document_values(document: Invoice | CreditNote) -> dict[str, Any]:
    due = document.due_date if isinstance(document, Invoice) else None
    return {
        "number": document.number,
        "issue_date": document.issue_date,
        "due_date": due,
        "exchange_rate": document.exchange_rate,
    }


def ledger_tax(body: Mapping[str, Any]) -> Decimal:
    """The tax a document body carries: the sum of its SuiteTax tax lines."""
    details = body.get("taxDetails", {}).get("items", [])
    return sum((Decimal(d["taxAmount"]) for d in details), Decimal(0))


def ledger_total(body: Mapping[str, Any]) -> Decimal:
    """What NetSuite will compute as ``total``: line amounts + tax lines + discountRate."""
    lines = body.get("item", {}).get("items", [])
    total = sum((Decimal(ln["amount"]) for ln in lines), Decimal(0)) + ledger_tax(body)
    return total + Decimal(body.get("discountRate", 0))


def check_total(document: Invoice | CreditNote, body: Mapping[str, Any]) -> None:
    kit.check_total(document, ledger_total(body), "NetSuite")


# ------------------------------------------------------------------ loading


def load_mapping(path: Path | None = None) -> NetSuiteMapping:
    """The mapping at ``path``, or the default ``adapters/netsuite/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.netsuite", "NetSuite", path, _mapping_from)


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
            discount_item=str(invoice["discount"]["item"]),
        ),
        tax=_tax_of(raw.get("tax", {})),
        refund_account=str(_section(raw, "refund")["account"]),
        refund_payment_method=str(_section(raw, "refund")["payment_method"]),
        new_item_income_account=str(raw.get("new_items", {}).get("income_account", "")),
        new_item_tax_schedule=str(raw.get("new_items", {}).get("tax_schedule", "")),
    )


def _tax_of(table: Mapping[str, Any]) -> Tax:
    return Tax(
        type=str(table.get("type", "")),
        taxable_code=str(table.get("taxable_code", "")),
        non_taxable_code=str(table.get("non_taxable_code", "")),
        registration_country=str(table.get("registration_country", "")),
    )


def _section(raw: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """A kind's section over its defaults; only an ``OPTIONAL_SECTIONS`` one may be absent."""
    return OPTIONAL_SECTIONS.get(kind, {}) | raw[kind] if kind in raw else OPTIONAL_SECTIONS[kind]


def _fields_of(raw: Mapping[str, Any], kind: str) -> dict[str, tuple[str, ...]]:
    """The file's field paths over the defaults; a legacy tax field is refused (REST
    supports SuiteTax only: see the module docstring)."""
    fields = DEFAULT_FIELDS.get(kind, {}) | kit.paths(_section(raw, kind)["fields"])
    legacy = sorted(p for paths in fields.values() for p in paths if p in LEGACY_TAX_FIELDS)
    if legacy:
        raise ConfigurationError(
            f"NetSuite mapping [{kind}.fields] names {', '.join(legacy)}, a legacy tax field "
            "REST web services do not support: remove it (tax ids go to the SuiteTax "
            "taxRegistration sublist through [tax] registration_country)"
        )
    return fields
