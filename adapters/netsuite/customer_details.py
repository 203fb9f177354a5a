"""Customer details as a NetSuite customer holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the customer the adapter already fetched (``LedgerRecord.raw``: ``GET
/record/v1/customer/{id}?expandSubResources=true``, which the back-sync's SuiteQL change
read follows for each changed customer), at the fields ``mapping.toml`` writes them to:
``[customer.fields]`` ``email`` and ``phone``, and the billing address from
``[customer.address]``: ``addressBookAddress.addr1`` of the ``addressBook`` line marked
``defaultBilling`` (else its first line). Oracle's example of an expanded customer
(NetSuite help, "Format of Sublists and Subrecords") spells the sublist and subrecord
``addressbook`` / ``addressbookaddress``, the adapter writes ``addressBook`` /
``addressBookAddress``: their names are matched without case. No request is made.

The billing address in parts: NetSuite's address subrecord holds ``addr1``, ``addr2``,
``addr3``, ``city``, ``state``, ``zip`` and ``country`` (NetSuite's customer address book
as its SOAP schema names them, mirrored by the ``activenetsuite`` gem's
``CustomerAddressbook``; the address subrecord, NetSuite help section 4599373137). They
are read when the mapping writes the address to ``addr1``; its text is then the parts
joined. A ``country`` that is not text (REST answers a reference object for a select
field) is not read: it is neither compared nor written back. The forward sync writes the
whole address to ``addr1`` (several lines: one text, not parts, until a bookkeeper fills
the address's own fields).
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
)
from syncledger.adapters.netsuite.mapping import NetSuiteMapping
from syncledger.core.customer_details import AddressParts, detail_text
from syncledger.core.ports import LedgerRecord

ADDRESS = AddressFields(
    street=("addr1", "addr2", "addr3"),
    city="city",
    region="state",
    postal_code="zip",
    country="country",
)


def _get(node: Any, name: str) -> Any:
    if not isinstance(node, Mapping):
        return None
    if name in node:
        return node[name]
    wanted = name.casefold()
    return next((v for k, v in node.items() if str(k).casefold() == wanted), None)


def _at(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = _get(node, part)
    return node


def _line(mapping: NetSuiteMapping, raw: Mapping[str, Any]) -> Any:
    """The address book line read back: the one marked ``defaultBilling``, else the first."""
    lines = _get(_get(raw, mapping.address["sublist"]), "items")
    if not isinstance(lines, list) or not lines:
        return None
    billing = [ln for ln in lines if isinstance(ln, Mapping) and _get(ln, "defaultBilling")]
    return (billing or lines)[0]


def _address(mapping: NetSuiteMapping, raw: Mapping[str, Any]) -> str | None:
    parts = _parts(mapping, raw)
    if parts is not None:
        return parts.text()
    return detail_text(_at(_line(mapping, raw), mapping.address["line_field"]))


def _parts(mapping: NetSuiteMapping, raw: Mapping[str, Any]) -> AddressParts | None:
    line = _line(mapping, raw)
    if not isinstance(line, Mapping):
        return None
    return address_in(line, mapping.address["line_field"], ADDRESS, read=_at)


def customer_details(mapping: NetSuiteMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a NetSuite customer (None: none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    found = details_at(record.raw, places, read=_at, fields=("email", "phone"))
    found["billing_address"] = _address(mapping, record.raw)
    return found


def address_parts(mapping: NetSuiteMapping, record: LedgerRecord) -> AddressParts | None:
    """The customer's billing address in parts (None: none, or one text)."""
    return in_parts(_parts(mapping, record.raw))


def address_as_written(mapping: NetSuiteMapping, text: str) -> AddressParts:
    """The mapping writes the whole address to one field (``addr1``)."""
    return first_street_line(text)
