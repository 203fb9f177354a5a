"""Products in the Odoo sandbox (``product`` module; the ``account`` fields on them).

What is modelled, after Odoo 18/19's ``product.product`` (with the ``product.template``
fields it inherits):

- ``create`` of ``name`` (required), ``default_code`` (Internal Reference), ``type`` (a
  selection of ``consu`` — Goods, the default —, ``service`` or ``combo``; Odoo 18 dropped
  ``product``), ``sale_ok``, ``list_price``, ``property_account_income_id`` and ``active``.
  ``default_code`` is not unique, as in Odoo (only the form's onchange warns "The Reference
  '…' already exists."); read, a product's display name is ``[default_code] name``;
- an invoice line's ``product_id`` naming no product is refused as Odoo refuses it: the
  line's precomputed fields read the product (``_compute_product_uom_id``…), and reading a
  record that does not exist raises ``MissingError`` "Record does not exist or has been
  deleted.\\n(Record: product.product(<id>,), User: <uid>)" (``odoo/orm/fields.py``
  ``Field.__get__``), HTTP 404 over JSON-2, fault 2 over XML-RPC; the whole call is rolled
  back. A value that is not an id is a ``ValueError`` ("Wrong value for …");
- a product line's ``account_id`` is its product's ``property_account_income_id``, else
  the journal's ``default_account_id`` (``account.move.line._compute_account_id``; product
  categories are not modelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.odoo.sandbox.book import OdooBook, Record
from syncledger.adapters.odoo.sandbox.errors import missing_error, validation_error, value_error

MODEL = "product.product"
FIELDS = frozenset(
    {
        "name",
        "default_code",
        "type",
        "sale_ok",
        "list_price",
        "property_account_income_id",
        "active",
    }
)
TYPES = ("consu", "service", "combo")


def create_product(book: OdooBook, vals: Any) -> Record:
    if not isinstance(vals, Mapping):
        raise value_error(f"values for {MODEL} must be an object")
    for name in vals:
        if name not in FIELDS:
            raise value_error(f"Invalid field {name!r} on model {MODEL!r}")
    product = _defaults() | dict(vals)
    if not str(product.get("name") or "").strip():
        raise validation_error("Missing required value for the field 'Name' (name)")
    if product["type"] not in TYPES:
        raise value_error(f"Wrong value for product.template.type: {product['type']!r}")
    account = product.get("property_account_income_id")
    if account not in (None, False) and book.get("account.account", account) is None:
        raise missing_error("account.account", f"{account},")
    return book.add(MODEL, product)


def line_product(book: OdooBook, value: Any) -> int | None:
    """An invoice line's ``product_id``: None for no product, else an existing id."""
    if value in (None, False):
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise value_error(f"Wrong value for account.move.line.product_id: {value!r}")
    if book.get(MODEL, value) is None:
        raise missing_error(MODEL, f"{value},")
    return value


def income_account(book: OdooBook, product_id: Any, journal_id: Any) -> int | None:
    """The account a product line is booked to."""
    product = book.get(MODEL, product_id) if product_id else None
    account = (product or {}).get("property_account_income_id")
    if account:
        return int(account)
    journal = book.get("account.journal", journal_id) or {}
    return journal.get("default_account_id") or None


def _defaults() -> Record:
    return {
        "default_code": None,
        "type": "consu",
        "sale_ok": True,
        "list_price": Decimal(1),
        "property_account_income_id": None,
        "active": True,
    }
