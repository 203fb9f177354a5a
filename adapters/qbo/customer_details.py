"""Customer details as a QuickBooks Online customer holds them (issue #11, the reverse
direction: ``core/customer_details.py``).

Read off the customer entity the adapter already fetched (``LedgerRecord.raw``: a query
or CDC answer), at the paths the mapping writes them to (``mapping.toml``
``[customer.fields]``: ``PrimaryEmailAddr.Address``, ``PrimaryPhone.FreeFormNumber``,
``BillAddr.Line1`` by default). Where the mapping names several paths for one detail, the
first is the one read back. No request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.qbo.mapping import QboMapping
from syncledger.core.customer_details import CUSTOMER_FIELDS
from syncledger.core.ports import LedgerRecord


def _at(raw: Mapping[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def customer_details(mapping: QboMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a QBO customer (None: it has none)."""
    paths = mapping.fields.get("customer", {})
    found: dict[str, str | None] = {}
    for field in CUSTOMER_FIELDS:
        where = paths.get(field)
        value = _at(record.raw, where[0]) if where else None
        found[field] = str(value).strip() or None if value is not None else None
    return found
