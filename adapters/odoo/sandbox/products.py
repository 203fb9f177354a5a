"""Products in the Odoo sandbox (``product`` module; the ``account`` fields on them).

What is modelled, after Odoo 18/19's ``product.product`` (with the ``product.template``
fields it inherits):

- ``create`` of ``name`` (required), ``default_code`` (Internal Reference), ``type`` (a
  selection of ``consu`` — Goods, the default —, ``service`` or ``combo``; Odoo 18 dropped
  ``product``), ``sale_ok``, ``list_price``, ``property_account_income_id`` and ``active``.
  ``default_code`` is not unique, as in Odoo (only the form's onchange warns "The Reference
  '…' already exists."); read, a product's display name is ``[default_code] name``;
- an invoice line's ``product_id`` naming no product is refused as Odoo refuses it
  (``refusals.py``: ``record.missing``, ``values.wrong_value``);
- a product line's ``account_id`` is its product's ``property_account_income_id``, else
  the journal's ``default_account_id`` (``account.move.line._compute_account_id``; product
  categories are not modelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.odoo.sandbox.book import OdooBook, Record
from syncledger.adapters.odoo.sandbox.errors import refuse

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
        raise refuse("values.not_object", model=MODEL)
    for name in vals:
        if name not in FIELDS:
            raise refuse("values.invalid_field", name=name, model=MODEL)
    product = _defaults() | dict(vals)
    if not str(product.get("name") or "").strip():
        raise refuse("product.name_required")
    if product["type"] not in TYPES:
        raise refuse("values.wrong_value", field="product.template.type", value=product["type"])
    account = product.get("property_account_income_id")
    if account not in (None, False) and book.get("account.account", account) is None:
        raise refuse("record.missing", model="account.account", ids=f"{account},")
    return book.add(MODEL, product)


def line_product(book: OdooBook, value: Any) -> int | None:
    """An invoice line's ``product_id``: None for no product, else an existing id."""
    if value in (None, False):
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise refuse("values.wrong_value", field="account.move.line.product_id", value=value)
    if book.get(MODEL, value) is None:
        raise refuse("record.missing", model=MODEL, ids=f"{value},")
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
