"""The request bodies the Sage sandbox accepts, field by field: Sage Accounting v3.1's
published request schemas as a rule table (names, JSON types, lengths).

Source: Sage's swagger, ``https://developer.sage.com/api/accounting/files/swagger.full.json``
(Swagger 2.0, API version 3.1), read in the unmodified copy that nook-io/python-sage keeps
as ``openapi.json`` (commit aee129c). The file carries no licence, so it is not shipped
here: these are the facts the sandbox needs, each table naming the definition it comes
from.

- Field names and JSON types: the request definitions ``postContacts`` / ``putContacts``
  (``contact``), ``postSalesInvoices`` / ``putSalesInvoices`` (``sales_invoice``),
  ``postSalesCreditNotes`` / ``putSalesCreditNotes`` (``sales_credit_note``),
  ``postContactPayments`` (``contact_payment``), ``postContactAllocations``
  (``contact_allocation``), ``postServices`` (``service``), ``postProducts``
  (``product``). POST and PUT list the same fields for each resource. Document lines on a
  PUT carry no ``id`` and no ``_destroy``: ``putSalesInvoices.sales_invoice.invoice_lines``
  lists the same line fields as the POST.
- Lengths: the request definitions publish none; the matching read models do
  (``maxLength``): ``Contact`` (``reference`` 10, ``name`` 100, ``notes`` 4000, ...),
  ``Address`` (each line, ``city``, ``region`` and ``name`` 50, ``postal_code`` 10),
  ``ContactPerson`` (``name``, ``job_title``, ``telephone``, ``mobile``, ``fax`` 50,
  ``email`` 100), ``SalesInvoice`` / ``SalesCreditNote`` (``reference`` 25, ``notes``
  2000, ...), ``ContactPayment`` (``reference`` 25: "An upper length limit of 25 or 40
  characters is imposed conditionally"; the sandbox applies 25), ``Service`` /
  ``Product`` (``item_code`` and ``description`` 255, ``notes`` 500).

What a body that does not fit gets: ``refusals.py`` (``field.unknown``, ``field.type``,
``field.too_long``); syncledger must never send a field the definition does not list. A
number must be a JSON number (``"10.00"`` is a string), as the definitions type it.
``idempotency_id`` is taken off the body before this check (developer.sage.com,
Idempotency).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.adapters.sage.sandbox.errors import refuse


@dataclass(frozen=True, slots=True)
class Attr:
    """One field: its JSON type, its longest string, and what an object or array holds."""

    kind: str  # string, number, integer, boolean, object, array
    max_length: int | None = None
    fields: Mapping[str, Attr] = field(default_factory=dict)  # object, or array of objects
    items: str | None = None  # array of scalars: their kind


Schema = Mapping[str, Attr]

S, N, I, B = Attr("string"), Attr("number"), Attr("integer"), Attr("boolean")  # noqa: E741


def text(limit: int) -> Attr:
    return Attr("string", limit)


def strings() -> Attr:
    return Attr("array", items="string")


#: ``Address`` maxLength
ADDRESS: Schema = {
    "address_line_1": text(50),
    "address_line_2": text(50),
    "city": text(50),
    "postal_code": text(10),
    "country_id": S,
    "bank_account_id": S,
    "contact_id": S,
    "address_type_id": S,
    "name": text(50),
    "region": text(50),
    "country_group_id": S,
    "is_main_address": B,
}
#: a document's addresses (``postSalesInvoices.sales_invoice.main_address``)
DOCUMENT_ADDRESS: Schema = {
    k: v
    for k, v in ADDRESS.items()
    if k not in ("bank_account_id", "contact_id", "name", "is_main_address")
}
#: ``ContactPerson`` maxLength
CONTACT_PERSON: Schema = {
    "contact_person_type_ids": strings(),
    "name": text(50),
    "job_title": text(50),
    "telephone": text(50),
    "mobile": text(50),
    "email": text(100),
    "fax": text(50),
    "is_main_contact": B,
    "address_id": S,
    "is_preferred_contact": B,
}
#: ``postContacts.contact``, lengths from ``Contact``
CONTACT: Schema = {
    "name": text(100),
    "contact_type_ids": strings(),
    "reference": text(10),
    "default_sales_ledger_account_id": S,
    "default_sales_tax_rate_id": S,
    "default_purchase_ledger_account_id": S,
    "tax_number": text(255),
    "notes": text(4000),
    "locale": text(10),
    "credit_limit": N,
    "credit_days": I,
    "credit_terms_and_conditions": text(2000),
    "product_sales_price_type_id": S,
    "source_guid": text(255),
    "currency_id": S,
    "aux_reference": text(4),
    "registered_number": text(25),
    "tax_calculation": S,
    "auxiliary_account": text(25),
    "main_address": Attr("object", fields=ADDRESS),
    "delivery_address": Attr("object", fields=ADDRESS),
    "main_contact_person": Attr("object", fields=CONTACT_PERSON),
    "bank_account_details": Attr(
        "object",
        fields={k: S for k in ("account_name", "account_number", "sort_code", "bic", "iban")},
    ),
    "tax_treatment": Attr(
        "object",
        fields={
            k: B
            for k in (
                "home_tax",
                "eu_tax_registered",
                "eu_not_tax_registered",
                "rest_of_world_tax",
                "is_importer",
            )
        },
    ),
}
#: ``postSalesInvoices.sales_invoice.invoice_lines`` items (credit note lines alike)
DOCUMENT_LINE: Schema = {
    "description": S,
    "ledger_account_id": S,
    "unit_price": N,
    "product_id": S,
    "service_id": S,
    "trade_of_asset": B,
    "quantity": N,
    "net_amount": N,
    "tax_rate_id": S,
    "tax_amount": N,
    "total_amount": N,
    "base_currency_unit_price": N,
    "unit_price_includes_tax": B,
    "base_currency_net_amount": N,
    "base_currency_tax_amount": N,
    "base_currency_total_amount": N,
    "eu_goods_services_type_id": S,
    "discount_amount": N,
    "base_currency_discount_amount": N,
    "discount_percentage": N,
    "eu_sales_description_id": S,
}
TAX_ANALYSIS: Schema = {
    "tax_rate_id": S,
    "net_amount": N,
    "tax_amount": N,
    "total_amount": N,
    "goods_amount": N,
    "service_amount": N,
}
_DOCUMENT_COMMON: Schema = {
    "contact_id": S,
    "date": S,
    "cis_applicable_amount": N,
    "base_currency_cis_applicable_amount": N,
    "total_after_cis_deduction": N,
    "base_currency_total_after_cis_deduction": N,
    "contact_name": text(255),
    "contact_reference": text(255),
    "reference": text(25),
    "notes": text(2000),
    "shipping_net_amount": N,
    "shipping_tax_rate_id": S,
    "shipping_tax_amount": N,
    "shipping_total_amount": N,
    "net_amount": N,
    "tax_amount": N,
    "total_amount": N,
    "currency_id": S,
    "exchange_rate": N,
    "inverse_exchange_rate": N,
    "base_currency_shipping_net_amount": N,
    "base_currency_shipping_tax_amount": N,
    "base_currency_shipping_total_amount": N,
    "total_quantity": N,
    "total_discount_amount": N,
    "base_currency_total_discount_amount": N,
    "base_currency_net_amount": N,
    "base_currency_tax_amount": N,
    "base_currency_total_amount": N,
    "status_id": S,
    "sent": B,
    "tax_address_region_id": S,
    "withholding_tax_rate": N,
    "withholding_tax_amount": N,
    "base_currency_withholding_tax_amount": N,
    "main_address": Attr("object", fields=DOCUMENT_ADDRESS),
    "delivery_address": Attr("object", fields=DOCUMENT_ADDRESS),
    "tax_analysis": Attr("array", fields=TAX_ANALYSIS),
}
#: ``postSalesInvoices.sales_invoice``, lengths from ``SalesInvoice``
SALES_INVOICE: Schema = {
    **_DOCUMENT_COMMON,
    "invoice_number_prefix": text(6),
    "invoice_number": S,
    "due_date": S,
    "terms_and_conditions": text(2000),
    "original_quote_estimate_id": S,
    "delivery_performance_date": S,
    "recurring_invoice": Attr(
        "object",
        fields={
            "frequency": I,
            "on_week_day": I,
            "on_day_number": I,
            "recurrence_type": S,
            "recurrence_status_identifier": S,
        },
    ),
    "invoice_lines": Attr("array", fields=DOCUMENT_LINE),
}
#: ``postSalesCreditNotes.sales_credit_note``, lengths from ``SalesCreditNote``
SALES_CREDIT_NOTE: Schema = {
    **_DOCUMENT_COMMON,
    "credit_note_number_prefix": text(6),
    "credit_note_number": S,
    "original_invoice_date": S,
    "terms_and_conditions": text(65535),
    "credit_note_lines": Attr("array", fields=DOCUMENT_LINE),
}
#: ``postContactPayments.contact_payment``, lengths from ``ContactPayment``
CONTACT_PAYMENT: Schema = {
    "transaction_type_id": S,
    "contact_id": S,
    "bank_account_id": S,
    "date": S,
    "total_amount": N,
    "payment_method_id": S,
    "net_amount": N,
    "tax_amount": N,
    "currency_id": S,
    "exchange_rate": N,
    "base_currency_net_amount": N,
    "base_currency_tax_amount": N,
    "base_currency_total_amount": N,
    "base_currency_currency_charge": N,
    "reference": text(25),
    "tax_rate_id": S,
    "allocated_artefacts": Attr("array", fields={"artefact_id": S, "amount": N, "discount": N}),
    "payment_on_account": Attr(
        "object",
        fields={
            "contact_name": S,
            "contact_reference": S,
            "contact_id": S,
            "date": S,
            "reference": S,
            "net_amount": N,
            "tax_amount": N,
            "total_amount": N,
            "outstanding_amount": N,
            "currency_id": S,
            "exchange_rate": N,
            "base_currency_net_amount": N,
            "base_currency_tax_amount": N,
            "base_currency_total_amount": N,
            "base_currency_outstanding_amount": N,
            "status_id": S,
        },
    ),
}
#: ``postContactAllocations.contact_allocation``
CONTACT_ALLOCATION: Schema = {
    "transaction_type_id": S,
    "contact_id": S,
    "date": S,
    "allocated_artefacts": Attr("array", fields={"artefact_id": S, "amount": N}),
}
_ITEM_COMMON: Schema = {
    "description": text(255),
    "sales_ledger_account_id": S,
    "purchase_ledger_account_id": S,
    "item_code": text(255),
    "notes": text(500),
    "sales_tax_rate_id": S,
    "purchase_tax_rate_id": S,
    "source_guid": text(255),
    "purchase_description": text(250),
    "usual_supplier_id": S,
    "active": B,
    "cost_price": N,
}
#: ``postServices.service``, lengths from ``Service``
SERVICE: Schema = {
    **_ITEM_COMMON,
    "sales_rates": Attr(
        "array",
        fields={"rate_name": S, "rate": N, "rate_includes_tax": B, "service_rate_type_id": S},
    ),
}
#: ``postProducts.product``, lengths from ``Product``
PRODUCT: Schema = {
    **_ITEM_COMMON,
    "catalog_item_type_id": S,
    "sales_prices": Attr(
        "array",
        fields={
            "price_name": S,
            "price": N,
            "price_includes_tax": B,
            "product_sales_price_type_id": S,
        },
    ),
}
#: resource → the schema of the body under its key (POST and PUT alike)
SCHEMAS: Mapping[str, Schema] = {
    "contacts": CONTACT,
    "sales_invoices": SALES_INVOICE,
    "sales_credit_notes": SALES_CREDIT_NOTE,
    "contact_payments": CONTACT_PAYMENT,
    "contact_allocations": CONTACT_ALLOCATION,
    "services": SERVICE,
    "products": PRODUCT,
}


def check_body(resource: str, sent: Mapping[str, Any]) -> None:
    """Raise ``SageError`` (422 ``RecordInvalid``) for the first field of ``sent`` the
    resource's published schema does not have, types otherwise, or makes too long."""
    _check_object(SCHEMAS[resource], sent, "")


def _check_object(schema: Schema, value: Mapping[str, Any], prefix: str) -> None:
    for name, item in value.items():
        source = prefix + name
        attr = schema.get(name)
        if attr is None:
            raise refuse("field.unknown", source)
        if item is not None:
            _check_value(attr, item, source)


def _check_value(attr: Attr, value: Any, source: str) -> None:
    if attr.kind == "object":
        _check_object(attr.fields, _of(dict, value, "an object", source), source + ".")
    elif attr.kind == "array":
        for element in _of(list, value, "a list", source):
            if attr.fields:
                member = _of(dict, element, "a list of objects", source)
                _check_object(attr.fields, member, source + ".")
            else:
                _scalar(Attr(attr.items or "string"), element, source)
    else:
        _scalar(attr, value, source)


def _scalar(attr: Attr, value: Any, source: str) -> None:
    if not _is_kind(attr.kind, value):
        raise refuse(
            "field.type", source, kind=f"a{'n' if attr.kind[0] in 'aeiou' else ''} {attr.kind}"
        )
    if attr.max_length is not None and len(value) > attr.max_length:
        raise refuse("field.too_long", source, limit=attr.max_length)


def _is_kind(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    return {
        "string": isinstance(value, str),
        "number": isinstance(value, int | Decimal),
        "integer": isinstance(value, int),
        "boolean": False,
    }[kind]


def _of(kind: type, value: Any, name: str, source: str) -> Any:
    if not isinstance(value, kind):
        raise refuse("field.type", source, kind=name)
    return value
