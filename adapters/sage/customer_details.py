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

from syncledger.adapters.customer_details import AddressFields, DetailsReader, first_paths
from syncledger.adapters.sage.mapping import SageMapping
from syncledger.core.customer_details import AddressParts

ADDRESS = AddressFields(
    street=("address_line_1", "address_line_2"),
    city="city",
    region="region",
    postal_code="postal_code",
    country="country",
)


def _address(mapping: SageMapping, raw: Mapping[str, Any]) -> AddressParts | None:
    return ADDRESS.read(raw.get(mapping.setting("customer", "address_field")))


#: e-mail and phone at the contact's fields, the address in its address object's lines
READER: DetailsReader[SageMapping] = DetailsReader(
    places=lambda mapping: first_paths(mapping.fields.get("customer", {})),
    address=ADDRESS,
    fields=("email", "phone"),
    parts_at=_address,
)
customer_details = READER.customer_details
address_parts = READER.address_parts


def address_as_written(mapping: SageMapping, text: str) -> AddressParts:
    """The parts the mapping writes ``text`` to: one line to each of its address fields."""
    fields = mapping.settings["customer"]["address_lines"]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return ADDRESS.read(dict(zip(fields, lines, strict=False))) or AddressParts()
