"""Customer details as a QuickBooks Online customer holds them (issue #11, the reverse
direction: ``core/customer_details.py``).

Read off the customer entity the adapter already fetched (``LedgerRecord.raw``: a query
or CDC answer), at the paths the mapping writes them to (``mapping.toml``
``[customer.fields]``: ``PrimaryEmailAddr.Address``, ``PrimaryPhone.FreeFormNumber``,
``BillAddr.Line1`` by default). Where the mapping names several paths for one detail, the
first is the one read back. No request is made.

The billing address in parts: QBO's ``PhysicalAddress`` (``BillAddr``) holds ``Line1`` to
``Line5``, ``City``, ``CountrySubDivisionCode``, ``PostalCode`` and ``Country`` (Intuit's
IPP .NET DevKit sample of a customer's billing address, pastebin 9vmbb3mp; the same
fields in the Haskell ``quickbooks`` package's ``PhysicalAddress``). They are read when
the mapping writes the address to ``Line1`` of an address object; its text is then the
parts joined. The forward sync writes the whole address to ``Line1`` (several lines: one
text, not parts, until a bookkeeper fills the address's own fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import (
    AddressFields,
    DetailsReader,
    first_paths,
    value_at,
)
from syncledger.adapters.qbo.mapping import QboMapping

ADDRESS = AddressFields(
    street=("Line1", "Line2", "Line3", "Line4", "Line5"),
    city="City",
    region="CountrySubDivisionCode",
    postal_code="PostalCode",
    country="Country",
)


def _as_text(raw: Mapping[str, Any], path: str) -> str | None:
    """The value at ``path`` as text whatever it is (None: none held). Unlike the other
    ledgers' reads, an object or a boolean there is taken as its text, as before the
    shared reader (adapters/customer_details.py)."""
    value = value_at(raw, path)
    return None if value is None else str(value)


#: a customer's details at the first path the mapping names (its address at ``BillAddr``)
READER: DetailsReader[QboMapping] = DetailsReader(
    places=lambda mapping: first_paths(mapping.fields.get("customer", {})),
    address=ADDRESS,
    read=_as_text,
    address_read=value_at,
)
customer_details = READER.customer_details
address_parts = READER.address_parts
address_as_written = READER.address_as_written
