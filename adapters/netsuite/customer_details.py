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
    DetailsReader,
    address_in,
    first_paths,
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


def _parts(mapping: NetSuiteMapping, raw: Mapping[str, Any]) -> AddressParts | None:
    line = _line(mapping, raw)
    if not isinstance(line, Mapping):
        return None
    return address_in(line, mapping.address["line_field"], ADDRESS, read=_at)


#: e-mail and phone at the customer's own fields, the address on its address book line
READER: DetailsReader[NetSuiteMapping] = DetailsReader(
    places=lambda mapping: first_paths(mapping.fields.get("customer", {})),
    address=ADDRESS,
    read=_at,
    fields=("email", "phone"),
    parts_at=_parts,
)
address_parts = READER.address_parts
address_as_written = READER.address_as_written


def customer_details(mapping: NetSuiteMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a NetSuite customer (None: none); an
    address line without parts is read as the text of its ``line_field``."""
    found = READER.customer_details(mapping, record)
    if found["billing_address"] is None:
        line = _line(mapping, record.raw)
        found["billing_address"] = detail_text(_at(line, mapping.address["line_field"]))
    return found
