"""Customer details as a Sage Accounting contact holds them (issue #11, the reverse
direction: ``core/customer_details.py``).

Read off the contact the adapter already fetched (``LedgerRecord.raw``: ``GET /contacts``
with ``attributes=all``, the back-sync's ``updated_or_created_since`` read included), at
the paths ``mapping.toml`` writes them to: ``[customer.fields]``
``main_contact_person.email`` and ``main_contact_person.telephone`` by default, and the
billing address from ``[customer.address]``: the lines of ``main_address``
(``address_line_1``, ``address_line_2``, ``city``, ``region``) that hold text, joined by
line breaks as the mapping split them. No request is made.

The billing address in parts: Sage's ``Address`` holds ``address_line_1``,
``address_line_2``, ``city``, ``region``, ``postal_code`` and a ``country`` (Sage
Accounting v3.1 swagger, ``Address``, as adapters/sage/sandbox/schema.py reads it). Sage
keeps the address in these fields, and the forward sync writes one line of the text to each
field in ``[customer.address]`` order (:func:`address_as_written`), so a contact's address
is always in parts; its text is the parts joined (``postal_code`` included, which the
mapping does not fill). The ``country`` Sage answers is a link to a country record, not
text: it is not read, so it is neither compared nor written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import AddressFields, details_at, first_paths, in_parts
from syncledger.adapters.sage.mapping import SageMapping
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

ADDRESS = AddressFields(
    street=("address_line_1", "address_line_2"),
    city="city",
    region="region",
    postal_code="postal_code",
    country="country",
)


def _address(mapping: SageMapping, raw: Mapping[str, Any]) -> AddressParts | None:
    return ADDRESS.read(raw.get(mapping.setting("customer", "address_field")))


def customer_details(mapping: SageMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a Sage contact (None: it has none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    found = details_at(record.raw, places, fields=("email", "phone"))
    parts = _address(mapping, record.raw)
    found["billing_address"] = parts.text() if parts is not None else None
    return found


def address_parts(mapping: SageMapping, record: LedgerRecord) -> AddressParts | None:
    """The contact's billing address in parts (None: it has none)."""
    return in_parts(_address(mapping, record.raw))


def address_as_written(mapping: SageMapping, text: str) -> AddressParts:
    """The parts the mapping writes ``text`` to: one line to each of its address fields."""
    fields = mapping.settings["customer"]["address_lines"]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return ADDRESS.read(dict(zip(fields, lines, strict=False))) or AddressParts()
