"""The QBO sandbox's ``Item``s: the products and services a sales line is booked to.

A company starts with Intuit's sample company's ``Services`` item (Id 1, a Service booked
to the ``Services`` income account, Id 1), the default item of the QBO mapping file.

An item needs a ``Name``, a ``Type`` and an ``IncomeAccountRef`` to the chart; a sales
line's ``ItemRef`` must name an active item of the company, and its ``name`` is set to the
item's, as QBO answers a line (refusals: ``refusals.py``). Item queries leave inactive
items out (``qbo_query``).

Not modelled: item updates and deactivation through the API (tests deactivate one in the
book), inventory, bundles and categories, sub-items
(``ParentRef``), prices, tax codes of items; a line without ``ItemRef`` keeps none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.adapters.qbo.sandbox.errors import refuse
from syncledger.adapters.qbo.sandbox.purchases import CHART
from syncledger.adapters.qbo.sandbox.rules import Lookup, check_lengths, path

ITEM_LIMITS = {"Name": 100, "Description": 4000}
ITEM_TYPES = ("Service", "NonInventory")
SALES_LINE = "SalesItemLineDetail"
#: the items a sandbox company starts with, by Id
DEFAULT_ITEMS = {
    1: {
        "Name": "Services",
        "Type": "Service",
        "IncomeAccountRef": {"value": "1", "name": "Services"},
    },
}


def seed_items(book: SandboxBook) -> None:
    """Give the company its default items, once."""
    with book.transaction():
        for ident, body in DEFAULT_ITEMS.items():
            if book.get("Item", ident) is None:
                book.add("Item", stored_item(dict(body)), ident=ident)


def checked_item(body: dict[str, Any], *, name_taken: Callable[[str], bool]) -> dict[str, Any]:
    """The item as stored; ``name_taken(name)`` tells whether an item has that name."""
    item = dict(body)
    name = item.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise refuse("field.required", param="Name")
    check_lengths(item, ITEM_LIMITS)
    if name_taken(name):
        raise refuse("item.name_taken")
    kind = item.get("Type")
    if kind is None:
        raise refuse("field.required", param="Type")
    if kind not in ITEM_TYPES:
        raise refuse("item.type_unsupported", type=kind)
    return stored_item(item)


def stored_item(item: dict[str, Any]) -> dict[str, Any]:
    account = path(item, "IncomeAccountRef.value")
    if account is None:
        raise refuse("field.required", param="IncomeAccountRef")
    if str(account) not in CHART:
        raise refuse("account.unknown", ident=account)
    return item | {
        "FullyQualifiedName": item["Name"],
        "IncomeAccountRef": {"value": str(account), "name": CHART[str(account)].name},
        "Active": True,
    }


def booked_lines(document: dict[str, Any], items: Lookup) -> dict[str, Any]:
    """The document (invoice, credit memo) with its sales lines' items checked."""
    lines = document.get("Line")
    if not isinstance(lines, list):
        return document
    return document | {"Line": [booked_line(ln, items) for ln in lines]}


def booked_line(line: Any, items: Lookup) -> Any:
    """A sales line with its ``ItemRef`` checked and named as QBO answers it."""
    detail = line.get(SALES_LINE) if isinstance(line, dict) else None
    ref = detail.get("ItemRef") if isinstance(detail, dict) else None
    if not isinstance(line, dict) or line.get("DetailType") != SALES_LINE or ref is None:
        return line
    item = items(str(ref.get("value"))) if isinstance(ref, dict) else None
    if item is None:
        raise refuse("line.item_unknown")
    if not item.get("Active", True):
        raise refuse("line.item_inactive")
    named = {"value": str(item["Id"]), "name": item["Name"]}
    assert isinstance(detail, dict)
    return line | {SALES_LINE: detail | {"ItemRef": named}}
