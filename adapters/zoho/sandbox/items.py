"""Items in the Zoho Books sandbox: the products and services invoice and credit-note
lines are booked to (zoho.com/books/api/v3/items).

- ``POST /items``: ``name`` (≤ 100 characters) and ``rate`` required; ``description``
  (≤ 2000), ``sku``, ``product_type`` (``goods``, ``service``, ``digital_service``),
  ``item_type`` (``sales``, the default, ``purchases``, ``sales_and_purchases``,
  ``inventory``: only ``sales`` is modelled) and ``account_id`` (an income account of
  the chart, ``INCOME_ACCOUNTS``; by default Sales). Names and ``sku`` are unique
  (names ignoring case).
- ``GET /items/{item_id}`` and ``GET /items`` (``name`` exact ignoring case, with
  ``name_startswith`` / ``name_contains``; ``description``; ``search_text`` in name and
  description; ``filter_by`` ``Status.All|Active|Inactive``; ``sort_column`` ``name``,
  ``rate``, ``tax_name``; ``page``/``per_page``) through ``ZohoOrganization.read`` and
  ``listed``.
- A document line's ``item_id`` must name an item (``rules.py``).

Refusals, with their codes and how sure they are: ``refusals.py``. Not modelled: item
updates, deletes, inactivation, taxes and inventory tracking on items.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.zoho.sandbox.book import ID_BASE
from syncledger.adapters.zoho.sandbox.errors import refuse
from syncledger.adapters.zoho.sandbox.org import Answer, ZohoOrganization, answer
from syncledger.adapters.zoho.sandbox.rules import amount, check_lengths

ITEM_LIMITS = {"name": 100, "description": 2000, "sku": 100}
PRODUCT_TYPES = frozenset({"goods", "service", "digital_service"})
ACCOUNT_IDS = ID_BASE + 985_000  # apart from the bank accounts (refunds.py)
#: the chart's income accounts an item may be booked to; the first is Zoho's default
INCOME_ACCOUNTS: dict[str, str] = {
    str(ACCOUNT_IDS + 1): "Sales",
    str(ACCOUNT_IDS + 2): "General Income",
}
DEFAULT_ACCOUNT = str(ACCOUNT_IDS + 1)


def create_item(org: ZohoOrganization, body: Mapping[str, Any]) -> Answer:
    """``POST /items``."""
    stored = org.book.add("item", checked_item(org, body))
    return answer("The item has been added.", 201, ("item", stored["item_id"]), item=stored)


def seed_item(org: ZohoOrganization, name: str, **fields: Any) -> dict[str, Any]:
    """An item someone entered by hand in Zoho Books (a service at rate 0 unless told)."""
    body = {"name": name, "rate": Decimal(0), "product_type": "service"} | fields
    item: dict[str, Any] = create_item(org, body).body["item"]
    return item


def checked_item(org: ZohoOrganization, body: Mapping[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise refuse("field.required", field="name")
    check_lengths(body, ITEM_LIMITS)
    _check_unique(org, name, str(body.get("sku") or ""))
    account = str(body.get("account_id") or DEFAULT_ACCOUNT)
    if account not in INCOME_ACCOUNTS:
        raise refuse("item.account_unknown")
    return dict(body) | {
        "rate": amount(body.get("rate"), "rate"),
        "status": "active",
        "product_type": _product_type(body.get("product_type")),
        "item_type": _item_type(body.get("item_type")),
        "account_id": account,
        "account_name": INCOME_ACCOUNTS[account],
    }


def _check_unique(org: ZohoOrganization, name: str, sku: str) -> None:
    if org.book.numbered("item", name):
        raise refuse("item.name_taken", name=name)
    if sku and any(str(i.get("sku") or "") == sku for i in org.book.records("item")):
        raise refuse("item.sku_taken", sku=sku)


def _product_type(value: Any) -> str:
    if value in (None, ""):
        return "goods"
    if value not in PRODUCT_TYPES:
        raise refuse("field.invalid", field="product_type")
    return str(value)


def _item_type(value: Any) -> str:
    if value in (None, "", "sales"):
        return "sales"
    raise refuse("item.sales_only")
