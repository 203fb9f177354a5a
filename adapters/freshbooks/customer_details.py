"""Customer details as a FreshBooks client holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the client the adapter already fetched (``LedgerRecord.raw``: a ``GET
/accounting/account/{id}/users/clients`` answer, the back-sync's ``search[updated_min]``
read included), at the fields ``mapping.toml`` ``[customer.fields]`` writes them to:
``email``, ``bus_phone`` and ``p_street`` by default. No request is made.

The billing address in parts: a client's primary address is ``p_street``, ``p_street2``,
``p_city``, ``p_province``, ``p_code``, ``p_country`` (the client fields FreshBooks' Node
SDK writes, freshbooks/freshbooks-nodejs-sdk @91cfeeed ``transformClientRequest``, as
adapters/freshbooks/sandbox/rules.py lists them). They are read when the mapping writes the
address to ``p_street``; its text is then the parts joined. The forward sync writes the
whole address to ``p_street`` (several lines: one text, not parts, until a bookkeeper fills
the address's own fields).
"""

from __future__ import annotations

from syncledger.adapters.customer_details import (
    AddressFields,
    address_in,
    details_at,
    field_of,
    first_street_line,
    in_parts,
)
from syncledger.adapters.freshbooks.mapping import FreshBooksMapping
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

ADDRESS = AddressFields(
    street=("p_street", "p_street2"),
    city="p_city",
    region="p_province",
    postal_code="p_code",
    country="p_country",
)


def _address(mapping: FreshBooksMapping, record: LedgerRecord) -> AddressParts | None:
    path = mapping.fields.get("customer", {}).get("billing_address", "")
    return address_in(record.raw, path, ADDRESS, read=field_of)


def customer_details(mapping: FreshBooksMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a FreshBooks client (None: none)."""
    found = details_at(record.raw, mapping.fields.get("customer", {}), read=field_of)
    parts = _address(mapping, record)
    if parts is not None:
        found["billing_address"] = parts.text()
    return found


def address_parts(mapping: FreshBooksMapping, record: LedgerRecord) -> AddressParts | None:
    """The client's billing address in parts (None: none, or one text)."""
    return in_parts(_address(mapping, record))


def address_as_written(mapping: FreshBooksMapping, text: str) -> AddressParts:
    """The mapping writes the whole address to one field (``p_street``)."""
    return first_street_line(text)
