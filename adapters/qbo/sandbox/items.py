"""The QBO sandbox's ``Item``s: the products and services a sales line is booked to.

A company starts with Intuit's sample company's ``Services`` item (Id 1, a Service booked
to the ``Services`` income account, Id 1), the default item of the QBO mapping file.

Enforced on create (``checked_item``): a ``Name`` (2020), at most 100 characters (2050),
unique among items ignoring case (6240 "Duplicate Name Exists Error"); a ``Type`` of
Service or NonInventory (2020; the other types are not modelled, 6000); an
``IncomeAccountRef`` (2020) to an account of the chart (2500). On a sales line
(``booked_line``): an ``ItemRef`` must name an item of the company (2500 "Invalid
Reference Id", element ``Line.SalesItemLineDetail.ItemRef``, as QBO answers; an inactive
item is 2500 too, with QBO's "made inactive" detail), and its ``name`` is set to the
item's, as QBO answers a line. Item queries leave inactive items out (``qbo_query``).

Not modelled: item updates and deactivation through the API (tests deactivate one in the
book), inventory, bundles and categories, sub-items
(``ParentRef``), prices, tax codes of items; a line without ``ItemRef`` keeps none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.adapters.qbo.sandbox.errors import (
    business,
    duplicate_item_name,
    inactive_reference,
    invalid_item_reference,
    invalid_reference,
    required,
)
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
        raise required("Name")
    check_lengths(item, ITEM_LIMITS)
    if name_taken(name):
        raise duplicate_item_name()
    kind = item.get("Type")
    if kind is None:
        raise required("Type")
    if kind not in ITEM_TYPES:
        raise business(f"items of Type {kind} are not modelled by the sandbox")
    return stored_item(item)


def stored_item(item: dict[str, Any]) -> dict[str, Any]:
    account = path(item, "IncomeAccountRef.value")
    if account is None:
        raise required("IncomeAccountRef")
    if str(account) not in CHART:
        raise invalid_reference("Account", account)
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
        raise invalid_item_reference()
    if not item.get("Active", True):
        raise inactive_reference()
    named = {"value": str(item["Id"]), "name": item["Name"]}
    assert isinstance(detail, dict)
    return line | {SALES_LINE: detail | {"ItemRef": named}}
