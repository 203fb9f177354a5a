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

from syncledger.adapters.customer_details import details_at, first_paths, value_at
from syncledger.adapters.qbo.mapping import QboMapping
from syncledger.core.ports import LedgerRecord


def _as_text(raw: Mapping[str, Any], path: str) -> str | None:
    """The value at ``path`` as text whatever it is (None: none held). Unlike the other
    ledgers' reads, an object or a boolean there is taken as its text, as before the
    shared reader (adapters/customer_details.py)."""
    value = value_at(raw, path)
    return None if value is None else str(value)


def customer_details(mapping: QboMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a QBO customer (None: it has none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    return details_at(record.raw, places, read=_as_text)
