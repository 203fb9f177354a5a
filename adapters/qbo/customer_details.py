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
    address_in,
    details_at,
    first_paths,
    first_street_line,
    in_parts,
    value_at,
)
from syncledger.adapters.qbo.mapping import QboMapping
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

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


def _address(mapping: QboMapping, record: LedgerRecord) -> AddressParts | None:
    path = first_paths(mapping.fields.get("customer", {})).get("billing_address", "")
    return address_in(record.raw, path, ADDRESS)


def customer_details(mapping: QboMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a QBO customer (None: it has none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    found = details_at(record.raw, places, read=_as_text)
    parts = _address(mapping, record)
    if parts is not None:
        found["billing_address"] = parts.text()
    return found


def address_parts(mapping: QboMapping, record: LedgerRecord) -> AddressParts | None:
    """The customer's billing address in parts (None: none, or one text)."""
    return in_parts(_address(mapping, record))


def address_as_written(mapping: QboMapping, text: str) -> AddressParts:
    """The mapping writes the whole address to one field (``BillAddr.Line1``)."""
    return first_street_line(text)
