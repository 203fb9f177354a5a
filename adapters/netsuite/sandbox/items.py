"""The NetSuite sandbox's items: what document lines are booked to.

- Item records are kept by REST record type: ``serviceSaleItem`` (Lists > Accounting >
  Items > New > Service, "for sale"; record id ``servicesaleitem`` in Oracle's help, which
  shows a create as ``POST /record/v1/servicesaleitem {"itemId": …}``) and, read-only,
  ``discountItem``. The account is seeded with the items the default mapping file names:
  service item 1 "Services" (booked to income account 54) and discount item 2 "Discount".
- ``itemId`` (Item Name/Number) is unique among items of one type: NetSuite allows one
  name on items of different types (``item.name_taken`` in ``refusals.py``).
- ``incomeAccount``: an income account of the account (stricter than NetSuite, which may
  default it from the accounting preferences); ``subsidiary`` on a OneWorld account: a
  multiselect ``{"items": [{"id"}]}`` (Oracle help, "Format of Multiselects") of known
  subsidiaries. ``taxSchedule``: a tax schedule of the account (``field.missing``).
  Seeded schedule: 1.
- SuiteQL table ``item``: ``id``, ``itemid``, ``displayname``, ``itemtype`` (``Service``,
  ``Discount``), ``incomeaccount``, ``isinactive``, ``externalid``, ``lastmodifieddate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from syncledger.adapters.netsuite.sandbox.errors import invalid_reference, missing, refuse
from syncledger.adapters.netsuite.sandbox.rules import SUBSIDIARIES, Account, ref_id, required_ref

SALE_ITEM = "serviceSaleItem"
DISCOUNT_ITEM = "discountItem"
ITEM_TYPES = {SALE_ITEM: "Service", DISCOUNT_ITEM: "Discount"}  # record → SuiteQL itemtype
INCOME_ACCOUNTS = {"54": "4000 Sales"}
TAX_SCHEDULES = {"1": "S1"}
SEED_ITEMS: dict[str, dict[str, Any]] = {
    SALE_ITEM: {
        "id": "1",
        "itemId": "Services",
        "incomeAccount": {"id": "54"},
        "taxSchedule": {"id": "1"},
        "subsidiary": {"items": [{"id": "1"}]},
        "isInactive": False,
    },
    DISCOUNT_ITEM: {"id": "2", "itemId": "Discount", "isInactive": False},
}

NameTaken = Callable[[str], bool]


def checked_item(
    body: Mapping[str, Any], account: Account, *, name_taken: NameTaken
) -> dict[str, Any]:
    """A service sale item with its name, income account, tax schedule and subsidiaries
    checked."""
    item = dict(body)
    name = item.get("itemId")
    if not isinstance(name, str) or not name.strip():
        raise missing("itemId")
    if name_taken(name):
        raise refuse("item.name_taken", path="itemId")
    required_ref(item, "incomeAccount", INCOME_ACCOUNTS)
    required_ref(item, "taxSchedule", TAX_SCHEDULES)
    _check_subsidiaries(item, account)
    item.setdefault("isInactive", False)
    return item


def _check_subsidiaries(item: dict[str, Any], account: Account) -> None:
    chosen = (item.get("subsidiary") or {}).get("items") or []
    if not chosen:
        if account.one_world:
            raise missing("subsidiary")
        return
    ids = [_id_of(entry) for entry in chosen]
    for index, ident in enumerate(ids):
        if ident not in SUBSIDIARIES:
            raise invalid_reference("subsidiary", ident, f"subsidiary.items[{index}]")
    item["subsidiary"] = {"items": [{"id": ident} for ident in ids]}


def _id_of(entry: Any) -> str | None:
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    return None if ident is None else str(ident)


def suiteql_rows(items_by_type: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "id": int(item["id"]),
            "itemid": item.get("itemId"),
            "displayname": item.get("displayName"),
            "itemtype": ITEM_TYPES[record],
            "incomeaccount": ref_id(item, "incomeAccount"),
            "isinactive": bool(item.get("isInactive")),
            "externalid": item.get("externalId"),
            "lastmodifieddate": _moment(item.get("lastModifiedDate")),
        }
        for record, items in items_by_type.items()
        for item in items
    ]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
