"""Customer details as a Xero contact holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the contact the adapter already fetched (``LedgerRecord.raw``: a ``GET
/Contacts`` answer, the back-sync's ``If-Modified-Since`` read included), at the paths
``mapping.toml`` ``[customer.fields]`` writes them to: ``EmailAddress``,
``Phones[PhoneType=DEFAULT].PhoneNumber`` and
``Addresses[AddressType=POBOX].AddressLine1`` by default. A path part ``Name[Key=Value]``
is the item of the list ``Name`` whose ``Key`` is ``Value``, as the mapping writes it.
Where the mapping names several paths for one detail, the first is read back. No request
is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import details_at, first_paths
from syncledger.adapters.xero.mapping import XeroMapping
from syncledger.core.ports import LedgerRecord

_TYPED = re.compile(r"^(\w+)\[(\w+)=([^\]]+)\]$")


def _step(node: Any, part: str) -> Any:
    if not isinstance(node, Mapping):
        return None
    typed = _TYPED.match(part)
    if typed is None:
        return node.get(part)
    name, key, wanted = typed.groups()
    items = node.get(name)
    if not isinstance(items, list):
        return None
    return next((i for i in items if isinstance(i, Mapping) and i.get(key) == wanted), None)


def value_at(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a mapping path of a Xero record (None: it holds none)."""
    node: Any = raw
    for part in path.split("."):
        node = _step(node, part)
    return node


def customer_details(mapping: XeroMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a Xero contact (None: it has none)."""
    return details_at(record.raw, first_paths(mapping.customer_fields), read=value_at)
