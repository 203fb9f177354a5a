"""Items (OpenAPI ``Item``) as the Xero sandbox keeps them, and the document lines that
name one by ``ItemCode``.

An item (what the sandbox refuses: ``refusals.py``, ``item.*``, ``line.item_unknown``):
``Code`` (at most 30 characters, ``Name`` at most 50: the spec's ``maxLength``, refused by
the body check); ``IsSold`` and ``IsPurchased`` default to true; ``SalesDetails`` /
``PurchaseDetails`` hold ``UnitPrice``, ``AccountCode``, ``TaxType``.

A line naming an item takes the item's sales details for what it leaves out
(``Description``, ``UnitAmount``, ``AccountCode``, ``TaxType``); what it sends wins. Stored
lines carry ``ItemCode`` as the item spells it and ``Item`` (``ItemID``, ``Name``, ``Code``:
the spec's ``LineItemItem``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from syncledger.adapters.xero.sandbox.documents import Org
from syncledger.adapters.xero.sandbox.errors import ElementInvalid, refuse_element
from syncledger.adapters.xero.sandbox.refusals import REFUSALS

ItemOf = Callable[[str], dict[str, Any] | None]
_DETAILS = ("SalesDetails", "PurchaseDetails")


def checked_item(
    sent: dict[str, Any],
    current: dict[str, Any] | None,
    *,
    code_taken: Callable[[str], bool],
    org: Org,
) -> dict[str, Any]:
    """The item as stored after this create (``current`` None) or update."""
    item = {**(current or {}), **sent}
    code = str(item.get("Code") or "").strip()
    if not code:
        raise refuse_element("item.code_missing")
    if code_taken(code):
        raise refuse_element("item.code_taken", code=code)
    for details in _DETAILS:
        _check_details(item.get(details), org)
    return item | {
        "ItemID": item.get("ItemID") or str(uuid.uuid4()),
        "Code": code,
        "IsSold": item.get("IsSold", True) is not False,
        "IsPurchased": item.get("IsPurchased", True) is not False,
        "IsTrackedAsInventory": False,
        **{details: item.get(details) or {} for details in _DETAILS},
    }


def _check_details(details: Any, org: Org) -> None:
    if not isinstance(details, dict):
        return
    code = details.get("AccountCode")
    if code is not None and str(code) not in org.accounts:
        raise refuse_element("item.account_invalid", code=code)
    tax_type = details.get("TaxType")
    if tax_type is not None and str(tax_type) not in org.tax_rates:
        raise refuse_element("tax_type.unknown", tax_type=tax_type)


def booked_lines(lines: Any, item_of: ItemOf) -> Any:
    """``LineItems`` with each line naming an item booked to it; every line naming no item
    of the book is refused (one message per line, as Xero lists its validation errors)."""
    if not isinstance(lines, list):
        return lines
    booked = [_booked(line, item_of) for line in lines]
    unknown = [REFUSALS["line.item_unknown"].text(code=code) for ln, code in booked if ln is None]
    if unknown:
        raise ElementInvalid(*unknown)
    return [line for line, _ in booked]


def _booked(line: Any, item_of: ItemOf) -> tuple[Any, str]:
    if not isinstance(line, dict):
        return line, ""
    code = str(line.get("ItemCode") or "").strip()
    if not code:
        return {k: v for k, v in line.items() if k != "Item"}, ""
    item = item_of(code)
    if item is None:
        return None, code
    return _with_item_defaults(line, item), code


def _with_item_defaults(line: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    sales = item.get("SalesDetails") or {}
    defaults: dict[str, Any] = {
        "Description": item.get("Description"),
        "AccountCode": sales.get("AccountCode"),
        "TaxType": sales.get("TaxType"),
    }
    if line.get("LineAmount") is None:
        defaults["UnitAmount"] = sales.get("UnitPrice")
    filled = {k: v for k, v in defaults.items() if v is not None and line.get(k) is None}
    reference = {"ItemID": item["ItemID"], "Name": item.get("Name"), "Code": item["Code"]}
    return line | filled | {"ItemCode": item["Code"], "Item": reference}
