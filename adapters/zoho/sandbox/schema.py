"""Request bodies checked against Zoho Books' published API schemas, as a rule table.

Source: the Books v3 OpenAPI documents Zoho publishes beside each module's reference
page (zoho.com/books/api/v3/<module>/, "Download <Module> OpenAPI Document"): files
``invoices.yml``, ``credit-notes.yml``, ``customer-payments.yml``, ``contacts.yml`` and
``items.yml``, read as copied at fordez/zoho-books-mcp-server-openapi@972c369
(``mcp_server/openapi-all/``). Zoho states no licence for them, so they are not shipped
here: the facts this sandbox needs are encoded below, each table naming the schema it
comes from (``components.schemas.<name>``).

What is checked, before a body reaches the book:

- every top-level field is one the operation's request schema lists (create and update
  schemas together where both exist), and every ``line_items[]`` field one its line
  schema lists (why an undocumented field is refused: ``refusals.py``,
  ``schema.unknown_field``);
- the fields each schema marks ``required`` (``REQUIRED``, ``LINE_REQUIRED``): notably
  ``line_items[].item_id`` on invoices (``create-an-invoice-request`` and
  ``update-an-invoice-request`` both require it), and ``date`` on credit notes;
- ``discount_type``, where sent, is ``entity_level`` or ``item_level`` (invoices'
  ``discount_type`` description).

Not encoded: where a schema marks fields of a nested object required at the top level
(``create-a-payment-request`` lists ``invoice_id`` and ``amount_applied``, which are
fields of ``invoices[]``; ``create-a-credit-note-request`` lists ``creditnote_number``,
which Zoho generates unless ``ignore_auto_number_generation`` is true), the sandbox
follows the field descriptions, not the list. Types and lengths are checked by the
operations themselves (``rules.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from syncledger.adapters.zoho.sandbox.errors import refuse

#: operation → the top-level fields its request schema lists
FIELDS: Final[dict[str, frozenset[str]]] = {
    # invoices.yml: create-an-invoice-request ∪ update-an-invoice-request
    "invoice": frozenset({
        "adjustment", "adjustment_description", "allow_partial_payments", "avatax_exempt_no",
        "avatax_tax_code", "avatax_use_code", "batch_payments", "billing_address_id",
        "cfdi_reference_type", "cfdi_usage", "contact_persons", "contact_persons_associated",
        "currency_id", "custom_body", "custom_fields", "custom_subject", "customer_id", "date",
        "discount", "discount_type", "due_date", "exchange_rate", "expense_id", "gst_no",
        "gst_treatment", "invoice_number", "invoiced_estimate_id", "is_discount_before_tax",
        "is_inclusive_tax", "is_reverse_charge_applied", "line_item_id", "line_items",
        "location_id", "notes", "payment_options", "payment_terms", "payment_terms_label",
        "place_of_supply", "reason", "recurring_invoice_id", "reference_invoice_id",
        "reference_number", "salesorder_item_id", "salesperson_name", "send",
        "shipping_address_id", "shipping_charge", "tax_authority_id", "tax_exemption_id",
        "tax_id", "tax_treatment", "template_id", "terms", "time_entry_ids", "vat_treatment",
    }),
    # credit-notes.yml: create-a-credit-note-request ∪ update-a-credit-note-request (no
    # discount, discount_type, is_discount_before_tax, adjustment or shipping_charge)
    "creditnote": frozenset({
        "account_id", "avatax_exempt_no", "avatax_tax_code", "avatax_use_code",
        "cfdi_reference_type", "cfdi_usage", "contact_persons_associated", "creditnote_number",
        "currency_id", "custom_fields", "customer_id", "date", "description", "exchange_rate",
        "gst_no", "gst_treatment", "ignore_auto_number_generation", "is_draft",
        "is_inclusive_tax", "is_reverse_charge_applied", "item_id", "line_items",
        "location_id", "name", "notes", "place_of_supply", "quantity", "rate",
        "reference_number", "tax_authority_id", "tax_exemption_id", "tax_id",
        "tax_treatment", "template_id", "terms", "unit", "vat_treatment",
    }),
    # customer-payments.yml: create-a-payment-request
    "customerpayment": frozenset({
        "account_id", "amount", "amount_applied", "bank_charges", "contact_persons",
        "custom_fields", "customer_id", "date", "description", "exchange_rate", "invoice_id",
        "invoices", "location_id", "payment_form", "payment_mode", "reference_number",
        "retainerinvoice_id", "tax_amount_withheld",
    }),
    # customer-payments.yml: refund-an-excess-customer-payment-request; credit-notes.yml:
    # refund-credit-note-request (the same fields)
    "refund": frozenset({
        "amount", "date", "description", "exchange_rate", "from_account_id", "payment_form",
        "reference_number", "refund_mode",
    }),
    # credit-notes.yml: credit-to-an-invoice-request
    "apply_credits": frozenset({"amount_applied", "invoice_id", "invoices"}),
    # contacts.yml: create-a-contact-request ∪ update-a-contact-request
    "contact": frozenset({
        "avatax_exempt_no", "avatax_use_code", "billing_address", "company_name",
        "contact_name", "contact_number", "contact_persons", "contact_type", "country_code",
        "credit_limit", "currency_id", "custom_fields", "customer_sub_type",
        "default_templates", "facebook", "gst_no", "gst_treatment",
        "ignore_auto_number_generation", "is_portal_enabled", "is_taxable", "is_tds_registered",
        "language_code", "legal_name", "notes", "opening_balances", "owner_id", "payment_terms",
        "payment_terms_label", "place_of_contact", "pricebook_id", "shipping_address", "tags",
        "tax_authority_id", "tax_authority_name", "tax_exemption_certificate_number",
        "tax_exemption_code", "tax_exemption_id", "tax_id", "tax_id_type", "tax_id_value",
        "tax_reg_no", "tax_regime", "tax_treatment", "tds_tax_id", "track_1099", "twitter",
        "vat_reg_no", "vat_treatment", "website",
    }),
    # items.yml: create-an-item-request
    "item": frozenset({
        "account_id", "avatax_tax_code", "avatax_use_code", "custom_fields", "description",
        "hsn_or_sac", "inventory_account_id", "is_taxable", "item_tax_preferences",
        "item_type", "locations", "name", "product_type", "purchase_account_id",
        "purchase_description", "purchase_rate", "purchase_tax_exemption_id",
        "purchase_tax_rule_id", "rate", "reorder_level", "sales_tax_rule_id",
        "sat_item_key_code", "sku", "tax_exemption_id", "tax_id", "tax_percentage",
        "unitkey_code", "vendor_id",
    }),
}  # fmt: skip

#: operation → the fields of one ``line_items[]`` entry its schemas list
LINE_FIELDS: Final[dict[str, frozenset[str]]] = {
    # invoices.yml: line_items of create-an-invoice-request ∪ update-an-invoice-request
    "invoice": frozenset({
        "bcy_rate", "bill_id", "bill_item_id", "description", "discount", "discount_amount",
        "expense_id", "expense_receipt_name", "header_id", "header_name", "hsn_or_sac",
        "item_id", "item_order", "location_id", "name", "product_type", "project_id",
        "quantity", "rate", "salesorder_item_id", "sat_item_key_code", "tags", "tax_id",
        "tax_name", "tax_percentage", "tax_treatment_code", "tax_type", "tds_tax_id",
        "time_entry_ids", "unit", "unitkey_code",
    }),
    # credit-notes.yml: line_items of create-a-credit-note-request ∪ the line_items schema
    # update-a-credit-note-request refers to (which adds rate, unit and discount)
    "creditnote": frozenset({
        "account_id", "account_name", "avatax_tax_code", "avatax_use_code", "code",
        "description", "discount", "hsn_or_sac", "invoice_id", "invoice_item_id",
        "item_custom_fields", "item_id", "item_order", "line_item_id", "location_id",
        "location_name", "name", "product_type", "project_id", "quantity", "rate",
        "sat_item_key_code", "serial_numbers", "tax_exemption_code", "tax_exemption_id",
        "tax_id", "tax_treatment_code", "tds_tax_id", "type", "unit", "unitkey_code",
    }),
}  # fmt: skip

#: operation → the fields its request schema marks required (see the module docstring)
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "invoice": ("customer_id", "line_items"),
    "creditnote": ("customer_id", "date", "line_items"),
    "customerpayment": ("customer_id", "payment_mode", "amount", "date", "invoices"),
    "refund": ("date", "amount", "from_account_id"),
    "contact": ("contact_name",),
    "item": ("name", "rate"),
}
#: operation → the line fields its schema marks required (invoices.yml: ``required:
#: [item_id]`` on the line items of both invoice request schemas)
LINE_REQUIRED: Final[dict[str, tuple[str, ...]]] = {"invoice": ("item_id",)}
#: invoices.yml ``discount_type``: "entity_level ... item_level"
DISCOUNT_TYPES: Final = frozenset({"entity_level", "item_level"})


def check_body(operation: str, body: Mapping[str, Any], *, update: bool = False) -> None:
    """Refuse ``body`` when it sends a field ``operation``'s schema does
    not list or, unless ``update`` (a PUT sends only what changes), leaves out a field
    it requires."""
    _check_fields(body, FIELDS[operation])
    if not update:
        _check_required(body, REQUIRED.get(operation, ()))
    if "discount_type" in body and body["discount_type"] not in DISCOUNT_TYPES:
        raise refuse("schema.discount_type")
    lines = body.get("line_items")
    if operation in LINE_FIELDS and isinstance(lines, list):
        for line in lines:
            if isinstance(line, Mapping):
                _check_fields(line, LINE_FIELDS[operation])
                _check_required(line, LINE_REQUIRED.get(operation, ()))


def _check_fields(body: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise refuse("schema.unknown_field", field=unknown[0])


def _check_required(body: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        if body.get(field) in (None, ""):
            raise refuse("field.required", field=field)
