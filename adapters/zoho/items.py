"""Zoho Books items (zoho.com/books/api/v3/items): what ``ZohoLedger`` books lines to.

- An item's code (``LedgerItem.code``) is its ``name``: at most 100 characters, unique in
  the organisation (Zoho refuses a second item of that name; which code it refuses with
  is not documented, so a refused create is settled by looking the name up again).
- Lookup: ``GET /items?name=<code>&filter_by=Status.All`` (``name`` filters on the whole
  name; ``Status.All`` because an inactive item holds its name all the same), confirmed on
  the rows: the exact name, else one equal ignoring case. Failing that, a code of digits
  only is read as an ``item_id`` (``GET /items/{id}``). Query values travel as URL
  parameters (httpx encodes them); Zoho has no query language to escape.
- Create: ``POST /items`` with ``name``, ``rate`` 0 (every line carries its own rate),
  ``product_type`` ``service`` and ``account_id`` when the mapping gives one (``[new_items]``,
  else the account of the ``[invoice.lines]`` default item, else Zoho's Sales account).
- Lines: ``line_items[].item_id``. Documents read back name the item by id only (their
  ``name`` is the line's text), so ids map to codes through ``ItemCache``, an unknown id
  read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import LedgerItem

NAME_LIMIT = 100


@dataclass
class ItemCache:
    """Items seen, by the code they were asked for and by id; ids that named no item."""

    by_code: dict[str, LedgerItem] = field(default_factory=dict)
    by_id: dict[str, LedgerItem] = field(default_factory=dict)
    missing_ids: set[str] = field(default_factory=set)

    def remember(self, raw: Mapping[str, Any], asked: str | None = None) -> LedgerItem:
        item = ledger_item(raw)
        self.by_code[item.code] = item
        if asked is not None:
            self.by_code[asked] = item
        self.by_id[item.ledger_id] = item
        return item


def ledger_item(raw: Mapping[str, Any]) -> LedgerItem:
    return LedgerItem(str(raw["item_id"]), str(raw["name"]), str(raw["name"]))


def may_be_name(code: str) -> bool:
    return bool(code.strip()) and len(code) <= NAME_LIMIT


def may_be_id(code: str) -> bool:
    return code.isdigit()


def by_name(code: str) -> dict[str, str]:
    return {"name": code, "filter_by": "Status.All"}


def named(rows: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    """The row whose name is ``code``; else one whose name equals it ignoring case."""
    exact = [r for r in rows if r.get("name") == code]
    folded = [r for r in rows if str(r.get("name", "")).casefold() == code.casefold()]
    return next(iter(exact or folded), None)


def new_item_body(code: str, account_id: str | None) -> dict[str, Any]:
    if not may_be_name(code):
        raise PermanentLedgerError(
            f"item {code[:40]!r}: Zoho Books item names are 1 to {NAME_LIMIT} characters; "
            "map the source's item code to a shorter one under [items.map]",
            code="syncledger.item_code_invalid",
        )
    body: dict[str, Any] = {"name": code, "rate": Decimal(0), "product_type": "service"}
    if account_id:
        body["account_id"] = account_id
    return body


def line_item_ids(raw: Mapping[str, Any]) -> list[str | None]:
    """The ``item_id`` of each line of a document read in full (None: no item)."""
    return [str(line.get("item_id") or "") or None for line in raw.get("line_items", [])]
