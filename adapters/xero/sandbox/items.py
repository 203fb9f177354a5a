"""Items (OpenAPI ``Item``) as the Xero sandbox keeps them, and the document lines that
name one by ``ItemCode``.

An item: ``Code`` required (at most 30 characters, ``Name`` at most 50: the spec's
``maxLength``, refused by the body check) and unique ignoring case; ``IsSold`` and
``IsPurchased`` default to true; ``SalesDetails`` / ``PurchaseDetails`` (``UnitPrice``,
``AccountCode``, ``TaxType``) name accounts of the chart and tax types that exist. Messages
quoted from Xero:

- "Price List Item with Code 'X' already exists" (a second item with the code: the spec's
  createItems example, and calcinai/xero-php#528);
- "Price List Item Code must be supplied" (calcinai/xero-php#528);
- "Account code 'X' does not exist or cannot be applied to Items." (FieldInsight's Xero
  troubleshooting page, help.fieldinsight.com);
- "Item code 'X' is not valid": an invoice or credit-note line naming no item, a
  ValidationException (ErrorNumber 10) as integrations quote it (Fooman's "Item Code 'X' is
  not valid" article, magento2-support.fooman.co.nz; Digital Zest's Xero errors page:
  "ErrorNumber: 10 ErrorType: ValidationException Message: A validation exception occurred
  Detail: Item code 'XXXX' is not valid").

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
from syncledger.adapters.xero.sandbox.errors import ElementInvalid

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
        raise ElementInvalid("Price List Item Code must be supplied")
    if code_taken(code):
        raise ElementInvalid(f"Price List Item with Code '{code}' already exists")
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
        raise ElementInvalid(f"Account code '{code}' does not exist or cannot be applied to Items.")
    tax_type = details.get("TaxType")
    if tax_type is not None and str(tax_type) not in org.tax_rates:
        raise ElementInvalid(
            f"The TaxType code '{tax_type}' does not exist or cannot be used with this type "
            "of transaction."
        )


def booked_lines(lines: Any, item_of: ItemOf) -> Any:
    """``LineItems`` with each line naming an item booked to it; every line naming no item
    of the book is refused (one message per line, as Xero lists its validation errors)."""
    if not isinstance(lines, list):
        return lines
    booked = [_booked(line, item_of) for line in lines]
    unknown = [f"Item code '{code}' is not valid" for line, code in booked if line is None]
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
