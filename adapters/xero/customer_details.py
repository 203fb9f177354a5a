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

from syncledger.adapters.customer_details import AddressFields, DetailsReader, first_paths
from syncledger.adapters.xero.mapping import XeroMapping

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


#: a contact's details at the first path the mapping names, typed list items included
READER: DetailsReader[XeroMapping] = DetailsReader(
    places=lambda mapping: first_paths(mapping.customer_fields), address=ADDRESS, read=value_at
)
customer_details = READER.customer_details
address_parts = READER.address_parts
address_as_written = READER.address_as_written
