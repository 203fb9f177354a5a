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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import details_at, first_paths
from syncledger.adapters.netsuite.mapping import NetSuiteMapping
from syncledger.core.customer_details import detail_text
from syncledger.core.ports import LedgerRecord


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


def _address(mapping: NetSuiteMapping, raw: Mapping[str, Any]) -> str | None:
    lines = _get(_get(raw, mapping.address["sublist"]), "items")
    if not isinstance(lines, list) or not lines:
        return None
    billing = [ln for ln in lines if isinstance(ln, Mapping) and _get(ln, "defaultBilling")]
    return detail_text(_at((billing or lines)[0], mapping.address["line_field"]))


def customer_details(mapping: NetSuiteMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a NetSuite customer (None: none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    found = details_at(record.raw, places, read=_at, fields=("email", "phone"))
    found["billing_address"] = _address(mapping, record.raw)
    return found
