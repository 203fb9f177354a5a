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

The billing address in parts: a Xero ``Address`` holds ``AddressLine1`` to
``AddressLine4``, ``City``, ``Region``, ``PostalCode`` and ``Country`` (Xero's accounting
OpenAPI specification, ``Address``: /work/shared/specs/xero/xero_accounting.yaml). They are
read when the mapping writes the address to ``AddressLine1`` of an address; its text is
then the parts joined. The forward sync writes the whole address to ``AddressLine1``
(several lines: one text, not parts, until a bookkeeper fills the address's own fields).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import (
    AddressFields,
    address_in,
    details_at,
    first_paths,
    first_street_line,
    in_parts,
)
from syncledger.adapters.xero.mapping import XeroMapping
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

ADDRESS = AddressFields(
    street=("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"),
    city="City",
    region="Region",
    postal_code="PostalCode",
    country="Country",
)
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
    found = details_at(record.raw, first_paths(mapping.customer_fields), read=value_at)
    parts = _address(mapping, record)
    if parts is not None:
        found["billing_address"] = parts.text()
    return found


def _address(mapping: XeroMapping, record: LedgerRecord) -> AddressParts | None:
    path = first_paths(mapping.customer_fields).get("billing_address", "")
    return address_in(record.raw, path, ADDRESS, read=value_at)


def address_parts(mapping: XeroMapping, record: LedgerRecord) -> AddressParts | None:
    """The contact's billing address in parts (None: none, or one text)."""
    return in_parts(_address(mapping, record))


def address_as_written(mapping: XeroMapping, text: str) -> AddressParts:
    """The mapping writes the whole address to one field (``AddressLine1``)."""
    return first_street_line(text)
